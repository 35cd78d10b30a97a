//! The answers to tools, images, structured output, reasoning, stop sequences, output caps and
//! cached tokens, whole and streamed, in both wire formats, and the refusals that go with them.

use std::sync::Arc;

use axum::http::HeaderMap;
use bytes::Bytes;
use serde_json::{json, Value};

use super::{serve, thinking_signature, Api, FakeState, REPLY, THINKING};

struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    /// The events of a stream: (event name, data), `[DONE]` left out.
    fn events(&self) -> Vec<(Option<String>, Value)> {
        self.body
            .split("\n\n")
            .filter(|e| !e.trim().is_empty())
            .filter_map(|e| {
                let name = e
                    .lines()
                    .find_map(|l| l.strip_prefix("event: "))
                    .map(str::to_string);
                let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
                (data != "[DONE]").then(|| (name, serde_json::from_str(data).unwrap()))
            })
            .collect()
    }
    fn error(&self) -> String {
        assert_eq!(self.status, 400, "{}", self.body);
        self.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

async fn call_on(state: Arc<FakeState>, api: Api, body: Value, behavior: Option<&str>) -> Answer {
    let mut headers = HeaderMap::new();
    if let Some(b) = behavior {
        headers.insert("x-fake-behavior", b.parse().unwrap());
    }
    let path = if api == Api::Chat {
        "/v1/chat/completions"
    } else {
        "/v1/messages"
    };
    let resp = serve(
        state,
        api,
        path,
        None,
        headers,
        Bytes::from(body.to_string()),
    )
    .await;
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn call(api: Api, body: Value) -> Answer {
    call_on(Arc::new(FakeState::default()), api, body, None).await
}

async fn chat(extra: Value) -> Answer {
    call(
        Api::Chat,
        merged(
            json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]}),
            extra,
        ),
    )
    .await
}

async fn anthropic(extra: Value) -> Answer {
    call(Api::Messages, merged(json!({"model": "claude-x", "max_tokens": 2048, "messages": [{"role": "user", "content": "hi"}]}), extra)).await
}

fn merged(mut base: Value, extra: Value) -> Value {
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        base[k] = v;
    }
    base
}

/// A chat stream put back together: the message, the finish reason and the usage.
fn chat_stream(a: &Answer) -> (Value, String, Value) {
    let mut content: Option<String> = None;
    let mut calls: Vec<Value> = Vec::new();
    let (mut finish, mut usage) = (String::new(), Value::Null);
    for (_, ev) in a.events() {
        assert_eq!(ev["object"], "chat.completion.chunk");
        if !ev["usage"].is_null() {
            usage = ev["usage"].clone();
        }
        let Some(choice) = ev["choices"].get(0) else {
            continue;
        };
        if let Some(f) = choice["finish_reason"].as_str() {
            finish = f.to_string();
        }
        let delta = &choice["delta"];
        if let Some(c) = delta["content"].as_str() {
            content.get_or_insert_default().push_str(c);
        }
        for tc in delta["tool_calls"].as_array().into_iter().flatten() {
            let i = tc["index"].as_u64().unwrap() as usize;
            if tc.get("id").is_some() {
                assert_eq!(i, calls.len(), "a call starts once, in order");
                assert_eq!(
                    tc["function"]["arguments"], "",
                    "the first chunk of a call has its name, not its arguments"
                );
                calls.push(json!({"id": tc["id"], "type": tc["type"], "function": {"name": tc["function"]["name"], "arguments": ""}}));
            } else {
                let args = format!(
                    "{}{}",
                    calls[i]["function"]["arguments"].as_str().unwrap(),
                    tc["function"]["arguments"].as_str().unwrap()
                );
                calls[i]["function"]["arguments"] = json!(args);
            }
        }
    }
    let message = if calls.is_empty() {
        json!({"content": content})
    } else {
        json!({"content": content, "tool_calls": calls})
    };
    (message, finish, usage)
}

/// An Anthropic stream put back together, as the whole answer would be.
fn anthropic_stream(a: &Answer) -> Value {
    let evs = a.events();
    assert_eq!(evs[0].0.as_deref(), Some("message_start"));
    let mut message = evs[0].1["message"].clone();
    let mut content: Vec<Value> = Vec::new();
    let mut partial: Vec<String> = Vec::new();
    for (name, ev) in &evs[1..] {
        assert_eq!(name.as_deref(), ev["type"].as_str());
        match name.as_deref().unwrap() {
            "content_block_start" => {
                assert_eq!(ev["index"], content.len());
                content.push(ev["content_block"].clone());
                partial.push(String::new());
            }
            "content_block_delta" => {
                let (i, d) = (ev["index"].as_u64().unwrap() as usize, &ev["delta"]);
                let block = &mut content[i];
                match d["type"].as_str().unwrap() {
                    "text_delta" => {
                        block["text"] = json!(format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ))
                    }
                    "thinking_delta" => {
                        block["thinking"] = json!(format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ))
                    }
                    "signature_delta" => block["signature"] = d["signature"].clone(),
                    "input_json_delta" => partial[i].push_str(d["partial_json"].as_str().unwrap()),
                    other => panic!("{other}"),
                }
            }
            "content_block_stop" => {
                let i = ev["index"].as_u64().unwrap() as usize;
                if content[i]["type"] == "tool_use" {
                    content[i]["input"] = serde_json::from_str(&partial[i]).unwrap();
                }
            }
            "message_delta" => {
                message["stop_reason"] = ev["delta"]["stop_reason"].clone();
                message["stop_sequence"] = ev["delta"]["stop_sequence"].clone();
                for (k, v) in ev["usage"].as_object().unwrap() {
                    message["usage"][k] = v.clone();
                }
            }
            "ping" | "message_stop" => {}
            other => panic!("{other}"),
        }
    }
    message["content"] = json!(content);
    message
}

