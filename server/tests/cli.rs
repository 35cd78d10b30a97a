//! The `weir` command line, run as the real binary.

use std::time::Duration;

use crate::support::*;

async fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = weir_command(env).args(args).output().await.expect("run weir");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn config_check_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[providers]]\nname = \"p\"\nkind = \"openai\"\nbase_url = \"http://x/v1\"\n[[models]]\nname = \"m\"\ntargets = [{ provider = \"q\", model = \"x\" }]\n").unwrap();
    let (code, _, err) = run(&["config", "check", bad.to_str().unwrap()], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("models[0].targets[0].provider") && err.contains("unknown provider `q`"), "{err}");

    std::fs::write(&bad, "[server]\nlisten = \"127.0.0.1:4000\"\nmax_body = 3\n").unwrap();
    let (code, _, err) = run(&["config", "check", bad.to_str().unwrap()], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("max_body"), "{err}");

    let (code, _, err) = run(&["config", "check", dir.path().join("missing.toml").to_str().unwrap()], &[]).await;
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

#[tokio::test]
async fn every_example_config_is_valid() {
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut n = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let (code, out, err) = run(&["config", "check", path.to_str().unwrap()], &[]).await;
        assert_eq!(code, 0, "{}: {err}", path.display());
        assert!(out.contains("OK"), "{out}");
        n += 1;
    }
    assert!(n >= 2, "examples found: {n}");
}

#[tokio::test]
async fn serve_with_a_bad_config_exits_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[models]]\nname = \"m\"\ntargets = []\n").unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let db = format!("sqlite://{}", dir.path().join("w.db").display());
    let (code, _, err) = run(&["serve", "--config", bad.to_str().unwrap()], &[("WEIR_LISTEN", &listen), ("WEIR_DATABASE_URL", &db)]).await;
    assert_eq!(code, 2);
    assert!(err.contains("models[0].targets"), "{err}");
    assert!(!err.contains("serving"), "{err}");
    assert!(!dir.path().join("w.db").exists(), "nothing was started: not even the database was opened");
    let (code, _, err) = run(&["serve"], &[("WEIR_LISTEN", "not-an-address"), ("WEIR_DATABASE_URL", &db)]).await;
    assert_eq!(code, 2);
    assert!(err.contains("WEIR_LISTEN"), "{err}");
}

