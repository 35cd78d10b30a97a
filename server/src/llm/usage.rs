//! Token usage, response model and finish reasons, read from provider responses and streams.
//!
//! Input tokens are normalised to include cached ones on every provider (Anthropic reports
//! cache reads and writes apart from `input_tokens`; OpenAI includes them), so that cost and
//! budgets see one meaning.

use serde::Deserialize;

use crate::sse::SseEvent;
use super::Api;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input: Option<u64>,
    pub output: Option<u64>,
    pub cached_input: Option<u64>,
    pub reasoning: Option<u64>,
}

impl Usage {
    pub fn is_known(&self) -> bool {
        self.input.is_some() || self.output.is_some()
    }
}

/// What Weir learns from a response, whole or streamed.
#[derive(Debug, Clone, Default)]
pub struct ResponseFacts {
    pub usage: Usage,
    pub model: Option<String>,
    pub id: Option<String>,
    pub finish_reasons: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct OpenAiUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    prompt_tokens_details: Option<Details>,
    completion_tokens_details: Option<Details>,
    input_tokens_details: Option<Details>,
    output_tokens_details: Option<Details>,
}

#[derive(Debug, Default, Deserialize)]
struct Details {
    cached_tokens: Option<u64>,
    reasoning_tokens: Option<u64>,
}

impl OpenAiUsage {
    fn normalise(&self, embeddings: bool) -> Usage {
        let input = self.prompt_tokens.or(self.input_tokens);
        let output = self.completion_tokens.or(self.output_tokens).or(if embeddings { Some(0) } else { None });
        let cached = self
            .prompt_tokens_details
            .as_ref()
            .or(self.input_tokens_details.as_ref())
            .and_then(|d| d.cached_tokens);
        let reasoning = self
            .completion_tokens_details
            .as_ref()
            .or(self.output_tokens_details.as_ref())
            .and_then(|d| d.reasoning_tokens);
        Usage { input, output, cached_input: cached, reasoning }
    }
}

#[derive(Debug, Default, Deserialize)]
struct AnthropicUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl AnthropicUsage {
    /// Merges into `usage`: fields present here replace earlier ones (`message_delta` counts
    /// are cumulative).
    fn merge_into(&self, usage: &mut Usage) {
        if self.input_tokens.is_some() || self.cache_creation_input_tokens.is_some() || self.cache_read_input_tokens.is_some() {
            let fresh = self.input_tokens.unwrap_or(0);
            let created = self.cache_creation_input_tokens.unwrap_or(0);
            let read = self.cache_read_input_tokens.unwrap_or(0);
            // A later event may repeat only some fields; keep what it does not restate.
            let prev_read = usage.cached_input.unwrap_or(0);
            let read = if self.cache_read_input_tokens.is_some() { read } else { prev_read };
            usage.input = Some(fresh + created + read);
            usage.cached_input = Some(read);
        }
        if let Some(o) = self.output_tokens {
            usage.output = Some(o);
        }
    }
}

// -- whole (non-streaming) responses ----------------------------------------------------------

