//! The rollups the audit writers keep beside the events (per hour, per minute, per agent
//! session), on both engines and through both SQLite writers, and the console's reads of them.

use std::time::Duration;

use serde_json::json;
use sqlx::Row;
use weir_server::audit::AuditEvent;
use weir_server::store::{latency_bucket, now_ms, SessionFilter, SqliteAuditWriter, Step, Store};

use crate::both;
use crate::support::*;

/// An event of `kind` at `ts` with what the rollups count; the rest defaulted.
fn ev(id: &str, ts: i64, kind: &str, agent: Option<&str>, session: Option<&str>) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        ts,
        request_id: format!("r-{id}"),
        kind: kind.into(),
        operation: "op".into(),
        agent_id: agent.map(|a| format!("id-{a}")),
        agent_name: agent.map(Into::into),
        session_id: session.map(Into::into),
        status_code: 200,
        outcome: "ok".into(),
        latency_ms: 12.5,
        ..Default::default()
    }
}

fn refused(mut e: AuditEvent) -> AuditEvent {
    e.status_code = 429;
    e.outcome = "error".into();
    e.error_type = Some("limit_exceeded".into());
    e
}

fn failed(mut e: AuditEvent) -> AuditEvent {
    e.status_code = 502;
    e.outcome = "error".into();
    e.error_type = Some("provider_unreachable".into());
    e
}

fn used(mut e: AuditEvent, input: i64, output: i64, cost: f64) -> AuditEvent {
    e.input_tokens = Some(input);
    e.output_tokens = Some(output);
    e.cost_usd = Some(cost);
    e
}

/// Writes a batch as Weir does on this engine: SQLite files through the rusqlite writer, and
/// (`sqlx = true`) through the sqlx statement every engine can run.
async fn write(db: &TestDb, store: &Store, events: &[AuditEvent], sqlx: bool) {
    if db.backend == Backend::Sqlite && !sqlx {
        SqliteAuditWriter::for_url(&db.url).expect("a SQLite file").insert(events).expect("insert");
    } else {
        store.insert_audit_events(events).await.expect("insert");
    }
}

async fn raw(db: &TestDb) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(&db.url).await.expect("connect")
}

/// A session row as compared: agent, session, first, last and end ts, LLM, MCP and approval
/// calls, errors, input and output tokens.
type SessionRow = (String, String, i64, i64, i64, i64, i64, i64, i64, i64, i64);

/// `(start, kind, agent, requests, errors, refused, input, output)` and cost, from a query.
type SumRow = ((i64, String, String, i64, i64, i64, i64, i64), f64);

async fn sums(pool: &sqlx::AnyPool, sql: &str) -> Vec<SumRow> {
    sqlx::query(sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7)),
                r.get::<f64, _>(8),
            )
        })
        .collect()
}

fn assert_sums_eq(got: &[SumRow], want: &[SumRow], what: &str) {
    assert_eq!(got.iter().map(|r| &r.0).collect::<Vec<_>>(), want.iter().map(|r| &r.0).collect::<Vec<_>>(), "{what}");
    for (g, w) in got.iter().zip(want) {
        assert!((g.1 - w.1).abs() < 1e-9, "{what}: cost {} vs {}", g.1, w.1);
    }
}