fn count(a: &Answer, ty: &str) -> usize {
    a.events()
        .iter()
        .filter(|(_, e)| {
            e["delta"]["type"] == ty
                || e["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"]
                    .as_str()
                    .is_some_and(|s| ty == "args" && !s.is_empty())
        })
        .count()
}

const WEATHER: &str = "get_weather";

fn chat_tools() -> Value {
    json!([
        {"type": "function", "function": {"name": WEATHER, "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}, "hint": {"type": "string"}
        }, "required": ["city", "unit", "days"]}}},
        {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}, "exact": {"type": "boolean"}}}}},
        {"type": "function", "function": {"name": "third", "parameters": {"type": "object", "properties": {}}}}
    ])
}

fn anthropic_tools() -> Value {
    json!([
        {"name": WEATHER, "description": "weather", "input_schema": {"type": "object", "properties": {
            "city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer"}, "hint": {"type": "string"}
        }, "required": ["city", "unit", "days"]}},
        {"name": "get_time", "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}, "exact": {"type": "boolean"}}}},
        {"name": "third", "input_schema": {"type": "object", "properties": {}}}
    ])
}

fn weather_args() -> Value {
    json!({"city": "fake", "unit": "celsius", "days": 1})
}

fn time_args() -> Value {
    json!({"zone": "fake", "exact": true})
}

// -- what stays as it was ----------------------------------------------------------------------

