//! Editing the config file while Weir runs reloads it; a bad edit is refused and the old one
//! stays.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_edits_apply_and_bad_edits_are_refused() {
    let gw = TestGateway::start(Backend::Sqlite).await;
    let chat = |model: &'static str| {
        let http = gw.http.clone();
        let url = gw.url("/v1/chat/completions");
        let key = gw.key.clone();
        async move { http.post(url).bearer_auth(key).json(&json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(chat("added-later").await, 404);
    let original = std::fs::read_to_string(&gw.config_path).unwrap();
    let added = format!("{original}\n[[models]]\nname = \"added-later\"\ntargets = [{{ provider = \"fake-openai\", model = \"m2\" }}]\n");
    std::fs::write(&gw.config_path, &added).unwrap();
    eventually(Duration::from_secs(3), "the new model to be served", || chat("added-later").then_some_200()).await;

    // A broken edit: refused, the running config stays.
    std::fs::write(&gw.config_path, format!("{added}\n[[models]]\nname = \"broken\"\ntargets = [{{ provider = \"missing\", model = \"x\" }}]\n")).unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(chat("added-later").await, 200);
    assert_eq!(chat("broken").await, 404);
    std::fs::write(&gw.config_path, "this is = = not toml").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(chat("gpt-test").await, 200);
    gw.stop().await;
}

trait ThenSome200 {
    fn then_some_200(self) -> impl std::future::Future<Output = bool>;
}

impl<F: std::future::Future<Output = u16>> ThenSome200 for F {
    async fn then_some_200(self) -> bool {
        self.await == 200
    }
}