/// The events as a GROUP BY sees them, per period of `period` ms.
fn group_by_sql(period: i64) -> String {
    format!(
        "SELECT (ts / {period}) * {period}, kind, COALESCE(agent_name, ''), CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN outcome = 'ok' THEN 0 ELSE 1 END) AS BIGINT), \
         CAST(SUM(CASE WHEN error_type = 'limit_exceeded' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT), \
         CAST(COALESCE(SUM(cost_usd), 0) AS DOUBLE PRECISION) FROM audit_events GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
}

both!(rollups_match_the_events_after_a_batch_with_a_replayed_duplicate, |backend| async move {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, dir.path()).await;
    let store = db.store().await;
    // Two minutes of the current hour and one of the hour before, two agents and none.
    let hour = Step::Hour.floor(now_ms());
    let (t1, t2, t0) = (hour + 5_000, hour + 65_000, hour - 30_000);
    let first = vec![
        used(ev("a", t1, "llm", Some("bot"), Some("s1")), 10, 20, 0.25),
        refused(ev("b", t1 + 1, "llm", Some("bot"), Some("s1"))),
        ev("c", t1 + 2, "mcp", Some("bot"), Some("s1")),
        failed(ev("d", t2, "llm", Some("other"), None)),
        used(ev("e", t0, "llm", None, Some("s9")), 3, 4, 0.5),
    ];
    write(&db, &store, &first, false).await;
    // The next batch holds an event already written (a replayed spool) and new ones; on SQLite
    // it goes through the other writer, which must keep the rollups the same way.
    let second = vec![
        first[0].clone(),
        refused(ev("f", t2 + 1, "mcp", Some("bot"), Some("s1"))),
        used(ev("g", t2 + 2, "llm", Some("bot"), Some("s2")), 1, 1, 0.125),
        ev("h", t0 + 1, "approval", Some("bot"), Some("s1")),
    ];
    write(&db, &store, &second, true).await;
    write(&db, &store, &first, false).await;

    let pool = raw(&db).await;
    let cols = "requests, errors, refused, input_tokens, output_tokens, cost_usd";
    let minutely = sums(&pool, &format!("SELECT minute, kind, agent_name, {cols} FROM audit_minutely ORDER BY 1, 2, 3")).await;
    assert_sums_eq(&minutely, &sums(&pool, &group_by_sql(60_000)).await, "audit_minutely");
    let hourly = sums(&pool, &format!("SELECT hour, kind, agent_name, {cols} FROM audit_hourly ORDER BY 1, 2, 3")).await;
    assert_sums_eq(&hourly, &sums(&pool, &group_by_sql(3_600_000)).await, "audit_hourly");
    assert_eq!(minutely.iter().map(|r| r.0 .3).sum::<i64>(), 8, "each of the 8 events counted once");

    // Latency histograms: one count per event, in both.
    for table in ["audit_latency_minutely", "audit_latency_hourly"] {
        let n: i64 = sqlx::query(&format!("SELECT CAST(SUM(count) AS BIGINT) FROM {table}")).fetch_one(&pool).await.unwrap().get(0);
        assert_eq!(n, 8, "{table}");
    }

    // Sessions: one row per (agent, session), as a GROUP BY over the events with a session.
    let want: Vec<SessionRow> = sqlx::query(
        "SELECT COALESCE(agent_name, ''), session_id, MIN(ts), MAX(ts), CAST(MAX(ts + latency_ms) AS DOUBLE PRECISION), \
         CAST(SUM(CASE WHEN kind = 'llm' THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN kind = 'mcp' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(SUM(CASE WHEN kind = 'approval' THEN 1 ELSE 0 END) AS BIGINT), CAST(SUM(CASE WHEN outcome = 'ok' THEN 0 ELSE 1 END) AS BIGINT), \
         CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT) \
         FROM audit_events WHERE session_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get::<f64, _>(4).floor() as i64, r.get(5), r.get(6), r.get(7), r.get(8), r.get(9), r.get(10)))
    .collect();
    let mut got = Vec::new();
    for (agent, session, ..) in &want {
        let s = store.session_summary(agent, session).await.unwrap().expect("a session row");
        got.push((s.agent, s.session_id, s.first_ts, s.last_ts, s.end_ts, s.llm_calls, s.mcp_calls, s.approvals, s.errors, s.input_tokens, s.output_tokens));
    }
    assert_eq!(got, want);
    assert_eq!(want.len(), 3, "bot/s1, bot/s2 and the agentless s9; calls without a session have no row");
    let n: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_sessions").fetch_one(&pool).await.unwrap().get(0);
    assert_eq!(n, 3);

    // The console's reads of them.
    let series = store.series_since(t0, Step::Minute, None).await.unwrap();
    let bot_llm_t1 = series.iter().find(|r| r.start_ms == Step::Minute.floor(t1) && r.kind == "llm").expect("a row");
    assert_eq!((bot_llm_t1.sums.requests, bot_llm_t1.sums.errors, bot_llm_t1.sums.refused, bot_llm_t1.sums.input_tokens), (2, 1, 1, 10));
    assert!(series.windows(2).all(|w| (w[0].start_ms, &w[0].kind) < (w[1].start_ms, &w[1].kind)), "ordered by start and kind, summed over agents");
    let hours = store.series_since(t1, Step::Hour, Some("bot")).await.unwrap();
    let llm: Vec<_> = hours.iter().filter(|r| r.kind == "llm").collect();
    assert_eq!(llm.len(), 1);
    assert_eq!((llm[0].start_ms, llm[0].sums.requests, llm[0].sums.refused, llm[0].sums.errors), (hour, 3, 1, 1), "bot's LLM calls of this hour only");
    assert!((llm[0].sums.cost_usd - 0.375).abs() < 1e-12);
    assert_eq!(store.refused_since("bot", t1).await.unwrap(), 2, "since the hour holding t1");
    assert_eq!(store.refused_since("bot", t0).await.unwrap(), 2);
    assert_eq!(store.refused_since("other", t0).await.unwrap(), 0);
    db.drop_db().await;
});

both!(time_waiting_for_approval_is_left_out_of_latency, |backend| async move {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, dir.path()).await;
    let store = db.store().await;
    let ts = now_ms();
    let mut held = ev("held", ts, "mcp", Some("bot"), Some("s1"));
    held.latency_ms = 5_000.0;
    held.approval_wait_ms = Some(4_990.0);
    held.mcp_session_id = Some("mcp-1".into());
    // A wait measured longer than the call: never a negative latency.
    let mut odd = ev("odd", ts, "mcp", Some("bot"), Some("s1"));
    odd.latency_ms = 3.0;
    odd.approval_wait_ms = Some(4.0);
    write(&db, &store, &[held, odd], false).await;
    let want = vec![latency_bucket(0.0), latency_bucket(10.0)];
    assert_ne!(latency_bucket(10.0), latency_bucket(5_000.0));
    for step in [Step::Minute, Step::Hour] {
        let got: Vec<i64> = store.latency_series_since(ts, step).await.unwrap().into_iter().map(|(start, kind, bucket, count)| {
            assert_eq!((start, kind.as_str(), count), (step.floor(ts), "mcp", 1));
            bucket
        }).collect();
        assert_eq!(got, want, "{step:?}");
    }
    // The columns read back as written.
    let e = store.audit_event("held").await.unwrap().unwrap();
    assert_eq!((e.approval_wait_ms, e.mcp_session_id.as_deref()), (Some(4_990.0), Some("mcp-1")));
    let e = store.audit_event("odd").await.unwrap().unwrap();
    assert_eq!(e.mcp_session_id, None);
    db.drop_db().await;
});