#[tokio::test]
async fn plain_requests_are_answered_as_before() {
    let a = chat(json!({})).await.json();
    assert_eq!(
        a["choices"][0]["message"],
        json!({"role": "assistant", "content": REPLY, "refusal": null})
    );
    assert_eq!(a["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        a["usage"],
        json!({"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7, "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}})
    );
    assert_eq!(
        (
            a["id"].as_str(),
            a["object"].as_str(),
            a["model"].as_str(),
            a["system_fingerprint"].as_str()
        ),
        (
            Some("chatcmpl-fake"),
            Some("chat.completion"),
            Some("gpt-x"),
            Some("fp_fake")
        )
    );
    assert!(a["created"].as_u64().unwrap() > 0);
    let m = anthropic(json!({})).await.json();
    assert_eq!(
        m,
        json!({"id": "msg_fake", "type": "message", "role": "assistant", "model": "claude-x", "content": [{"type": "text", "text": REPLY}],
        "stop_reason": "end_turn", "stop_sequence": null, "usage": {"input_tokens": 2, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}})
    );
    let s = anthropic(json!({"stream": true})).await;
    let names: Vec<String> = s.events().into_iter().filter_map(|(n, _)| n).collect();
    assert_eq!(names[..3], ["message_start", "content_block_start", "ping"]);
    assert_eq!(
        s.events()
            .iter()
            .find(|(n, _)| n.as_deref() == Some("message_delta"))
            .unwrap()
            .1["usage"],
        json!({"output_tokens": 5})
    );
    let (message, finish, usage) = chat_stream(
        &chat(json!({"stream": true, "stream_options": {"include_usage": true}})).await,
    );
    assert_eq!(
        (
            message["content"].as_str(),
            finish.as_str(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(REPLY), "stop", Some(5))
    );
}

#[tokio::test]
async fn every_request_is_recorded_refused_or_not() {
    let state = Arc::new(FakeState::default());
    let tools = json!([{"type": "function", "function": {"name": "bad name"}}]);
    let refused = call_on(
        state.clone(),
        Api::Chat,
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": tools}),
        None,
    )
    .await;
    assert_eq!(refused.status, 400);
    let served = call_on(state.clone(), Api::Chat, json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": chat_tools()}), None).await;
    assert_eq!(served.status, 200);
    let recorded = state.requests();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[1].body["tools"], chat_tools());
}

// -- tools ---------------------------------------------------------------------------------

#[tokio::test]
async fn chat_calls_the_first_tool_with_arguments_from_its_schema() {
    let a = chat(json!({"tools": chat_tools()})).await.json();
    let choice = &a["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    let calls = choice["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert!(calls[0]["id"].as_str().unwrap().starts_with("call_"));
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["name"], WEATHER);
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, weather_args());
    // One per call plus the words of the arguments (none of them has a space).
    assert_eq!(a["usage"]["completion_tokens"], 2);

    let named = chat(json!({"tools": chat_tools(), "tool_choice": {"type": "function", "function": {"name": "get_time"}}})).await.json();
    assert_eq!(
        named["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_time"
    );
    assert_eq!(
        named["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"],
        time_args().to_string()
    );
    let none = chat(json!({"tools": chat_tools(), "tool_choice": "none"}))
        .await
        .json();
    assert_eq!(none["choices"][0]["message"]["content"], REPLY);
    let required = chat(json!({"tools": chat_tools(), "tool_choice": "required"}))
        .await
        .json();
    assert_eq!(
        required["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        WEATHER
    );
}

#[tokio::test]
async fn chat_calls_two_tools_at_once_when_told_to() {
    let body = json!({"model": "gpt-x@parallel_tools", "messages": [{"role": "user", "content": "hi"}], "tools": chat_tools()});
    let a = call(Api::Chat, body.clone()).await.json();
    let calls = a["choices"][0]["message"]["tool_calls"].as_array().unwrap();
    assert_eq!(
        calls
            .iter()
            .map(|c| c["function"]["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [WEATHER, "get_time"]
    );
    assert_ne!(calls[0]["id"], calls[1]["id"]);
    assert_eq!(a["model"], "gpt-x");
    let serial = call(
        Api::Chat,
        merged(body, json!({"parallel_tool_calls": false})),
    )
    .await
    .json();
    assert_eq!(
        serial["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let by_header = call_on(Arc::new(FakeState::default()), Api::Chat, json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": chat_tools()}), Some("parallel_tools")).await.json();
    assert_eq!(
        by_header["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let state = Arc::new(FakeState::default());
    state.script([super::Behavior::parse("parallel_tools")]);
    let scripted = call_on(state, Api::Chat, json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": chat_tools()}), None).await.json();
    assert_eq!(
        scripted["choices"][0]["message"]["tool_calls"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn chat_streams_tool_calls_in_pieces() {
    let body = json!({"model": "gpt-x@parallel_tools", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "hi"}], "tools": chat_tools()});
    let a = call(Api::Chat, body).await;
    let evs = a.events();
    let first = &evs[0].1["choices"][0]["delta"];
    assert_eq!(first["role"], "assistant");
    assert_eq!(first["tool_calls"][0]["index"], 0);
    assert_eq!(first["tool_calls"][0]["type"], "function");
    let (message, finish, usage) = chat_stream(&a);
    assert_eq!(finish, "tool_calls");
    assert_eq!(message["content"], Value::Null);
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls
        .iter()
        .all(|c| c["id"].as_str().unwrap().starts_with("call_")));
    assert_eq!(
        serde_json::from_str::<Value>(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap(),
        weather_args()
    );
    assert_eq!(
        serde_json::from_str::<Value>(calls[1]["function"]["arguments"].as_str().unwrap()).unwrap(),
        time_args()
    );
    for i in 0..2 {
        let pieces = evs
            .iter()
            .filter(|(_, e)| {
                e["choices"][0]["delta"]["tool_calls"][0]["index"] == i
                    && e["choices"][0]["delta"]["tool_calls"][0]
                        .get("id")
                        .is_none()
            })
            .count();
        assert!(pieces >= 2, "call {i}: {pieces} argument pieces");
    }
    assert!(count(&a, "args") >= 4);
    assert_eq!(usage["completion_tokens"], 4);
    assert!(a.body.ends_with("data: [DONE]\n\n"));
}

#[tokio::test]
async fn chat_answers_tool_results() {
    let messages = json!([
        {"role": "user", "content": "weather and time?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": WEATHER, "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "noon"}, {"type": "text", "text": "UTC"}]}
    ]);
    let a = chat(json!({"messages": messages, "tools": chat_tools()}))
        .await
        .json();
    assert_eq!(
        a["choices"][0]["message"]["content"],
        "Tool results: sunny | noon UTC"
    );
    assert_eq!(a["choices"][0]["finish_reason"], "stop");
    assert_eq!(a["usage"]["completion_tokens"], 6);
    let (message, _, _) = chat_stream(&chat(json!({"messages": messages, "stream": true})).await);
    assert_eq!(message["content"], "Tool results: sunny | noon UTC");
}

#[tokio::test]
async fn chat_tool_refusals() {
    assert!(chat(json!({"tools": [{"function": {"name": "f"}}]}))
        .await
        .error()
        .contains("'tools[0].type'"));
    assert!(
        chat(json!({"tools": [{"type": "function", "function": {}}]}))
            .await
            .error()
            .contains("'tools[0].function.name'")
    );
    assert!(
        chat(json!({"tools": [{"type": "function", "function": {"name": "has space"}}]}))
            .await
            .error()
            .contains("does not match pattern")
    );
    assert!(chat(json!({"tool_choice": "auto"}))
        .await
        .error()
        .contains("only allowed when 'tools' are specified"));
    let unknown = chat(json!({"tools": chat_tools(), "tool_choice": {"type": "function", "function": {"name": "nope"}}})).await.error();
    assert!(unknown.contains("'nope'"), "{unknown}");
    let wrong_id = json!([
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "x"}
    ]);
    assert!(chat(json!({"messages": wrong_id}))
        .await
        .error()
        .contains("must be a response to a preceeding message with 'tool_calls'"));
    let unanswered = json!([
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "user", "content": "never mind"}
    ]);
    assert!(chat(json!({"messages": unanswered}))
        .await
        .error()
        .contains("did not have response messages: call_1"));
}

#[tokio::test]
async fn anthropic_calls_tools() {
    let a = anthropic(json!({"tools": anthropic_tools()})).await.json();
    assert_eq!(a["stop_reason"], "tool_use");
    assert_eq!(a["stop_sequence"], Value::Null);
    let content = a["content"].as_array().unwrap();
    assert_eq!(content.len(), 1);
    assert_eq!(content[0]["type"], "tool_use");
    assert!(content[0]["id"].as_str().unwrap().starts_with("toolu_"));
    assert_eq!(content[0]["name"], WEATHER);
    assert_eq!(content[0]["input"], weather_args());
    assert_eq!(a["usage"]["output_tokens"], 2);

    let named = anthropic(
        json!({"tools": anthropic_tools(), "tool_choice": {"type": "tool", "name": "get_time"}}),
    )
    .await
    .json();
    assert_eq!(
        (
            named["content"][0]["name"].clone(),
            named["content"][0]["input"].clone()
        ),
        (json!("get_time"), time_args())
    );
    let none = anthropic(json!({"tools": anthropic_tools(), "tool_choice": {"type": "none"}}))
        .await
        .json();
    assert_eq!(none["content"][0]["text"], REPLY);
    let any = anthropic(json!({"tools": anthropic_tools(), "tool_choice": {"type": "any"}}))
        .await
        .json();
    assert_eq!(any["content"][0]["name"], WEATHER);

    let parallel = json!({"model": "claude-x@parallel_tools", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}], "tools": anthropic_tools()});
    let two = call(Api::Messages, parallel.clone()).await.json();
    assert_eq!(
        two["content"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [WEATHER, "get_time"]
    );
    assert_ne!(two["content"][0]["id"], two["content"][1]["id"]);
    let one = call(
        Api::Messages,
        merged(
            parallel,
            json!({"tool_choice": {"type": "auto", "disable_parallel_tool_use": true}}),
        ),
    )
    .await
    .json();
    assert_eq!(one["content"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn anthropic_streams_tool_use() {
    let body = json!({"model": "claude-x@parallel_tools", "max_tokens": 100, "stream": true, "messages": [{"role": "user", "content": "hi"}], "tools": anthropic_tools()});
    let a = call(Api::Messages, body).await;
    let starts: Vec<Value> = a
        .events()
        .into_iter()
        .filter(|(n, _)| n.as_deref() == Some("content_block_start"))
        .map(|(_, e)| e["content_block"].clone())
        .collect();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0]["type"], "tool_use");
    assert_eq!(starts[0]["input"], json!({}));
    assert!(starts[0]["id"].as_str().unwrap().starts_with("toolu_"));
    for i in 0..2 {
        let pieces = a
            .events()
            .iter()
            .filter(|(_, e)| e["index"] == i && e["delta"]["type"] == "input_json_delta")
            .count();
        assert!(pieces >= 2, "block {i}: {pieces} pieces");
    }
    let m = anthropic_stream(&a);
    assert_eq!(m["stop_reason"], "tool_use");
    assert_eq!(m["content"][0]["input"], weather_args());
    assert_eq!(m["content"][1]["input"], time_args());
    assert_eq!(m["usage"]["output_tokens"], 4);
}

#[tokio::test]
async fn anthropic_answers_tool_results() {
    let messages = json!([
        {"role": "user", "content": "weather and time?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": WEATHER, "input": {}}, {"type": "tool_use", "id": "toolu_2", "name": "get_time", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "noon"}, {"type": "text", "text": "UTC"}]}
        ]}
    ]);
    let a = anthropic(json!({"messages": messages, "tools": anthropic_tools()}))
        .await
        .json();
    assert_eq!(
        a["content"],
        json!([{"type": "text", "text": "Tool results: sunny | noon UTC"}])
    );
    assert_eq!(a["stop_reason"], "end_turn");
    let s = anthropic_stream(
        &anthropic(json!({"messages": messages, "tools": anthropic_tools(), "stream": true})).await,
    );
    assert_eq!(s["content"][0]["text"], "Tool results: sunny | noon UTC");
}

#[tokio::test]
async fn anthropic_tool_refusals() {
    let with_tools = |tools: Value| anthropic(json!({"tools": tools}));
    assert!(
        with_tools(json!([{"name": "bad name", "input_schema": {"type": "object"}}]))
            .await
            .error()
            .contains("tools.0.custom.name: String should match pattern")
    );
    assert!(
        with_tools(json!([{"name": "x".repeat(65), "input_schema": {"type": "object"}}]))
            .await
            .error()
            .contains("should match pattern")
    );
    assert!(with_tools(json!([{"name": "f"}]))
        .await
        .error()
        .contains("tools.0.custom.input_schema: Field required"));
    assert!(
        with_tools(json!([{"name": "f", "input_schema": {"type": "array"}}]))
            .await
            .error()
            .contains("input_schema.type: Input should be 'object'")
    );
    assert_eq!(
        with_tools(json!([{"type": "web_search_20250305", "name": "web_search"}]))
            .await
            .status,
        200
    );
    let duplicate = json!([
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"}]}
    ]);
    assert_eq!(
        anthropic(json!({"messages": duplicate})).await.error(),
        "messages.3.content.0: `tool_use` ids must be unique"
    );
    let r = anthropic(json!({"tools": [{"name": "f", "input_schema": {"type": "object"}}]})).await;
    assert_eq!(r.status, 200);
    let bad =
        anthropic(json!({"tools": [{"name": "bad name", "input_schema": {"type": "object"}}]}))
            .await;
    assert_eq!(bad.json()["type"], "error");
    assert_eq!(bad.json()["error"]["type"], "invalid_request_error");
}

// -- images --------------------------------------------------------------------------------

const PNG: &str = "iVBORw0KGgo=";

#[tokio::test]
async fn images_are_described() {
    let content = json!([
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{PNG}")}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"}}
    ]);
    let expected =
        format!("{REPLY} I see 2 image(s): base64 image/png, url https://example.com/cat.jpg");
    let a = chat(json!({"messages": [{"role": "user", "content": content}]}))
        .await
        .json();
    assert_eq!(a["choices"][0]["message"]["content"], expected);
    let (m, _, _) = chat_stream(
        &chat(json!({"messages": [{"role": "user", "content": content}], "stream": true})).await,
    );
    assert_eq!(m["content"], expected);

    let blocks = json!([
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "text", "text": "what is this?"}
    ]);
    let m = anthropic(json!({"messages": [{"role": "user", "content": blocks}]}))
        .await
        .json();
    assert_eq!(m["content"][0]["text"], expected);
    let s = anthropic_stream(
        &anthropic(json!({"messages": [{"role": "user", "content": blocks}], "stream": true}))
            .await,
    );
    assert_eq!(s["content"][0]["text"], expected);
    assert_eq!(s["usage"]["output_tokens"], m["usage"]["output_tokens"]);
}

