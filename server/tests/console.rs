//! Console sign-in through real HTTP: signing out ends a sign-in at every replica, whoever holds
//! a copy of its cookie; cookies carry `Secure` only when a trusted proxy says the browser came
//! over HTTPS.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, StatusCode};

use crate::both;
use crate::support::*;

/// A browser-like client that shows redirects instead of following them, connecting from `from`.
fn client_from(from: IpAddr) -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).local_address(from).build().unwrap()
}

fn set_cookie(r: &reqwest::Response) -> String {
    r.headers().get(SET_COOKIE).expect("a cookie is set").to_str().unwrap().to_string()
}

/// Signs in at `admin` and returns the response's `Set-Cookie`.
async fn sign_in(http: &Client, admin: &str, headers: &[(&str, &str)]) -> String {
    let mut req = http.post(format!("{admin}/sign-in")).form(&[("token", ADMIN_TOKEN)]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed in");
    set_cookie(&r)
}

/// The `name=value` part of a `Set-Cookie`, to send back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// The status of the overview page with `cookie` (303 means: sent to sign in).
async fn overview_status(http: &Client, admin: &str, cookie: &str) -> StatusCode {
    http.get(format!("{admin}/")).header(COOKIE, cookie).send().await.unwrap().status()
}

/// The form token on a signed-in page.
async fn form_token(http: &Client, admin: &str, cookie: &str) -> String {
    let page = http.get(format!("{admin}/")).header(COOKIE, cookie).send().await.unwrap().text().await.unwrap();
    let after = page.split(r#"name="csrf" value=""#).nth(1).expect("a form token on the page");
    after.split('"').next().unwrap().to_string()
}

async fn sign_out(http: &Client, admin: &str, cookie: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let csrf = form_token(http, admin, cookie).await;
    let mut req = http.post(format!("{admin}/sign-out")).header(COOKIE, cookie).form(&[("csrf", csrf)]);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

both!(signing_out_ends_the_sign_in_at_every_replica_within_two_seconds, |backend| async move {
    let a = TestGateway::start(backend).await;
    let b = TestGateway::start_with(backend, GatewayOptions { db_url: Some(a.db.url.clone()), ..Default::default() }).await;
    let http = client_from(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let copied = cookie_pair(&sign_in(&http, &a.admin, &[]).await);
    let kept = cookie_pair(&sign_in(&http, &a.admin, &[]).await);
    assert_eq!(overview_status(&http, &b.admin, &copied).await, StatusCode::OK, "a cookie from A works at B");
    let csrf_at_b = form_token(&http, &b.admin, &copied).await;

    let r = sign_out(&http, &a.admin, &copied, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/sign-in");
    assert!(set_cookie(&r).contains("Max-Age=0"), "the browser's cookie is cleared");
    assert_eq!(overview_status(&http, &a.admin, &copied).await, StatusCode::SEE_OTHER, "refused at once where it signed out");

    let started = Instant::now();
    while overview_status(&http, &b.admin, &copied).await != StatusCode::SEE_OTHER {
        assert!(started.elapsed() < Duration::from_secs(2), "the signed-out cookie still works at B after 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = http.get(format!("{}/agents", b.admin)).header(COOKIE, &copied).send().await.unwrap();
    assert_eq!(r.headers()[LOCATION], "/sign-in", "pages send the copy to sign in");
    let r = http.post(format!("{}/settings/time-zone", b.admin)).header(COOKIE, &copied).form(&[("csrf", csrf_at_b.as_str()), ("offset", "60")]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "forms refuse it, even with its own form token");

    // Another sign-in is untouched, at both.
    assert_eq!(overview_status(&http, &b.admin, &kept).await, StatusCode::OK);
    assert_eq!(overview_status(&http, &a.admin, &kept).await, StatusCode::OK);
    b.stop_keep_db().await;
    a.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookies_are_secure_only_when_a_trusted_proxy_says_https() {
    let gw = TestGateway::start_with(Backend::Sqlite, GatewayOptions { server_toml: r#"trusted_proxies = ["127.0.0.1"]"#.into(), ..Default::default() }).await;
    // Loopback is 127.0.0.0/8: a client bound to 127.0.0.2 is a peer that is not the proxy.
    let proxy = client_from(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let stranger = client_from(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)));
    let https = [("x-forwarded-proto", "https")];
    let forwarded = [("forwarded", "for=198.51.100.7;proto=https")];
    let secure = |c: &str| c.split(';').any(|a| a.trim().eq_ignore_ascii_case("secure"));

    let c = sign_in(&proxy, &gw.admin, &https).await;
    assert!(secure(&c), "a trusted proxy's X-Forwarded-Proto: {c}");
    assert!(secure(&sign_in(&proxy, &gw.admin, &forwarded).await), "a trusted proxy's Forwarded");
    assert!(!secure(&sign_in(&proxy, &gw.admin, &[]).await), "no word of HTTPS");
    assert!(!secure(&sign_in(&proxy, &gw.admin, &[("x-forwarded-proto", "http")]).await));
    let plain = sign_in(&stranger, &gw.admin, &https).await;
    assert!(!secure(&plain), "an untrusted peer's header is not believed: {plain}");
    assert!(!secure(&sign_in(&stranger, &gw.admin, &forwarded).await));

    // Sign-out's clearing cookie follows the same rule.
    let cleared = set_cookie(&sign_out(&proxy, &gw.admin, &cookie_pair(&c), &https).await);
    assert!(cleared.contains("Max-Age=0") && secure(&cleared), "{cleared}");
    let cleared = set_cookie(&sign_out(&stranger, &gw.admin, &cookie_pair(&plain), &https).await);
    assert!(cleared.contains("Max-Age=0") && !secure(&cleared), "{cleared}");
    gw.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_out_the_database_cannot_record_is_refused_and_the_sign_in_stays() {
    let proxy = TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let gw = TestGateway::start_with(Backend::Postgres, GatewayOptions { db_via: Some(proxy.addr), ..Default::default() }).await;
    let http = client_from(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let cookie = cookie_pair(&sign_in(&http, &gw.admin, &[]).await);
    let csrf = form_token(&http, &gw.admin, &cookie).await;

    proxy.cut().await;
    let r = http.post(format!("{}/sign-out", gw.admin)).header(COOKIE, &cookie).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "the operator is told it did not happen");
    assert!(r.headers().get(SET_COOKIE).is_none(), "and keeps the cookie, to try again");
    proxy.restore();

    eventually(Duration::from_secs(10), "the database to be back", || {
        let (http, admin, cookie) = (http.clone(), gw.admin.clone(), cookie.clone());
        async move { overview_status(&http, &admin, &cookie).await == StatusCode::OK }
    })
    .await;
    let r = sign_out(&http, &gw.admin, &cookie, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "trying again signs out");
    assert_eq!(overview_status(&http, &gw.admin, &cookie).await, StatusCode::SEE_OTHER);
    gw.stop().await;
}

both!(stored_sign_outs_are_kept_only_until_their_cookies_expire, |backend| async move {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, dir.path()).await;
    let store = db.store().await;
    let before = store.generation().await.unwrap();
    store.record_console_signout("old", 1_000, 500).await.unwrap();
    store.record_console_signout("old", 1_000, 500).await.unwrap();
    assert_eq!(store.console_signouts(500).await.unwrap(), vec![("old".to_string(), 1_000)], "once, however often");
    assert!(store.generation().await.unwrap() > before, "every replica is told");
    assert_eq!(store.console_signouts(1_000).await.unwrap(), vec![], "an expired sign-out is not loaded");
    // The next sign-out deletes the expired rows: the table stays as small as what is loaded.
    store.record_console_signout("new", 5_000, 2_000).await.unwrap();
    assert_eq!(store.console_signouts(0).await.unwrap(), vec![("new".to_string(), 5_000)]);
    store.close().await;
    db.drop_db().await;
});

/// Two agents that happen to name their sessions alike have a timeline each (and a trace each).
#[tokio::test]
async fn two_agents_sharing_a_session_name_never_share_a_timeline() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    let (other_key, _) = gw.new_key("other-agent", None, None).await;
    let mut ids = Vec::new();
    for key in [&gw.key, &other_key] {
        let resp = gw
            .http
            .post(gw.url("/v1/chat/completions"))
            .bearer_auth(key)
            .header("x-weir-session", "ticket-1000")
            .json(&serde_json::json!({"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        ids.push(request_id(&resp));
    }
    let mine = wait_for_event(&gw.store, &ids[0], Duration::from_secs(5)).await;
    let theirs = wait_for_event(&gw.store, &ids[1], Duration::from_secs(5)).await;
    assert_ne!(mine.trace_id, theirs.trace_id, "one trace per agent session");
    let http = client_from(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let cookie = cookie_pair(&sign_in(&http, &gw.admin, &[]).await);
    let agent = mine.agent_name.clone().expect("an agent");
    let event_page = http.get(format!("{}/events/{}", gw.admin, mine.id)).header(COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    let link = format!("/sessions/ticket-1000?agent={agent}");
    assert!(event_page.contains(&format!("href=\"{link}\"")), "the event links to its agent's session: {event_page}");
    let page = http.get(format!("{}{link}", gw.admin)).header(COOKIE, &cookie).send().await.unwrap().text().await.unwrap();
    let timeline = page.split("Timeline").nth(1).expect("a timeline");
    assert!(timeline.contains(&mine.id), "its own call is on it");
    assert!(!timeline.contains(&theirs.id) && !page.contains("other-agent"), "another agent's call is not");
    gw.stop().await;
}

/// A session longer than its page holds shows its latest calls, says so, and still answers.
#[tokio::test]
async fn a_session_past_the_page_bound_shows_its_latest_calls_and_says_so() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    let start = weir_server::store::now_ms() - 600_000;
    let event = |i: i64| weir_server::audit::AuditEvent {
        id: format!("ev-{i:04}"),
        ts: start + i,
        request_id: format!("rq-{i}"),
        kind: "llm".into(),
        operation: "chat".into(),
        agent_name: Some("bot".into()),
        session_id: Some("long-one".into()),
        status_code: 200,
        outcome: "ok".into(),
        latency_ms: 1.0,
        ..Default::default()
    };
    let http = client_from(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let cookie = cookie_pair(&sign_in(&http, &gw.admin, &[]).await);
    let page = |n: i64| {
        let (http, cookie, url) = (http.clone(), cookie.clone(), format!("{}/sessions/long-one?agent=bot", gw.admin));
        let store = gw.store.clone();
        async move {
            let events: Vec<_> = (0..n).map(event).collect();
            store.insert_audit_events(&events).await.unwrap();
            http.get(url).header(COOKIE, &cookie).send().await.unwrap().text().await.unwrap()
        }
    };
    // At the bound: every call, no note.
    let at = page(500).await;
    let timeline = |page: &str| page.split("<h2>Timeline</h2>").nth(1).expect("a timeline").to_string();
    assert_eq!(timeline(&at).matches("href=\"/events/ev-").count(), 500, "each call on the timeline");
    assert!(!at.contains("A long session"));
    // One past it: the latest 500, the first call left out, and a note that says so.
    let past = page(501).await;
    assert!(past.contains("A long session: its latest calls are shown."));
    let rows = timeline(&past);
    assert_eq!(rows.matches("href=\"/events/ev-").count(), 500);
    assert!(rows.contains("/events/ev-0500\"") && !rows.contains("/events/ev-0000\""), "the latest calls");
    gw.stop().await;
}