#[derive(Deserialize)]
struct OpenAiBody {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<OpenAiChoice>,
    usage: Option<OpenAiUsage>,
    /// Responses API.
    status: Option<String>,
    incomplete_details: Option<IncompleteDetails>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct IncompleteDetails {
    reason: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicBody {
    id: Option<String>,
    model: Option<String>,
    stop_reason: Option<String>,
    usage: Option<AnthropicUsage>,
}

/// Facts from a whole JSON response body; `None` when it is not the JSON expected.
pub fn from_body(api: Api, body: &[u8]) -> Option<ResponseFacts> {
    match api {
        Api::Messages => {
            let b: AnthropicBody = serde_json::from_slice(body).ok()?;
            let mut usage = Usage::default();
            if let Some(u) = &b.usage {
                u.merge_into(&mut usage);
            }
            Some(ResponseFacts { usage, model: b.model, id: b.id, finish_reasons: b.stop_reason.into_iter().collect() })
        }
        Api::Chat | Api::Responses | Api::Embeddings => {
            let b: OpenAiBody = serde_json::from_slice(body).ok()?;
            let usage = b.usage.as_ref().map(|u| u.normalise(api == Api::Embeddings)).unwrap_or_default();
            let mut finish_reasons: Vec<String> = b.choices.into_iter().filter_map(|c| c.finish_reason).collect();
            if api == Api::Responses {
                if let Some(r) = b.incomplete_details.and_then(|d| d.reason) {
                    finish_reasons.push(r);
                } else if let Some(s) = b.status {
                    finish_reasons.push(s);
                }
            }
            Some(ResponseFacts { usage, model: b.model, id: b.id, finish_reasons })
        }
    }
}

// -- streams ----------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ChatChunk {
    id: Option<String>,
    model: Option<String>,
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<OpenAiUsage>,
    /// Set in the error a provider sends in place of a chunk when a stream fails midway.
    error: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    delta: Option<ChunkDelta>,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChunkDelta {
    content: Option<String>,
    #[serde(default)]
    tool_calls: Vec<ToolCallDelta>,
}

#[derive(Deserialize)]
struct ToolCallDelta {
    function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
struct FunctionDelta {
    arguments: Option<String>,
}

#[derive(Deserialize)]
struct ResponsesEvent {
    #[serde(rename = "type")]
    ty: String,
    delta: Option<serde_json::Value>,
    response: Option<OpenAiBody>,
}

#[derive(Deserialize)]
struct AnthropicEvent {
    #[serde(rename = "type")]
    ty: String,
    message: Option<AnthropicBody>,
    delta: Option<AnthropicDelta>,
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicDelta {
    text: Option<String>,
    partial_json: Option<String>,
    thinking: Option<String>,
    stop_reason: Option<String>,
}

/// Text kept from a stream for estimating output tokens when usage never arrives.
const MAX_KEPT_TEXT: usize = 1 << 20;

/// Follows a stream event by event.
#[derive(Debug)]
pub struct StreamObserver {
    api: Api,
    pub facts: ResponseFacts,
    /// Output text seen so far (capped), for estimation.
    pub text: String,
    /// The provider said the response is complete.
    pub completed: bool,
    /// The provider reported an error inside the stream.
    pub error: Option<String>,
}

impl StreamObserver {
    pub fn new(api: Api) -> Self {
        Self { api, facts: ResponseFacts::default(), text: String::new(), completed: false, error: None }
    }

    fn keep_text(&mut self, s: &str) {
        if self.text.len() < MAX_KEPT_TEXT {
            self.text.push_str(s);
        }
    }

    /// Reads one event. Returns true when the event is OpenAI's usage-only chunk (no choices),
    /// which the relay drops when Weir, not the client, asked for it.
    pub fn observe(&mut self, ev: &SseEvent) -> bool {
        if ev.data.is_empty() {
            return false;
        }
        match self.api {
            Api::Chat => {
                if ev.data == "[DONE]" {
                    self.completed = true;
                    return false;
                }
                let c = match serde_json::from_str::<ChatChunk>(&ev.data) {
                    Ok(c) if c.error.is_none() => c,
                    Ok(_) => {
                        self.error = Some(error_text(&ev.data));
                        return false;
                    }
                    Err(_) => {
                        if ev.data.contains("\"error\"") {
                            self.error = Some(error_text(&ev.data));
                        }
                        return false;
                    }
                };
                if self.facts.id.is_none() {
                    self.facts.id = c.id;
                }
                if c.model.is_some() {
                    self.facts.model = c.model;
                }
                let usage_only = c.choices.is_empty() && c.usage.is_some();
                for ch in &c.choices {
                    if let Some(d) = &ch.delta {
                        if let Some(t) = &d.content {
                            self.keep_text(t);
                        }
                        for tc in &d.tool_calls {
                            if let Some(a) = tc.function.as_ref().and_then(|f| f.arguments.as_deref()) {
                                self.keep_text(a);
                            }
                        }
                    }
                    if let Some(r) = &ch.finish_reason {
                        self.facts.finish_reasons.push(r.clone());
                    }
                }
                if let Some(u) = &c.usage {
                    self.facts.usage = u.normalise(false);
                }
                usage_only
            }
            Api::Responses => {
                let Ok(e) = serde_json::from_str::<ResponsesEvent>(&ev.data) else { return false };
                match e.ty.as_str() {
                    "response.output_text.delta" | "response.function_call_arguments.delta" | "response.reasoning_summary_text.delta" => {
                        if let Some(serde_json::Value::String(d)) = &e.delta {
                            self.keep_text(d);
                        }
                    }
                    "response.created" | "response.in_progress" => {
                        if let Some(r) = e.response {
                            self.facts.id = r.id.or(self.facts.id.take());
                            self.facts.model = r.model.or(self.facts.model.take());
                        }
                    }
                    "response.completed" | "response.incomplete" | "response.failed" => {
                        self.completed = true;
                        if let Some(r) = e.response {
                            if let Some(u) = &r.usage {
                                self.facts.usage = u.normalise(false);
                            }
                            self.facts.id = r.id.or(self.facts.id.take());
                            self.facts.model = r.model.or(self.facts.model.take());
                            if let Some(reason) = r.incomplete_details.and_then(|d| d.reason) {
                                self.facts.finish_reasons.push(reason);
                            } else if let Some(s) = r.status {
                                self.facts.finish_reasons.push(s);
                            }
                        }
                        if e.ty == "response.failed" {
                            self.error = Some("response.failed".into());
                        }
                    }
                    "error" => self.error = Some(error_text(&ev.data)),
                    _ => {}
                }
                false
            }
            Api::Messages => {
                let Ok(e) = serde_json::from_str::<AnthropicEvent>(&ev.data) else { return false };
                match e.ty.as_str() {
                    "message_start" => {
                        if let Some(m) = e.message {
                            self.facts.id = m.id;
                            self.facts.model = m.model;
                            if let Some(u) = &m.usage {
                                u.merge_into(&mut self.facts.usage);
                            }
                        }
                    }
                    "content_block_delta" => {
                        if let Some(d) = &e.delta {
                            for t in [&d.text, &d.partial_json, &d.thinking].into_iter().flatten() {
                                self.keep_text(t);
                            }
                        }
                    }
                    "message_delta" => {
                        if let Some(r) = e.delta.and_then(|d| d.stop_reason) {
                            self.facts.finish_reasons.push(r);
                        }
                        if let Some(u) = &e.usage {
                            u.merge_into(&mut self.facts.usage);
                        }
                    }
                    "message_stop" => self.completed = true,
                    "error" => self.error = Some(error_text(&ev.data)),
                    _ => {}
                }
                false
            }
            Api::Embeddings => false,
        }
    }
}

/// A stream's error event as kept for the record: its secrets removed before it is cut (a
/// secret cut in two would no longer be recognised).
fn error_text(data: &str) -> String {
    crate::audit::scrub_text(data).chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseSplitter;

    fn observe_all(api: Api, stream: &str) -> (StreamObserver, Vec<bool>) {
        let mut s = SseSplitter::default();
        let mut evs = Vec::new();
        s.push(stream.as_bytes(), &mut evs).unwrap();
        let mut o = StreamObserver::new(api);
        let flags = evs.iter().map(|e| o.observe(e)).collect();
        (o, flags)
    }

    #[test]
    fn openai_chat_body() {
        let body = br#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":1}}}"#;
        let f = from_body(Api::Chat, body).unwrap();
        assert_eq!(f.usage, Usage { input: Some(12), output: Some(3), cached_input: Some(4), reasoning: Some(1) });
        assert_eq!(f.model.as_deref(), Some("gpt-4o-mini-2024-07-18"));
        assert_eq!(f.finish_reasons, vec!["stop"]);
    }

    #[test]
    fn responses_and_embeddings_bodies() {
        let body = br#"{"id":"resp_1","object":"response","status":"completed","model":"gpt-4.1","output":[],"usage":{"input_tokens":20,"input_tokens_details":{"cached_tokens":0},"output_tokens":7,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":27}}"#;
        let f = from_body(Api::Responses, body).unwrap();
        assert_eq!(f.usage, Usage { input: Some(20), output: Some(7), cached_input: Some(0), reasoning: Some(2) });
        assert_eq!(f.finish_reasons, vec!["completed"]);
        let body = br#"{"object":"list","data":[],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}}"#;
        let f = from_body(Api::Embeddings, body).unwrap();
        assert_eq!(f.usage.input, Some(8));
        assert_eq!(f.usage.output, Some(0));
    }

    #[test]
    fn anthropic_body_counts_cache_in_input() {
        let body = br#"{"id":"msg_1","type":"message","model":"claude-sonnet-4-5","stop_reason":"end_turn","usage":{"input_tokens":10,"cache_creation_input_tokens":5,"cache_read_input_tokens":20,"output_tokens":9}}"#;
        let f = from_body(Api::Messages, body).unwrap();
        assert_eq!(f.usage, Usage { input: Some(35), output: Some(9), cached_input: Some(20), reasoning: None });
        assert_eq!(f.finish_reasons, vec!["end_turn"]);
        assert!(from_body(Api::Messages, b"not json").is_none());
    }

    #[test]
    fn an_error_in_place_of_a_chunk_fails_the_stream() {
        let stream = concat!(
            "data: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n",
            "data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
        );
        let (o, _) = observe_all(Api::Chat, stream);
        assert!(o.error.as_deref().is_some_and(|e| e.contains("The server had an error")), "{:?}", o.error);
        let (o, _) = observe_all(Api::Chat, "data: {\"id\":\"c1\",\"choices\":[],\"usage\":null}\n\n");
        assert!(o.error.is_none());
    }

    #[test]
    fn a_secret_in_a_stream_error_is_removed_before_the_error_is_cut() {
        let _turn = crate::audit::KNOWN_SET.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        crate::audit::set_known_secrets(["provider-key-straddling-0123".to_string()]);
        let message = format!("{}provider-key-straddling-0123 more", "x".repeat(470));
        let stream = format!("event: error\ndata: {}\n\n", serde_json::json!({"type": "error", "error": {"type": "api_error", "message": message}}));
        let (o, _) = observe_all(Api::Messages, &stream);
        crate::audit::set_known_secrets(Vec::new());
        let kept = o.error.unwrap();
        assert!(!kept.contains("provider-key-strad"), "{kept}");
        assert!(kept.len() <= 500);
    }

    #[test]
    fn openai_stream_usage_chunk_is_flagged() {
        let stream = concat!(
            "data: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}\n\n",
            "data: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}],\"usage\":null}\n\n",
            "data: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n",
            "data: {\"id\":\"c1\",\"model\":\"gpt-x\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2,\"total_tokens\":7}}\n\n",
            "data: [DONE]\n\n"
        );
        let (o, flags) = observe_all(Api::Chat, stream);
        assert_eq!(flags, vec![false, false, false, true, false]);
        assert_eq!(o.facts.usage.input, Some(5));
        assert_eq!(o.facts.usage.output, Some(2));
        assert_eq!(o.facts.finish_reasons, vec!["stop"]);
        assert_eq!(o.text, "Hello");
        assert!(o.completed);
    }

    #[test]
    fn anthropic_stream_start_plus_cumulative_delta() {
        let stream = concat!(
            "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\",\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":5,\"output_tokens\":1}}}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi there\"}}\n\n",
            "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\n\n",
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
        let (o, _) = observe_all(Api::Messages, stream);
        assert_eq!(o.facts.usage, Usage { input: Some(30), output: Some(15), cached_input: Some(5), reasoning: None });
        assert_eq!(o.facts.model.as_deref(), Some("claude-x"));
        assert_eq!(o.text, "Hi there");
        assert!(o.completed);
    }

    #[test]
    fn responses_stream_completed_event() {
        let stream = concat!(
            "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4.1\",\"status\":\"in_progress\"}}\n\n",
            "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hey\"}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_1\",\"model\":\"gpt-4.1\",\"status\":\"completed\",\"usage\":{\"input_tokens\":11,\"output_tokens\":4}}}\n\n"
        );
        let (o, _) = observe_all(Api::Responses, stream);
        assert_eq!(o.facts.usage.input, Some(11));
        assert_eq!(o.facts.usage.output, Some(4));
        assert_eq!(o.facts.id.as_deref(), Some("resp_1"));
        assert_eq!(o.text, "Hey");
        assert!(o.completed);
    }

    #[test]
    fn cut_stream_has_no_usage() {
        let stream = "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"par\"},\"finish_reason\":null}]}\n\n";
        let (o, _) = observe_all(Api::Chat, stream);
        assert!(!o.facts.usage.is_known());
        assert!(!o.completed);
        assert_eq!(o.text, "par");
    }
}