both!(sessions_are_listed_most_recent_first_in_keyset_pages, |backend| async move {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, dir.path()).await;
    let store = db.store().await;
    let t = now_ms() - 60_000;
    let mut events = vec![
        used(ev("1", t, "llm", Some("bot"), Some("s1")), 5, 6, 0.5),
        ev("2", t + 10, "mcp", Some("bot"), Some("s1")),
        ev("3", t + 20, "approval", Some("bot"), Some("s1")),
        // Same latest start as bot/s1: the keyset's agent and session order them.
        ev("4", t + 20, "llm", Some("other"), Some("s1")),
        ev("5", t + 20, "llm", Some("bot"), Some("s0")),
        ev("6", t + 5, "llm", None, Some("solo")),
        ev("7", t + 30, "llm", Some("bot"), Some("s2")),
        ev("8", t + 40, "llm", Some("bot"), None),
    ];
    events[1].latency_ms = 100.0;
    write(&db, &store, &events, false).await;

    let s1 = store.session_summary("bot", "s1").await.unwrap().expect("bot/s1");
    assert_eq!((s1.first_ts, s1.last_ts, s1.end_ts), (t, t + 20, t + 110), "the MCP call ends last");
    assert_eq!((s1.llm_calls, s1.mcp_calls, s1.approvals, s1.input_tokens, s1.output_tokens), (1, 1, 1, 5, 6), "LLM and MCP calls of one session in one row");
    assert!((s1.cost_usd - 0.5).abs() < 1e-12);
    assert!(store.session_summary("bot", "solo").await.unwrap().is_none());
    assert!(store.session_summary("", "solo").await.unwrap().is_some(), "no agent: ''");

    let order = |v: &[weir_server::store::Session]| v.iter().map(|s| format!("{}/{}", s.agent, s.session_id)).collect::<Vec<_>>();
    let all = store.list_sessions(&SessionFilter { limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(order(&all), ["bot/s2", "other/s1", "bot/s1", "bot/s0", "/solo"]);
    // Pages of two, each starting after the last row of the one before.
    let mut paged = Vec::new();
    let mut before = None;
    loop {
        let page = store.list_sessions(&SessionFilter { agent: None, before: before.clone(), limit: 2 }).await.unwrap();
        if page.is_empty() {
            break;
        }
        let last = page.last().unwrap();
        before = Some((last.last_ts, last.agent.clone(), last.session_id.clone()));
        paged.extend(page);
    }
    assert_eq!(paged, all);
    // One agent's, paged the same way.
    let bot = store.list_sessions(&SessionFilter { agent: Some("bot".into()), before: None, limit: 2 }).await.unwrap();
    assert_eq!(order(&bot), ["bot/s2", "bot/s1"]);
    let last = bot.last().unwrap();
    let rest = store.list_sessions(&SessionFilter { agent: Some("bot".into()), before: Some((last.last_ts, "bot".into(), last.session_id.clone())), limit: 2 }).await.unwrap();
    assert_eq!(order(&rest), ["bot/s0"]);
    // A cursor taken from the full listing (at other/s1) pages one agent's alike.
    let after_other = store.list_sessions(&SessionFilter { agent: Some("bot".into()), before: Some((t + 20, "other".into(), "s1".into())), limit: 10 }).await.unwrap();
    assert_eq!(order(&after_other), ["bot/s1", "bot/s0"]);
    db.drop_db().await;
});

both!(minutely_rollups_older_than_two_hours_are_pruned, |backend| async move {
    let gw = TestGateway::start_with(
        backend,
        GatewayOptions { audit_toml: "flush_interval_ms = 50\nretention_days = 0\nretention_interval_secs = 1".into(), ..Default::default() },
    )
    .await;
    let now = now_ms();
    let old = now - 3 * 3_600_000;
    gw.store.insert_audit_events(&[ev("old", old, "llm", Some("bot"), None), ev("recent", now, "llm", Some("bot"), None)]).await.unwrap();
    let store = gw.store.clone();
    eventually(Duration::from_secs(5), "the old minute to be pruned", || {
        let store = store.clone();
        async move { store.series_since(old, Step::Minute, None).await.unwrap().iter().all(|r| r.start_ms >= now - 2 * 3_600_000) }
    })
    .await;
    let minutes = gw.store.series_since(old, Step::Minute, None).await.unwrap();
    assert_eq!(minutes.iter().map(|r| r.start_ms).collect::<Vec<_>>(), [Step::Minute.floor(now)], "the recent minute stays");
    assert!(gw.store.latency_series_since(old, Step::Minute).await.unwrap().iter().all(|r| r.0 == Step::Minute.floor(now)), "its histogram too");
    let hours = gw.store.series_since(old, Step::Hour, None).await.unwrap();
    assert!(hours.iter().any(|r| r.start_ms == Step::Hour.floor(old)), "hours are kept as long as events are");
    gw.stop().await;
});

both!(an_mcp_call_in_an_agent_session_is_recorded_in_it, |backend| async move {
    let rules = "approval_timeout_secs = 60\n\n[[mcp.rules]]\ntools = [\"fix__deploy\"]\nagents = [\"bot\"]\nrequire_approval = true\n";
    let gw = TestGateway::start_with(backend, GatewayOptions { extra_toml: mcp_fixture_toml(rules), ..Default::default() }).await;
    let session = "trip-planner-7f3a";
    let chat = gw
        .http
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(&gw.key)
        .header("x-weir-session", session)
        .json(&json!({"model": "gpt-test", "messages": [{"role": "user", "content": "plan a trip"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(chat.status(), 200);
    let chat_event = wait_for_event(&gw.store, &request_id(&chat), Duration::from_secs(5)).await;
    assert_eq!(chat_event.session_id.as_deref(), Some(session));
    // A session opened without x-weir-session; the call names it.
    let mcp_session = open_mcp_session(&gw).await;
    let echo = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "fix__echo", "arguments": {"text": "hi"}}});
    let r = mcp_request(&gw, &mcp_session, &echo).header("x-weir-session", session).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // One without it: the MCP session stands for the agent session.
    let ping = json!({"jsonrpc": "2.0", "id": 3, "method": "ping"});
    assert_eq!(mcp_request(&gw, &mcp_session, &ping).send().await.unwrap().status(), 200);
    // A held call in the session, decided after half a second.
    let deploy = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "fix__deploy", "arguments": {"env": "prod"}}});
    let request = mcp_request(&gw, &mcp_session, &deploy).header("x-weir-session", session);
    let held = tokio::spawn(async move { request.send().await?.text().await });
    let store = gw.store.clone();
    eventually(Duration::from_secs(10), "the call to be held", || {
        let store = store.clone();
        async move { !store.list_approvals(Some(weir_server::store::ApprovalStatus::Pending), None, 10).await.unwrap().is_empty() }
    })
    .await;
    let pending = gw.store.list_approvals(Some(weir_server::store::ApprovalStatus::Pending), None, 10).await.unwrap().remove(0);
    assert_eq!(pending.session_id.as_deref(), Some(session), "the approval names the agent session");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = gw.http.post(gw.admin_url(&format!("/api/v1/approvals/{}/approve", pending.id))).bearer_auth(ADMIN_TOKEN).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = tokio::time::timeout(Duration::from_secs(10), held).await.unwrap().unwrap().unwrap();
    assert_eq!(mcp_answer(&body, 4)["result"]["content"][0]["text"], json!("deployed to prod"), "{body}");

    let store = gw.store.clone();
    let mcp_of = |session: String| {
        let store = store.clone();
        async move { store.query_audit_events(&weir_server::store::AuditFilter { session: Some(session), kind: Some("mcp".into()), limit: 10, ..Default::default() }).await.unwrap() }
    };
    eventually(Duration::from_secs(5), "the MCP calls' events", || {
        let (a, b) = (mcp_of(session.to_string()), mcp_of(mcp_session.clone()));
        async move { a.await.len() == 2 && b.await.len() == 2 }
    })
    .await;
    let mut calls = mcp_of(session.to_string()).await;
    calls.sort_by_key(|e| e.ts);
    for e in &calls {
        assert_eq!(e.mcp_session_id.as_deref(), Some(mcp_session.as_str()), "the Mcp-Session-Id, always");
    }
    assert_eq!(calls[0].tool_name.as_deref(), Some("fix__echo"));
    assert_eq!(calls[0].approval_wait_ms, None);
    let deployed = &calls[1];
    let waited = deployed.approval_wait_ms.expect("the held call's wait");
    assert!(waited >= 450.0 && waited <= deployed.latency_ms, "{waited} of {}", deployed.latency_ms);
    // The initialize and the ping, outside any x-weir-session.
    let bare = mcp_of(mcp_session.clone()).await;
    assert!(bare.iter().all(|e| e.mcp_session_id.as_deref() == Some(mcp_session.as_str())));

    // The session's row holds the LLM call, both MCP calls and the decision.
    let store = gw.store.clone();
    eventually(Duration::from_secs(5), "the decision's event", || {
        let store = store.clone();
        async move { store.session_summary("bot", session).await.unwrap().is_some_and(|s| s.approvals == 1) }
    })
    .await;
    let row = gw.store.session_summary("bot", session).await.unwrap().unwrap();
    assert_eq!((row.llm_calls, row.mcp_calls, row.approvals), (1, 2, 1), "{row:?}");
    // Latency histograms leave the wait out: they count each MCP call at its latency less its
    // wait (the held call far from its whole latency).
    let all = gw.store.query_audit_events(&weir_server::store::AuditFilter { kind: Some("mcp".into()), limit: 100, ..Default::default() }).await.unwrap();
    let mut want = std::collections::BTreeMap::<i64, i64>::new();
    for e in &all {
        *want.entry(latency_bucket(e.latency_ms - e.approval_wait_ms.unwrap_or(0.0))).or_default() += 1;
    }
    assert_ne!(latency_bucket(deployed.latency_ms), latency_bucket(deployed.latency_ms - waited));
    let mut got = std::collections::BTreeMap::<i64, i64>::new();
    for (_, kind, bucket, count) in gw.store.latency_series_since(chat_event.ts, Step::Minute).await.unwrap() {
        if kind == "mcp" {
            *got.entry(bucket).or_default() += count;
        }
    }
    assert_eq!(got, want);
    gw.stop().await;
});