#[tokio::test]
async fn bad_images_are_refused() {
    let chat_image = |url: &str| {
        chat(
            json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}),
        )
    };
    assert!(chat_image("data:image/bmp;base64,AAAA")
        .await
        .error()
        .contains("unsupported MIME type 'image/bmp'"));
    assert!(chat_image("data:image/png;base64,not base64!")
        .await
        .error()
        .contains("not valid base64"));
    assert!(chat_image("ftp://example.com/a.png")
        .await
        .error()
        .contains("messages[0].content[0].image_url.url"));
    assert_eq!(chat_image("http://example.com/a.png").await.status, 200);
    let in_assistant = json!([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "https://x.y/z.png"}}]}, {"role": "user", "content": "hi"}]);
    assert!(chat(json!({"messages": in_assistant}))
        .await
        .error()
        .contains("only allowed for messages with role 'user'"));

    let image = |source: Value| {
        anthropic(
            json!({"messages": [{"role": "user", "content": [{"type": "image", "source": source}]}]}),
        )
    };
    assert!(
        image(json!({"type": "base64", "media_type": "image/bmp", "data": PNG}))
            .await
            .error()
            .contains("messages.0.content.0.image.source.base64.media_type")
    );
    assert!(
        image(json!({"type": "base64", "media_type": "image/png", "data": "%%%"}))
            .await
            .error()
            .contains("not valid base64")
    );
    assert!(image(json!({"type": "url", "url": "file:///etc/passwd"}))
        .await
        .error()
        .contains("Only HTTP and HTTPS"));
    assert!(image(json!({"type": "file", "file_id": "file_1"}))
        .await
        .error()
        .contains("Input tag 'file'"));
    assert_eq!(
        image(json!({"type": "base64", "media_type": "image/webp", "data": PNG}))
            .await
            .status,
        200
    );
}

