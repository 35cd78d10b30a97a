//! Calls held for approval while the database goes away: a held call keeps waiting through the
//! outage and goes through once a decision can be read; a call that needs approval while the
//! database is away is refused at once with a JSON-RPC error saying so.

use std::time::Duration;

use serde_json::json;
use weir_server::store::ApprovalStatus;

use crate::support::*;

const RULES: &str = "approval_timeout_secs = 60\n\n[[mcp.rules]]\ntools = [\"fix__deploy\"]\nagents = [\"bot\"]\nrequire_approval = true\n";

fn deploy(gw: &TestGateway, session: &str, id: i64, env: &str) -> reqwest::RequestBuilder {
    let call = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "fix__deploy", "arguments": {"env": env}}});
    mcp_request(gw, session, &call)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_call_survives_a_database_outage_and_one_asked_during_it_is_refused() {
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let gw = TestGateway::start_with(Backend::Postgres, GatewayOptions { db_via: Some(proxy.addr), extra_toml: mcp_fixture_toml(RULES), ..Default::default() }).await;
    let direct = gw.db.store().await;
    let session = open_mcp_session(&gw).await;

    // The whole answer: the event stream opens at once and ends with the response.
    let request = deploy(&gw, &session, 7, "held-through-outage");
    let held = tokio::spawn(async move { request.send().await?.text().await });
    eventually(Duration::from_secs(10), "the call to be held", || {
        let direct = direct.clone();
        async move { !direct.list_approvals(Some(ApprovalStatus::Pending), None, 10).await.unwrap().is_empty() }
    })
    .await;
    let pending = direct.list_approvals(Some(ApprovalStatus::Pending), None, 10).await.unwrap().remove(0);
    assert_eq!(pending.tool, "fix__deploy");

    // Weir loses its database; the decision is taken elsewhere (another replica's admin API).
    proxy.cut().await;
    assert!(direct.settle_approval(&pending.id, ApprovalStatus::Approved, Some("ops"), None).await.unwrap());
    // Meanwhile a new call that needs approval cannot be recorded: refused, and said so.
    let refused = deploy(&gw, &session, 8, "during-outage").send().await.unwrap();
    let refused = mcp_answer(&refused.text().await.unwrap(), 8);
    assert_eq!(refused["error"]["code"], json!(-32603), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("approvals cannot be recorded"), "{refused}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!held.is_finished(), "the held call waits through the outage");

    proxy.restore();
    let body = tokio::time::timeout(Duration::from_secs(20), held).await.expect("the held call ends once the database is back").unwrap().unwrap();
    let done = mcp_answer(&body, 7);
    assert_eq!(done["result"]["content"][0]["text"], json!("deployed to held-through-outage"), "{done}");
    gw.stop().await;
}
