//! Golden tests: payloads in the shapes of both providers' documentation
//! (`server/tests/golden/translate/*.json`), each translated every way it can be, compared
//! with the reviewed result in `expected/`. `WEIR_GOLDEN_WRITE=1` writes the results instead
//! (for review in the diff).

use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::Translation;
use crate::sse::{SseEvent, SseSplitter};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/translate")
}

/// The translations a case goes through, each named by the protocol it ends in.
fn translations(from: &str, part: &str) -> Vec<(Translation, &'static str)> {
    match (from, part) {
        ("chat", "request") => vec![(Translation::ChatToMessages, "messages")],
        ("responses", "request") => vec![(Translation::ResponsesToMessages, "messages")],
        ("messages", "request") => vec![(Translation::MessagesToChat, "chat")],
        ("messages", _) => vec![(Translation::ChatToMessages, "chat"), (Translation::ResponsesToMessages, "responses")],
        ("chat", _) => vec![(Translation::MessagesToChat, "messages")],
        _ => Vec::new(),
    }
}

/// Times are now; they are zeroed to compare.
fn steady(mut v: Value) -> Value {
    match &mut v {
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                if k == "created" || k == "created_at" {
                    *x = json!(0);
                } else {
                    *x = steady(x.take());
                }
            }
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                *x = steady(x.take());
            }
        }
        _ => {}
    }
    v
}

fn run(case: &Value, t: Translation) -> Value {
    let input = &case["input"];
    match case["part"].as_str().unwrap_or("") {
        "request" => match t.request(&serde_json::to_vec(input).unwrap(), "target-model") {
            Ok(out) => json!({"body": serde_json::from_slice::<Value>(&out.body).unwrap(), "include_usage": out.include_usage}),
            Err(e) => json!({"refused": {"status": e.status().as_u16(), "param": e.param, "message": e.message}}),
        },
        "response" => match t.response(&serde_json::to_vec(input).unwrap()) {
            Some(out) => serde_json::from_slice(&out).unwrap(),
            None => Value::Null,
        },
        "error" => {
            let status = StatusCode::from_u16(case["status"].as_u64().unwrap_or(500) as u16).unwrap();
            serde_json::from_slice(&t.error_body(status, &serde_json::to_vec(input).unwrap())).unwrap()
        }
        "stream" => {
            let mut tr = t.stream(true);
            let mut splitter = SseSplitter::default();
            let mut events: Vec<SseEvent> = Vec::new();
            for raw in input.as_array().unwrap() {
                splitter.push(raw.as_str().unwrap().as_bytes(), &mut events).unwrap();
            }
            let mut out = Vec::new();
            for ev in &events {
                tr.event(ev, &mut out);
            }
            tr.end(&mut out);
            let text = String::from_utf8(out).unwrap();
            // Each event as its JSON (its `event:` name kept apart), for a readable diff.
            let events: Vec<Value> = text
                .split("\n\n")
                .filter(|e| !e.is_empty())
                .map(|e| {
                    let name = e.lines().find_map(|l| l.strip_prefix("event: "));
                    let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("");
                    let data = serde_json::from_str::<Value>(data).unwrap_or_else(|_| json!(data));
                    json!({"event": name, "data": data})
                })
                .collect();
            Value::Array(events)
        }
        other => panic!("unknown part {other}"),
    }
}

#[test]
fn every_case_translates_as_reviewed() {
    let write = std::env::var("WEIR_GOLDEN_WRITE").is_ok_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(dir()).unwrap().filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    cases.sort();
    assert!(cases.len() >= 40, "the golden cases are missing ({} found)", cases.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for path in &cases {
        let case: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        for (t, to) in translations(case["from"].as_str().unwrap_or(""), case["part"].as_str().unwrap_or("")) {
            let got = steady(run(&case, t));
            let expected_path = dir().join("expected").join(format!("{stem}.to_{to}.json"));
            if write {
                std::fs::create_dir_all(expected_path.parent().unwrap()).unwrap();
                std::fs::write(&expected_path, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
                continue;
            }
            compared += 1;
            match std::fs::read(&expected_path) {
                Ok(bytes) => {
                    let expected: Value = serde_json::from_slice(&bytes).unwrap();
                    if expected != got {
                        failures.push(format!("{stem} → {to}: got\n{}", serde_json::to_string_pretty(&got).unwrap()));
                    }
                }
                Err(_) => failures.push(format!("{stem} → {to}: no {}", expected_path.display())),
            }
        }
    }
    assert!(write || compared > 0);
    assert!(failures.is_empty(), "{} golden cases differ:\n{}", failures.len(), failures.join("\n\n"));
}

/// The README's table of members for one protocol: (member, treatment).
fn readme_table(protocol: &str) -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).unwrap();
    let start = readme.find(&format!("<!-- translation:{protocol} -->")).unwrap_or_else(|| panic!("README has no {protocol} table"));
    let body = &readme[start..];
    let body = &body[..body.find("<!-- /translation -->").unwrap()];
    body.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let member = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((member.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// The request members the API reference lists (`FIELDS.md`), per protocol.
fn reference_members(protocol: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir().join("FIELDS.md")).unwrap();
    let heading = match protocol {
        "chat" => "## Chat Completions",
        "responses" => "## Responses",
        _ => "## Messages",
    };
    let section = &text[text.find(heading).unwrap() + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    section
        .lines()
        .filter_map(|l| l.strip_prefix("- `")?.split('`').next().map(str::to_string))
        .collect()
}

#[test]
fn the_readme_says_what_becomes_of_every_member_and_each_mapped_one_has_a_golden_case() {
    let cases: Vec<Value> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect();
    for protocol in ["chat", "responses", "messages"] {
        let table = readme_table(protocol);
        for member in reference_members(protocol) {
            assert!(table.iter().any(|(m, _)| *m == member), "the README's {protocol} table does not say what becomes of `{member}`");
        }
        for (member, treatment) in &table {
            assert!(["mapped", "dropped", "refused"].contains(&treatment.as_str()), "{protocol} `{member}`: {treatment}");
            let (t, _) = translations(protocol, "request")[0];
            let with_member: Vec<&Value> =
                cases.iter().filter(|c| c["from"] == protocol && c["part"] == "request" && c["input"].get(member.as_str()).is_some()).collect();
            match treatment.as_str() {
                "mapped" => assert!(
                    with_member.iter().any(|c| run(c, t).get("body").is_some()),
                    "{protocol} `{member}` is mapped but no golden case translates a request holding it"
                ),
                // A refused member is refused by name wherever a case holds it as refused.
                "refused" => {
                    for c in with_member {
                        if let Some(r) = run(c, t).get("refused") {
                            assert!(r["message"].as_str().unwrap_or("").contains('`'), "{r}");
                        }
                    }
                }
                _ => {
                    // A dropped member is not in the translated request.
                    for c in with_member {
                        if let Some(body) = run(c, t).get("body") {
                            assert!(body.get(member.as_str()).is_none() || matches!(member.as_str(), "stream" | "metadata"), "{protocol} `{member}` is dropped but was sent on");
                        }
                    }
                }
            }
        }
    }
}