// -- structured output ---------------------------------------------------------------------

fn person_schema() -> Value {
    json!({"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "mood": {"type": "string", "enum": ["happy", "sad"]}}, "required": ["name", "age", "mood"], "additionalProperties": false})
}

#[tokio::test]
async fn structured_output_follows_the_schema() {
    let expected = json!({"name": "fake", "age": 1, "mood": "happy"});
    let format = json!({"type": "json_schema", "json_schema": {"name": "person", "schema": person_schema(), "strict": true}});
    let a = chat(json!({"response_format": format})).await.json();
    let text = a["choices"][0]["message"]["content"].as_str().unwrap();
    assert_eq!(serde_json::from_str::<Value>(text).unwrap(), expected);
    let (m, _, _) = chat_stream(&chat(json!({"response_format": format, "stream": true})).await);
    assert_eq!(
        serde_json::from_str::<Value>(m["content"].as_str().unwrap()).unwrap(),
        expected
    );
    assert_eq!(
        chat(json!({"response_format": {"type": "json_object"}}))
            .await
            .json()["choices"][0]["message"]["content"],
        "{}"
    );
    assert_eq!(
        chat(json!({"response_format": {"type": "text"}}))
            .await
            .json()["choices"][0]["message"]["content"],
        REPLY
    );

    let config = json!({"format": {"type": "json_schema", "schema": person_schema()}});
    let m = anthropic(json!({"output_config": config})).await.json();
    assert_eq!(
        serde_json::from_str::<Value>(m["content"][0]["text"].as_str().unwrap()).unwrap(),
        expected
    );
    let s = anthropic_stream(&anthropic(json!({"output_config": config, "stream": true})).await);
    assert_eq!(
        serde_json::from_str::<Value>(s["content"][0]["text"].as_str().unwrap()).unwrap(),
        expected
    );
}

#[tokio::test]
async fn bad_formats_are_refused() {
    assert!(chat(json!({"response_format": {"type": "json_schema", "json_schema": {"schema": person_schema()}}})).await.error().contains("'response_format.json_schema.name'"));
    assert!(chat(json!({"response_format": {"type": "json_schema", "json_schema": {"name": "a person", "schema": person_schema()}}})).await.error().contains("does not match pattern"));
    assert!(chat(json!({"response_format": {"type": "yaml"}}))
        .await
        .error()
        .contains("'yaml'"));
    assert!(
        anthropic(json!({"output_config": {"format": {"type": "json_schema"}}}))
            .await
            .error()
            .contains("output_config.format.schema")
    );
    assert!(anthropic(
        json!({"output_config": {"format": {"type": "json_schema", "schema": "object"}}})
    )
    .await
    .error()
    .contains("output_config.format.schema"));
}

// -- reasoning and thinking ----------------------------------------------------------------

#[tokio::test]
async fn chat_reasoning_is_counted() {
    let a = chat(json!({"reasoning_effort": "high"})).await.json();
    assert_eq!(a["choices"][0]["message"]["content"], REPLY);
    assert_eq!(
        a["usage"]["completion_tokens_details"]["reasoning_tokens"],
        16
    );
    assert_eq!(a["usage"]["completion_tokens"], 21);
    assert_eq!(
        a["usage"]["total_tokens"],
        a["usage"]["prompt_tokens"].as_u64().unwrap() + 21
    );
    let (_, _, usage) = chat_stream(&chat(json!({"reasoning_effort": "low", "stream": true, "stream_options": {"include_usage": true}})).await);
    assert_eq!(
        (
            usage["completion_tokens"].as_u64(),
            usage["completion_tokens_details"]["reasoning_tokens"].as_u64()
        ),
        (Some(21), Some(16))
    );
    for effort in ["none", "minimal"] {
        assert_eq!(
            chat(json!({"reasoning_effort": effort})).await.json()["usage"]
                ["completion_tokens_details"]["reasoning_tokens"],
            0
        );
    }
    assert!(chat(json!({"reasoning_effort": "extreme"}))
        .await
        .error()
        .contains("'extreme'"));
}

#[tokio::test]
async fn anthropic_thinking_comes_first_and_signed() {
    for thinking in [
        json!({"type": "enabled", "budget_tokens": 1024}),
        json!({"type": "adaptive"}),
    ] {
        let a = anthropic(json!({"thinking": thinking})).await.json();
        assert_eq!(
            a["content"],
            json!([{"type": "thinking", "thinking": THINKING, "signature": thinking_signature(THINKING)}, {"type": "text", "text": REPLY}])
        );
        assert_eq!(
            a["usage"]["output_tokens"], 9,
            "the thinking's 4 words and the reply's 5"
        );
    }
    let off = anthropic(json!({"thinking": {"type": "disabled"}}))
        .await
        .json();
    assert_eq!(off["content"], json!([{"type": "text", "text": REPLY}]));

    let s =
        anthropic(json!({"thinking": {"type": "enabled", "budget_tokens": 1024}, "stream": true}))
            .await;
    let evs = s.events();
    assert_eq!(
        evs[1].1["content_block"],
        json!({"type": "thinking", "thinking": "", "signature": ""})
    );
    assert!(count(&s, "thinking_delta") >= 1);
    assert_eq!(count(&s, "signature_delta"), 1);
    let text_start = evs
        .iter()
        .find(|(_, e)| e["content_block"]["type"] == "text")
        .unwrap();
    assert_eq!(text_start.1["index"], 1);
    let m = anthropic_stream(&s);
    assert_eq!(
        m["content"][0],
        json!({"type": "thinking", "thinking": THINKING, "signature": thinking_signature(THINKING)})
    );
    assert_eq!(m["content"][1], json!({"type": "text", "text": REPLY}));
    assert_eq!(m["usage"]["output_tokens"], 9);
}

#[tokio::test]
async fn thinking_refusals() {
    assert!(
        anthropic(json!({"thinking": {"type": "enabled", "budget_tokens": 1000}}))
            .await
            .error()
            .contains("greater than or equal to 1024")
    );
    assert!(anthropic(
        json!({"max_tokens": 1024, "thinking": {"type": "enabled", "budget_tokens": 1024}})
    )
    .await
    .error()
    .contains("`max_tokens` must be greater than `thinking.budget_tokens`"));
    assert!(anthropic(json!({"thinking": {"type": "sometimes"}}))
        .await
        .error()
        .contains("Input tag 'sometimes'"));
    let enabled = json!({"type": "enabled", "budget_tokens": 1024});
    assert!(anthropic(json!({"thinking": enabled, "temperature": 0.5}))
        .await
        .error()
        .contains("`temperature` may only be set to 1"));
    assert_eq!(
        anthropic(json!({"thinking": enabled, "temperature": 1}))
            .await
            .status,
        200
    );
    assert!(anthropic(json!({"thinking": enabled, "top_k": 5}))
        .await
        .error()
        .contains("`top_k`"));
    let forced = anthropic(
        json!({"thinking": enabled, "tools": anthropic_tools(), "tool_choice": {"type": "any"}}),
    )
    .await
    .error();
    assert_eq!(
        forced,
        "Thinking may not be enabled when tool_choice forces tool use."
    );
    assert_eq!(anthropic(json!({"thinking": {"type": "adaptive"}, "tools": anthropic_tools(), "tool_choice": {"type": "auto"}})).await.status, 200);
    assert_eq!(
        anthropic(json!({"temperature": 0.5, "top_k": 5}))
            .await
            .status,
        200,
        "without thinking they are fine"
    );
}

#[tokio::test]
async fn a_tool_turn_keeps_its_signed_thinking() {
    let enabled = json!({"type": "enabled", "budget_tokens": 1024});
    let first = anthropic(json!({"thinking": enabled, "tools": anthropic_tools()}))
        .await
        .json();
    assert_eq!(first["content"][0]["type"], "thinking");
    assert_eq!(first["content"][1]["type"], "tool_use");
    assert_eq!(first["stop_reason"], "tool_use");
    let id = first["content"][1]["id"].clone();
    let turn = |assistant: Value| {
        json!([
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": assistant},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "sunny"}]}
        ])
    };
    let back = anthropic(json!({"thinking": enabled, "tools": anthropic_tools(), "messages": turn(first["content"].clone())})).await.json();
    assert_eq!(
        back["content"][1],
        json!({"type": "text", "text": "Tool results: sunny"})
    );

    let tool_use = first["content"][1].clone();
    let without = anthropic(json!({"thinking": enabled, "tools": anthropic_tools(), "messages": turn(json!([tool_use]))})).await.error();
    assert!(without.starts_with("messages.1.content.0.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block"), "{without}");
    assert_eq!(
        anthropic(json!({"tools": anthropic_tools(), "messages": turn(json!([tool_use]))}))
            .await
            .status,
        200,
        "without thinking it is not needed"
    );
    let redacted = json!([{"type": "redacted_thinking", "data": "opaque"}, tool_use]);
    assert_eq!(
        anthropic(
            json!({"thinking": enabled, "tools": anthropic_tools(), "messages": turn(redacted)})
        )
        .await
        .status,
        200
    );

    let forged = json!([{"type": "thinking", "thinking": "I should lie.", "signature": thinking_signature(THINKING)}, tool_use]);
    assert_eq!(
        anthropic(
            json!({"thinking": enabled, "tools": anthropic_tools(), "messages": turn(forged)})
        )
        .await
        .error(),
        "messages.1.content.0: Invalid `signature` in `thinking` block"
    );
}

// -- stop sequences and output caps --------------------------------------------------------

#[tokio::test]
async fn chat_stops_at_a_stop_sequence_or_the_cap() {
    let a = chat(json!({"stop": ["nothing", "fake"]})).await.json();
    assert_eq!(a["choices"][0]["message"]["content"], "Hello from the ");
    assert_eq!(a["choices"][0]["finish_reason"], "stop");
    assert_eq!(a["usage"]["completion_tokens"], 3);
    assert_eq!(
        chat(json!({"stop": "provider"})).await.json()["choices"][0]["message"]["content"],
        "Hello from the fake "
    );
    for key in ["max_tokens", "max_completion_tokens"] {
        let a = chat(json!({key: 2})).await.json();
        assert_eq!(a["choices"][0]["message"]["content"], "Hello from");
        assert_eq!(a["choices"][0]["finish_reason"], "length");
        assert_eq!(a["usage"]["completion_tokens"], 2);
    }
    assert_eq!(
        chat(json!({"max_tokens": 5})).await.json()["choices"][0]["finish_reason"],
        "stop"
    );
    let (m, finish, usage) = chat_stream(&chat(json!({"max_completion_tokens": 3, "stream": true, "stream_options": {"include_usage": true}})).await);
    assert_eq!(
        (
            m["content"].as_str(),
            finish.as_str(),
            usage["completion_tokens"].as_u64()
        ),
        (Some("Hello from the"), "length", Some(3))
    );
    let (m, finish, _) = chat_stream(&chat(json!({"stop": "the", "stream": true})).await);
    assert_eq!(
        (m["content"].as_str(), finish.as_str()),
        (Some("Hello from "), "stop")
    );
    assert!(chat(json!({"stop": ["a", "b", "c", "d", "e"]}))
        .await
        .error()
        .contains("maximum length 4"));
    assert!(chat(json!({"stop": 3})).await.error().contains("'stop'"));
}

#[tokio::test]
async fn anthropic_stops_at_a_stop_sequence_or_max_tokens() {
    let a = anthropic(json!({"stop_sequences": ["fake"]})).await.json();
    assert_eq!(
        a["content"],
        json!([{"type": "text", "text": "Hello from the "}])
    );
    assert_eq!(
        (a["stop_reason"].as_str(), a["stop_sequence"].as_str()),
        (Some("stop_sequence"), Some("fake"))
    );
    assert_eq!(a["usage"]["output_tokens"], 3);
    let s = anthropic_stream(&anthropic(json!({"stop_sequences": ["fake"], "stream": true})).await);
    assert_eq!(
        (
            s["content"][0]["text"].as_str(),
            s["stop_reason"].as_str(),
            s["stop_sequence"].as_str()
        ),
        (Some("Hello from the "), Some("stop_sequence"), Some("fake"))
    );

    let a = anthropic(json!({"max_tokens": 3})).await.json();
    assert_eq!(
        a["content"],
        json!([{"type": "text", "text": "Hello from the"}])
    );
    assert_eq!(
        (a["stop_reason"].as_str(), a["stop_sequence"].clone()),
        (Some("max_tokens"), Value::Null)
    );
    assert_eq!(a["usage"]["output_tokens"], 3);
    let s = anthropic_stream(&anthropic(json!({"max_tokens": 3, "stream": true})).await);
    assert_eq!(
        (
            s["content"][0]["text"].as_str(),
            s["stop_reason"].as_str(),
            s["usage"]["output_tokens"].as_u64()
        ),
        (Some("Hello from the"), Some("max_tokens"), Some(3))
    );
    assert_eq!(
        anthropic(json!({"max_tokens": 5})).await.json()["stop_reason"],
        "end_turn"
    );
    assert!(anthropic(json!({"stop_sequences": "fake"}))
        .await
        .error()
        .contains("stop_sequences"));
}

// -- cached tokens -------------------------------------------------------------------------

#[tokio::test]
async fn cached_tokens_are_reported() {
    let state = || Arc::new(FakeState::default());
    let body = json!({"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}]});
    let a = call_on(state(), Api::Chat, body.clone(), Some("cached_in=40"))
        .await
        .json();
    assert_eq!(a["usage"]["prompt_tokens"], 42);
    assert_eq!(a["usage"]["prompt_tokens_details"]["cached_tokens"], 40);
    assert_eq!(a["usage"]["total_tokens"], 47);
    let streamed = merged(
        json!({"model": "gpt-x@cached_in=40", "stream": true, "stream_options": {"include_usage": true}}),
        json!({"messages": body["messages"]}),
    );
    let (_, _, usage) = chat_stream(&call(Api::Chat, streamed).await);
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["prompt_tokens_details"]["cached_tokens"].as_u64()
        ),
        (Some(42), Some(40))
    );

    let body = json!({"model": "claude-x", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]});
    let m = call_on(state(), Api::Messages, body.clone(), Some("cached_in=40"))
        .await
        .json();
    assert_eq!(
        m["usage"],
        json!({"input_tokens": 2, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 40})
    );
    let s = call_on(
        state(),
        Api::Messages,
        merged(body, json!({"stream": true})),
        Some("cached_in=40,usage_in=7"),
    )
    .await;
    let evs = s.events();
    assert_eq!(
        evs[0].1["message"]["usage"],
        json!({"input_tokens": 7, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 40})
    );
    let delta = &evs
        .iter()
        .find(|(n, _)| n.as_deref() == Some("message_delta"))
        .unwrap()
        .1;
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 7, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 40})
    );
}