async fn agents_and_keys_on(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new(backend, dir.path()).await;
    let env = [("WEIR_DATABASE_URL", db.url.as_str())];
    let (code, _, err) = run(&["migrate"], &env).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["agents", "create", "researcher"], &env).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["agents", "create", "researcher"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, out, _) = run(&["agents", "list"], &env).await;
    assert_eq!(code, 0);
    assert!(out.contains("researcher"));

    let (code, out, err) = run(&["keys", "create", "researcher", "--expires", "30d", "--models", "gpt-test,claude-test"], &env).await;
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "the key alone on stdout: {out:?}");
    let key = lines[0];
    assert!(key.starts_with("wk_") && key.len() == 43 && key[3..].chars().all(|c| c.is_ascii_alphanumeric()), "{key}");
    let (code, out, _) = run(&["keys", "list", "researcher"], &env).await;
    assert_eq!(code, 0);
    assert!(out.contains("gpt-test,claude-test"));
    assert!(!out.contains(key), "listing never shows the key");
    let key_id = out.lines().nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    assert!(key_id.starts_with("key_"));
    let (code, _, err) = run(&["keys", "revoke", &key_id], &env).await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["keys", "list"], &env).await;
    let row = out.lines().find(|l| l.starts_with(&key_id)).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols.len(), 7, "{row}");
    assert!(cols[4].ends_with('Z') && cols[5].ends_with('Z'), "expiry and revocation shown: {row}");

    let (code, _, err) = run(&["budgets", "set", "researcher", "--cost-usd", "50", "--period", "month"], &env).await;
    assert_eq!(code, 0, "{err}");
    let (code, out, _) = run(&["budgets", "show", "researcher"], &env).await;
    assert_eq!(code, 0);
    assert!(out.contains("cost_usd") && out.contains("month") && out.contains("$50.0000"), "{out}");
    let (code, _, err) = run(&["budgets", "set", "researcher", "--tokens", "5", "--period", "fortnight"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("period"), "{err}");
    let (code, _, _) = run(&["budgets", "unset", "researcher", "--period", "month", "--kind", "cost_usd"], &env).await;
    assert_eq!(code, 0);
    let (_, out, _) = run(&["budgets", "show", "researcher"], &env).await;
    assert!(out.contains("no budget"), "{out}");
    let (code, _, err) = run(&["limits", "set", "researcher", "--rpm", "60", "--tpm", "9000"], &env).await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&["limits", "set", "researcher", "--tpm", "off"], &env).await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&["limits", "show", "researcher"], &env).await;
    let row = out.lines().nth(1).unwrap_or_default();
    assert!(row.contains("60") && !row.contains("9000") && row.contains("set"), "rpm kept, tpm removed: {out}");
    let (code, _, err) = run(&["limits", "set", "researcher"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("--rpm"), "{err}");

    let (code, _, err) = run(&["keys", "create", "nobody"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("no agent named `nobody`"), "{err}");
    let (code, _, err) = run(&["keys", "create", "researcher", "--expires", "soonish"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("--expires"), "{err}");
    let (code, _, err) = run(&["keys", "revoke", "key_nope"], &env).await;
    assert_eq!(code, 1);
    assert!(err.contains("no key"), "{err}");
    db.drop_db().await;
}

#[tokio::test]
async fn agents_and_keys_sqlite() {
    agents_and_keys_on(Backend::Sqlite).await;
}

#[tokio::test]
async fn agents_and_keys_postgres() {
    agents_and_keys_on(Backend::Postgres).await;
}

/// `weir serve` with nothing set but its addresses (and `extra`), in `dir`, its standard error
/// in `dir/log`; returns once it is ready, with its gateway and admin addresses.
async fn serve_unconfigured(dir: &std::path::Path, extra: &[(&str, &str)]) -> (tokio::process::Child, String, String) {
    let listen = format!("127.0.0.1:{}", free_port());
    let admin = format!("127.0.0.1:{}", free_port());
    let log = std::fs::File::create(dir.join("log")).unwrap();
    let mut env = vec![("WEIR_LISTEN", listen.as_str()), ("WEIR_ADMIN_LISTEN", admin.as_str())];
    env.extend_from_slice(extra);
    let child = weir_command(&env).arg("serve").current_dir(dir).stderr(log).spawn().unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://{admin}/readyz");
    eventually(Duration::from_secs(20), "readyz", || {
        let (http, url) = (http.clone(), url.clone());
        async move { http.get(&url).send().await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
    (child, listen, admin)
}

async fn stop(mut child: tokio::process::Child) {
    if let Some(pid) = child.id() {
        std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    }
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait()).await.unwrap().unwrap();
    assert!(status.success());
}

/// The admin token `weir serve` generated: on one plain line of standard error, with the
/// console's address, and nowhere else there.
fn shown_admin_token(stderr: &str, admin: &str) -> String {
    let shown: Vec<&str> = stderr.lines().filter(|l| l.starts_with("weir: ") && l.contains("admin token")).collect();
    assert_eq!(shown.len(), 1, "one plain line shows the token: {stderr}");
    assert!(shown[0].contains(&format!("http://{admin}/")), "with the console's URL: {}", shown[0]);
    let token = shown[0].split_whitespace().find(|w| w.starts_with("wat_")).expect("the token on its line").to_string();
    assert_eq!(stderr.matches(&token).count(), 1, "the token is shown once and never logged: {stderr}");
    token
}

#[tokio::test]
async fn embedded_defaults_start_with_nothing_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (child, listen, admin) = serve_unconfigured(dir.path(), &[]).await;
    assert!(dir.path().join("weir.db").exists(), "SQLite by default, in the working directory");
    let token = shown_admin_token(&std::fs::read_to_string(dir.path().join("log")).unwrap(), &admin);
    let http = reqwest::Client::new();
    let r = http.get(format!("http://{admin}/api/v1/agents")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "the printed token works");
    let r = http.get(format!("http://{listen}/v1/models")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    stop(child).await;
}

#[tokio::test]
async fn a_generated_admin_token_is_shown_outside_the_json_log() {
    let dir = tempfile::tempdir().unwrap();
    let (child, _, admin) = serve_unconfigured(dir.path(), &[("WEIR_LOG_FORMAT", "json")]).await;
    let token = shown_admin_token(&std::fs::read_to_string(dir.path().join("log")).unwrap(), &admin);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = http.get(format!("http://{admin}/api/v1/agents")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200, "the shown token works for the admin API");
    let r = http.post(format!("http://{admin}/sign-in")).form(&[("token", token.as_str())]).send().await.unwrap();
    assert_eq!(r.status(), 303, "and signs in to the console");
    stop(child).await;

    let stderr = std::fs::read_to_string(dir.path().join("log")).unwrap();
    shown_admin_token(&stderr, &admin);
    let records: Vec<serde_json::Value> =
        stderr.lines().filter(|l| !l.starts_with("weir: ")).map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log record ({e}): {l}"))).collect();
    assert!(records.len() > 1, "{stderr}");
    assert!(records.iter().all(|r| !r.to_string().contains(&token)), "no log record holds the token");
    let said = records.iter().any(|r| r["fields"]["message"].as_str().is_some_and(|m| m.contains("generated an admin token")));
    assert!(said, "the log says a token was generated: {stderr}");
}
