//! Stage 4b of a call: the response cache. After the call was admitted (a spent budget refuses
//! a cached answer as it refuses any other), an answer stored for the same key is served
//! instead of calling a provider: through the requesting agent's current response guardrails,
//! as JSON or as a stream as the client asked, the reservation released in full (a hit costs
//! no provider tokens). On a miss the call goes on, carrying what is needed to store its
//! answer once it is complete.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::request::Parts;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::error::{ErrorKind, LlmError};
use super::failover::Answer;
use super::pipeline::{LlmCall, Parsed};
use super::record::Ending;
use super::{usage, Api};
use crate::cache::assemble::Assembler;
use crate::cache::embed::Vector;
use crate::cache::semantic::{Group, Question, SemanticCache};
use crate::cache::verify::{verify, Signature};
use crate::cache::{replay, CacheKey, CacheStore, ClientDirectives, Entry};
use crate::config::cache::CachePolicy;
use crate::config::{Model, Price};
use crate::sse::{SseEvent, SseSplitter};
use crate::state::{AppState, Runtime};

/// The header that says what the cache did (`hit`, `semantic-hit`, `miss`, `bypass`).
pub const CACHE_HEADER: HeaderName = HeaderName::from_static("x-weir-cache");
/// On a semantic hit: how similar the stored question was (cosine, 0 to 1).
pub const SIMILARITY_HEADER: HeaderName = HeaderName::from_static("x-weir-cache-similarity");

/// A stored answer's text as the bytes of a response body.
struct StoredBody(Arc<Entry>);

impl AsRef<[u8]> for StoredBody {
    fn as_ref(&self) -> &[u8] {
        self.0.body.as_bytes()
    }
}

/// An embeddings model Weir routes (`[cache.semantic] embeddings_model`): questions are
/// embedded through `/v1/embeddings` at its first target (by priority), within the lookup
/// timeout; a provider that fails or is slow leaves the question uncached, never the call failed.
pub struct RoutedEmbedder {
    rt: Arc<crate::state::Runtime>,
    provider: String,
    model: String,
}

impl RoutedEmbedder {
    /// The named model's first target, if it is an OpenAI-style provider.
    pub fn new(rt: Arc<crate::state::Runtime>, name: &str) -> Option<Self> {
        let target = rt.config.models.iter().find(|m| m.name == name)?.targets.iter().min_by_key(|t| t.priority)?.clone();
        let provider = rt.config.providers.get(&target.provider)?;
        (provider.kind == crate::config::ProviderKind::Openai).then(|| Self { provider: target.provider.clone(), model: target.model, rt: Arc::clone(&rt) })
    }

    /// Which model embeds: the provider and its model's name there.
    pub fn id(&self) -> String {
        format!("routed:{}/{}", self.provider, self.model)
    }

    /// The question's unit vector, quantised (`None` when the provider did not give one in time).
    pub async fn embed(&self, text: &str, timeout: Duration) -> Option<Vector> {
        #[derive(serde::Deserialize)]
        struct Answer {
            data: Vec<Item>,
        }
        #[derive(serde::Deserialize)]
        struct Item {
            embedding: Vec<f32>,
        }
        let provider = self.rt.config.providers.get(&self.provider)?;
        let transport = self.rt.transports.get(&self.provider)?;
        let body = serde_json::to_vec(&serde_json::json!({"model": self.model, "input": text})).ok()?;
        let mut headers = super::upstream::upstream_headers(&axum::http::HeaderMap::new(), provider, None);
        headers.insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("application/json"));
        let path = super::upstream::endpoint_path(provider, Api::Embeddings);
        let call = async {
            let r = transport.post(path, None, headers, bytes::Bytes::from(body)).await.ok()?;
            if !r.status.is_success() {
                return None;
            }
            let raw = r.body.collect(1 << 20).await.ok()?;
            serde_json::from_slice::<Answer>(&raw).ok()?.data.into_iter().next()
        };
        let v = match tokio::time::timeout(timeout, call).await {
            Ok(Some(item)) => item.embedding,
            _ => {
                tracing::warn!(model = %self.model, "semantic cache: the embeddings model gave no vector in time; the question is not cached");
                return None;
            }
        };
        // A vector longer than any embeddings model gives is not one.
        if v.is_empty() || v.len() > 8192 {
            return None;
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        (norm > 0.0 && norm.is_finite()).then(|| crate::cache::embed::quantise(&v.iter().map(|x| x / norm).collect::<Vec<_>>()))
    }
}

/// A call's question for the semantic cache: where it is compared, its text, and its vector
/// once computed.
#[derive(Clone)]
pub struct PendingQuestion {
    pub cache: Arc<SemanticCache>,
    pub group: Group,
    pub text: String,
    pub vector: Option<Vector>,
    /// The embeddings model Weir routes that embeds it, when the config names one.
    pub routed: Option<Arc<RoutedEmbedder>>,
    /// How long embedding through it may take.
    pub timeout: Duration,
}

impl PendingQuestion {
    /// The question's vector: by the routed embeddings model, or by the local one.
    async fn vector(&self) -> Option<Vector> {
        match &self.routed {
            Some(r) => r.embed(&self.text, self.timeout).await,
            None => self.cache.embed(&self.text),
        }
    }
}

/// What a call that missed needs to store its answer.
pub struct CacheFill {
    pub key: CacheKey,
    pub ttl: Duration,
    pub store: Arc<dyn CacheStore>,
    pub max_entry_bytes: usize,
    pub price: Option<Price>,
    /// Whether the answer may be stored (not under `Cache-Control: no-store`).
    pub storable: bool,
    /// What the client is told (`miss`, `bypass`).
    pub outcome: &'static str,
    /// How long storing may hold the answer's end.
    pub put_timeout: Duration,
    /// The question, when the semantic cache is on for the call.
    pub semantic: Option<PendingQuestion>,
}

impl CacheFill {
    /// Stores a complete answer the client got. The returned put is awaited before the answer's
    /// last bytes go out, so the client's next call finds it (a store in memory puts at once; one
    /// in Redis takes a round trip, bounded by the lookup timeout: a store that does not answer
    /// in time keeps nothing).
    pub fn store(&self, api: Api, body: &[u8], origin: &str, facts: &usage::ResponseFacts) -> Option<PendingPut> {
        if !self.storable || body.len() > self.max_entry_bytes || !complete(api, body) {
            return None;
        }
        let body = std::str::from_utf8(body).ok()?;
        let u = &facts.usage;
        let entry = Entry {
            api,
            body: body.to_string(),
            origin: origin.to_string(),
            input_tokens: u.input.unwrap_or(0),
            output_tokens: u.output.unwrap_or(0),
            cost_usd: self.price.map_or(0.0, |p| p.cost(u.input.unwrap_or(0), u.cached_input.unwrap_or(0), u.output.unwrap_or(0))),
            stored_at: crate::store::now_ms(),
            model: facts.model.clone(),
            id: facts.id.clone(),
            finish_reasons: facts.finish_reasons.clone(),
        };
        let (store, key, ttl, bound) = (Arc::clone(&self.store), self.key.clone(), self.ttl, self.put_timeout);
        // The question is indexed once its answer is stored (a replica that finds it can read
        // the answer); its vector is computed then if the lookup did not.
        let question = self.semantic.as_ref().map(|q| {
            (q.clone(), Question { digest: key.digest, text: q.text.as_str().into() })
        });
        Some(Box::pin(async move {
            if tokio::time::timeout(bound, store.put(&key, entry, ttl)).await.is_err() {
                tracing::warn!("response cache: the store did not take an answer in time; it is not kept");
                return;
            }
            if let Some((fill, question)) = question {
                // Indexed here at once (the client's next call finds it); appended for the other
                // replicas, and embedded by a routed model, in the background: the client does
                // not wait for either.
                let local = fill.vector.clone().or_else(|| if fill.routed.is_none() { fill.cache.embed(&fill.text) } else { None });
                match local {
                    Some(vector) => {
                        fill.cache.insert(fill.group.clone(), question.clone(), &vector);
                        tokio::spawn(async move { fill.cache.share(&fill.group, &question, &vector, ttl, bound).await });
                    }
                    None => {
                        tokio::spawn(async move {
                            if let Some(vector) = fill.vector().await {
                                fill.cache.add(fill.group, question, vector, ttl, bound).await;
                            }
                        });
                    }
                }
            }
        }))
    }
}

/// Whether an answer stored at `stored_at` (ms) is within `ttl` at `now`; one stored more than a
/// minute ahead of `now` is not.
fn fresh(stored_at: i64, now: i64, ttl: Duration) -> bool {
    let age = now.saturating_sub(stored_at);
    age >= -60_000 && u128::try_from(age.max(0)).unwrap_or(u128::MAX) <= ttl.as_millis()
}

/// A put under way.
pub type PendingPut = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Whether a whole answer is one to keep: an answer of its protocol that completed — not an
/// error body sent with 200, not a responses answer `incomplete` or `failed`, not a choice that
/// ended in error, cut at its token bound or stopped by the provider's content filter (a
/// messages answer likewise: `max_tokens`, `refusal`).
fn complete(api: Api, body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Shape<'a> {
        #[serde(borrow)]
        status: Option<&'a str>,
        #[serde(borrow, rename = "type")]
        ty: Option<&'a str>,
        #[serde(borrow)]
        stop_reason: Option<&'a str>,
        error: Option<serde::de::IgnoredAny>,
        choices: Option<Vec<Choice<'a>>>,
        data: Option<serde::de::IgnoredAny>,
    }
    #[derive(serde::Deserialize)]
    struct Choice<'a> {
        #[serde(borrow)]
        finish_reason: Option<&'a str>,
    }
    let Ok(s) = serde_json::from_slice::<Shape<'_>>(body) else { return false };
    if s.error.is_some() {
        return false;
    }
    match api {
        Api::Responses => s.status == Some("completed"),
        Api::Messages => s.ty == Some("message") && s.stop_reason.is_none_or(|r| !matches!(r, "max_tokens" | "refusal" | "model_context_window_exceeded")),
        Api::Chat => s.choices.is_some_and(|c| !c.is_empty() && c.iter().all(|c| c.finish_reason.is_some_and(|f| !matches!(f, "error" | "length" | "content_filter")))),
        Api::Embeddings => s.data.is_some(),
    }
}

impl LlmCall {
    /// Stage 4b: the cached answer for this call, if the cache is on for it and holds one.
    /// Otherwise the call carries what it needs to store its answer.
    pub async fn cache_lookup(&mut self, state: &AppState, rt: &Runtime, model: &Model, parts: &Parts, parsed: &Parsed<'_>) -> Result<Option<Answer>, LlmError> {
        let cfg = &rt.config.cache;
        let agent = &self.principal;
        let Some(CachePolicy { ttl, semantic }) = cfg.setting_for(&model.name, &agent.agent_name, state.cache.stored(&agent.agent_id, &model.name)) else { return Ok(None) };
        let directives = ClientDirectives::from_headers(&parts.headers);
        let user = self.rec.end_user();
        // What else of the request a provider answers differently to: the configured headers
        // (an absent one and an empty one told apart) and the query string.
        let absent: &[u8] = b"\0absent";
        let mut vary: Vec<&[u8]> = cfg.vary_headers.iter().map(|h| parts.headers.get(h).map_or(absent, |v| v.as_bytes())).collect();
        vary.push(parts.uri.query().unwrap_or("").as_bytes());
        let key = CacheKey::with_request(cfg, self.client, &model.name, &agent.agent_id, &agent.agent_name, user.as_deref(), &parsed.json, &vary);
        let mut question = semantic
            .then(|| match &cfg.semantic.embeddings_model {
                // An embeddings model the config names but Weir cannot reach as one: exact only.
                Some(name) => RoutedEmbedder::new(state.runtime.load_full(), name).map(|r| Some(Arc::new(r))),
                None => Some(None),
            })
            .flatten()
            .and_then(|routed| {
                // Questions embedded by one model are compared only with questions embedded by
                // it: the model is part of the group — for a routed name, the provider's model it
                // stands for now (a name pointed at another model starts a group of its own).
                let embedder = routed.as_ref().map_or_else(|| state.cache.semantic.local_model().to_string(), |r| r.id());
                let mut with_embedder = vary.clone();
                with_embedder.push(embedder.as_bytes());
                let (group, text, signature) = key.question(cfg, self.client, user.as_deref(), &parsed.json, &with_embedder, cfg.semantic.max_prompt_bytes)?;
                Some((PendingQuestion { cache: Arc::clone(&state.cache.semantic), group, text, vector: None, routed, timeout: cfg.lookup_timeout }, signature))
            });
        let store = Arc::clone(&state.cache.store);
        if directives.lookup {
            let streamed = parsed.json.get::<bool>("stream") == Some(true);
            let include_usage = || parsed.json.get::<serde_json::Value>("stream_options").is_some_and(|o| o.get("include_usage").and_then(serde_json::Value::as_bool) == Some(true));
            let found = tokio::time::timeout(cfg.lookup_timeout, store.get(&key)).await.ok().flatten();
            if let Some(entry) = found.filter(|e| self.servable(e, ttl)) {
                return self.serve_hit(entry, streamed.then(include_usage), None).await.map(Some);
            }
            if let Some((q, signature)) = &mut question {
                // The whole semantic lookup (embedding, index, the candidates' answers) within
                // twice the lookup timeout: past it, a miss.
                if let Ok(Some((entry, similarity))) = tokio::time::timeout(cfg.lookup_timeout.saturating_mul(2), self.semantic_lookup(q, signature, &key, &*store, cfg, ttl)).await {
                    return self.serve_hit(entry, streamed.then(include_usage), Some(similarity)).await.map(Some);
                }
            }
        }
        let outcome = if directives.lookup { "miss" } else { "bypass" };
        self.rec.update_event(|ev| ev.cache = Some(outcome.into()));
        self.cache = Some(CacheFill { key, ttl, store, max_entry_bytes: cfg.max_entry_bytes, price: model.price, storable: directives.store, outcome, put_timeout: cfg.lookup_timeout, semantic: question.map(|(q, _)| q) });
        Ok(None)
    }

    /// Whether a stored answer may answer this call: of its protocol, and no older than the TTL
    /// in force for this call now (another agent of its scope may have stored it with a longer
    /// one, or the TTL was lowered since). A time of storing more than a minute ahead (a
    /// replica's clock far off, an entry garbled) says nothing of its age: not served.
    fn servable(&self, e: &Entry, ttl: Duration) -> bool {
        e.api == self.client && fresh(e.stored_at, crate::store::now_ms(), ttl)
    }

    /// A stored answer to a question that asks what this call's does in other words: the
    /// candidates the index finds above the threshold, in order, the first that passes the
    /// verification step and whose answer is still stored. A candidate whose answer is gone
    /// leaves the index.
    /// `asked`: what the verification step reads of the call's question.
    async fn semantic_lookup(&self, q: &mut PendingQuestion, asked: &Signature, key: &CacheKey, store: &dyn CacheStore, cfg: &crate::config::CacheConfig, ttl: Duration) -> Option<(Arc<Entry>, f32)> {
        let vector = q.vector().await?;
        let candidates = q.cache.candidates(&q.group, &vector, cfg.semantic.threshold, cfg.lookup_timeout).await;
        q.vector = Some(vector);
        if candidates.is_empty() {
            return None;
        }
        for c in candidates {
            if let Err(why) = verify(asked, &Signature::of(&c.question.text)) {
                tracing::debug!(similarity = c.similarity, why, "semantic cache: a near question asks something else");
                continue;
            }
            let stored = CacheKey { partition: key.partition.clone(), model: key.model.clone(), digest: c.question.digest };
            match tokio::time::timeout(cfg.lookup_timeout, store.get_checked(&stored)).await {
                Ok(Ok(Some(entry))) if self.servable(&entry, ttl) => return Some((entry, c.similarity)),
                Ok(Ok(Some(_))) => {}
                // Known to be gone (expired, evicted, purged): the question leaves the index.
                Ok(Ok(None)) => q.cache.forget(&q.group, &c.question.digest),
                // The store could not say (Redis slow or down): a miss; the index stays.
                Ok(Err(())) | Err(_) => return None,
            }
        }
        None
    }

    /// A stored answer, served: through the agent's response guardrails now in force, the
    /// provider's usage left out of what is charged (recorded as saved instead); as a stream
    /// (`stream`: whether a chat client asked for the usage chunk) or whole.
    /// `similarity`: the stored question's, on a semantic hit.
    async fn serve_hit(&mut self, entry: Arc<Entry>, stream: Option<bool>, similarity: Option<f32>) -> Result<Answer, LlmError> {
        self.rec.update_event(|ev| {
            ev.cache = Some(if similarity.is_some() { "semantic_hit" } else { "hit" }.into());
            ev.cache_similarity = similarity.map(f64::from);
            ev.cache_origin = Some(entry.origin.clone());
            ev.cache_saved_tokens = Some(i64::try_from(entry.input_tokens + entry.output_tokens).unwrap_or(i64::MAX));
            ev.cache_saved_cost_usd = Some(entry.cost_usd);
        });
        // The stored answer itself, shared with the store (not copied).
        let body = Bytes::from_owner(StoredBody(Arc::clone(&entry)));
        // The provider's usage is not this call's: nothing is charged.
        let facts = usage::ResponseFacts { usage: usage::Usage::default(), model: entry.model.clone(), id: entry.id.clone(), finish_reasons: entry.finish_reasons.clone() };
        self.rec.mark_first_chunk();
        let (body, captured) = self.guard_answer(body).await?;
        self.rec.capture_response(captured.as_ref().unwrap_or(&body));
        let (body, content_type) = match stream {
            None => (body, "application/json"),
            Some(include_usage) => {
                self.rec.set_streamed();
                let whole: serde_json::Value = serde_json::from_slice(&body).map_err(|_| stored_unreadable())?;
                let events = replay::stream(self.client, &whole, include_usage).ok_or_else(stored_unreadable)?;
                (Bytes::from(events), "text/event-stream")
            }
        };
        let mut out = Response::new(Body::from(body));
        let headers = out.headers_mut();
        // Room for every header written below at once (the map would otherwise grow, and
        // rehash, three times): the ones here, the rate limits', the request ids.
        headers.reserve(8 + self.limit_headers.len());
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if stream.is_some() {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        match similarity {
            None => {
                headers.insert(CACHE_HEADER, HeaderValue::from_static("hit"));
            }
            Some(s) => {
                headers.insert(CACHE_HEADER, HeaderValue::from_static("semantic-hit"));
                if let Ok(v) = HeaderValue::from_str(&format!("{:.3}", s.clamp(0.0, 1.0))) {
                    headers.insert(SIMILARITY_HEADER, v);
                }
            }
        }
        for (k, v) in &self.limit_headers {
            headers.insert(k.clone(), v.clone());
        }
        let out = self.request_id.stamp(out);
        Ok(Answer::Whole(out, Ending::ok(StatusCode::OK.as_u16(), facts)))
    }
}

/// A stored answer that is not one of its protocol (answers are checked when stored; a store
/// shared with another version of Weir could hold one). The client may skip the cache.
fn stored_unreadable() -> LlmError {
    LlmError::new(ErrorKind::Unavailable, "a cached answer could not be read; send the call again with `Cache-Control: no-cache`")
}

/// A streamed answer on its way to the client, assembled as it goes, stored once it completed.
pub struct StreamFill {
    fill: CacheFill,
    api: Api,
    origin: String,
    splitter: SseSplitter,
    events: Vec<SseEvent>,
    assembler: Assembler,
    /// About how many bytes the assembled answer holds.
    kept: usize,
    /// Not readable, or past what may be stored: nothing is stored, nothing more is held.
    given_up: bool,
}

impl StreamFill {
    /// For a call whose answer may be stored.
    pub fn new(fill: CacheFill, api: Api, origin: String) -> Option<Self> {
        fill.storable.then(|| Self { fill, api, origin, splitter: SseSplitter::default(), events: Vec::new(), assembler: Assembler::new(api), kept: 0, given_up: false })
    }

    /// The next bytes the client got.
    pub fn push(&mut self, out: &[u8]) {
        if self.given_up {
            return;
        }
        // An answer that has grown past what an entry may be cannot be kept: what was assembled
        // is let go at once, not held to the stream's end (whose bound, `max_response_bytes`,
        // is far larger). Whether a smaller answer is kept is decided once it is whole.
        self.events.clear();
        if self.splitter.push(out, &mut self.events).is_err() {
            self.give_up();
            return;
        }
        for ev in &self.events {
            self.kept += self.assembler.event(ev);
        }
        if self.kept > self.fill.max_entry_bytes {
            self.give_up();
        }
    }

    fn give_up(&mut self) {
        self.given_up = true;
        self.assembler = Assembler::None;
        self.splitter = SseSplitter::default();
        self.events = Vec::new();
    }

    /// Whether the stream's last event went by: the answer can be stored before the client
    /// gets that event.
    pub fn ended(&self) -> bool {
        !self.given_up && self.assembler.ended()
    }

    /// The stream ended well: its answer is stored, if it completed.
    pub fn finish(self, facts: &usage::ResponseFacts) -> Option<PendingPut> {
        if self.given_up {
            return None;
        }
        let whole = self.assembler.finish(&facts.usage)?;
        let body = serde_json::to_vec(&whole).unwrap_or_default();
        self.fill.store(self.api, &body, &self.origin, facts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_answers_of_their_protocol_are_kept() {
        let chat = br#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;
        assert!(complete(Api::Chat, chat));
        for bad in [
            &br#"{"error":{"message":"overloaded","type":"server_error"}}"#[..],
            br#"{"id":"c","choices":[]}"#,
            br#"{"id":"c","choices":[{"index":0,"message":{"content":"par"},"finish_reason":"error"}]}"#,
            br#"{"id":"c","choices":[{"index":0,"message":{"content":"par"},"finish_reason":null}]}"#,
            br#"{"id":"c","choices":[{"index":0,"message":{"content":"cut sh"},"finish_reason":"length"}]}"#,
            br#"{"id":"c","choices":[{"index":0,"message":{"content":""},"finish_reason":"content_filter"}]}"#,
            br#"{"id":"c","choices":[{"index":0,"message":{"content":"a"},"finish_reason":"stop"},{"index":1,"message":{"content":"b"},"finish_reason":"length"}]}"#,
            b"not json",
        ] {
            assert!(!complete(Api::Chat, bad), "{}", String::from_utf8_lossy(bad));
        }
        assert!(complete(Api::Chat, br#"{"id":"c","choices":[{"index":0,"message":{"content":null,"tool_calls":[]},"finish_reason":"tool_calls"}]}"#));
        assert!(complete(Api::Messages, br#"{"id":"m","type":"message","content":[]}"#));
        assert!(complete(Api::Messages, br#"{"id":"m","type":"message","content":[],"stop_reason":"end_turn"}"#));
        assert!(complete(Api::Messages, br#"{"id":"m","type":"message","content":[],"stop_reason":"tool_use"}"#));
        for cut in ["max_tokens", "refusal"] {
            let body = format!(r#"{{"id":"m","type":"message","content":[],"stop_reason":"{cut}"}}"#);
            assert!(!complete(Api::Messages, body.as_bytes()), "{cut}");
        }
        assert!(!complete(Api::Messages, br#"{"type":"error","error":{"type":"overloaded_error"}}"#));
        assert!(complete(Api::Responses, br#"{"id":"r","status":"completed","output":[]}"#));
        assert!(!complete(Api::Responses, br#"{"id":"r","status":"incomplete","output":[]}"#));
        assert!(complete(Api::Embeddings, br#"{"object":"list","data":[]}"#));
    }

    fn fill(max_entry_bytes: usize, storable: bool) -> CacheFill {
        CacheFill {
            key: CacheKey { partition: "agent:a".into(), model: "m".into(), digest: [0; 32] },
            ttl: Duration::from_secs(60),
            store: Arc::new(crate::cache::memory::MemoryStore::new(10, 1 << 20, 10)),
            max_entry_bytes,
            price: None,
            storable,
            outcome: "miss",
            put_timeout: Duration::from_millis(50),
            semantic: None,
        }
    }

    /// A chat stream of `pieces` chunks of 100 bytes of text each, ended.
    fn chat_stream(pieces: usize) -> Vec<u8> {
        let chunk = |delta: &str, finish: &str| format!("data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{delta},\"finish_reason\":{finish}}}]}}\n\n");
        let mut out = chunk(r#"{"role":"assistant","content":""}"#, "null");
        for _ in 0..pieces {
            out.push_str(&chunk(&format!("{{\"content\":\"{}\"}}", "x".repeat(100)), "null"));
        }
        out.push_str(&chunk("{}", "\"stop\""));
        out.push_str("data: [DONE]\n\n");
        out.into_bytes()
    }

    #[test]
    fn an_answers_age_is_read_without_overflow_and_a_time_ahead_is_not_trusted() {
        let ttl = Duration::from_secs(60);
        let now = 1_767_261_600_000;
        assert!(fresh(now - 59_000, now, ttl) && !fresh(now - 61_000, now, ttl));
        assert!(fresh(now + 30_000, now, ttl), "a replica's clock a little ahead");
        assert!(!fresh(now + 3_600_000, now, ttl) && !fresh(i64::MAX, now, ttl));
        assert!(!fresh(i64::MIN, now, ttl) && !fresh(0, i64::MAX, ttl));
    }

    #[test]
    fn a_stream_past_the_entry_bound_is_let_go_as_it_grows() {
        let facts = usage::ResponseFacts::default();
        // 10,000 bytes of text: kept under a bound of 11,000, with what it holds counted.
        let mut fits = StreamFill::new(fill(11_000, true), Api::Chat, "r".into()).unwrap();
        fits.push(&chat_stream(100));
        assert!(fits.ended() && fits.kept >= 10_000 && fits.kept <= 11_000, "{}", fits.kept);
        assert!(fits.finish(&facts).is_some());
        // Under a bound of 4,000: let go once past it, mid-stream, and nothing held after.
        let mut over = StreamFill::new(fill(4_000, true), Api::Chat, "r".into()).unwrap();
        let stream = chat_stream(100);
        let (first, rest) = stream.split_at(stream.len() / 2);
        over.push(first);
        assert!(over.given_up && matches!(over.assembler, Assembler::None));
        over.push(rest);
        assert!(!over.ended() && over.kept <= 5_100, "{}", over.kept);
        assert!(over.finish(&facts).is_none());
    }

    /// A messages stream: a text block of `pieces` deltas of 100 bytes, a tool use block, its end.
    fn messages_stream(pieces: usize) -> Vec<u8> {
        let ev = |ty: &str, data: serde_json::Value| format!("event: {ty}\ndata: {data}\n\n");
        let mut out = ev("message_start", serde_json::json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant", "model": "c", "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 5, "output_tokens": 1}}}));
        out.push_str(&ev("content_block_start", serde_json::json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})));
        for _ in 0..pieces {
            out.push_str(&ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "y".repeat(100)}})));
        }
        out.push_str(&ev("content_block_stop", serde_json::json!({"type": "content_block_stop", "index": 0})));
        out.push_str(&ev("content_block_start", serde_json::json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "lookup", "input": {}}})));
        out.push_str(&ev("content_block_delta", serde_json::json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"q\": \"x\"}"}})));
        out.push_str(&ev("content_block_stop", serde_json::json!({"type": "content_block_stop", "index": 1})));
        out.push_str(&ev("message_delta", serde_json::json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null}, "usage": {"output_tokens": 9}})));
        out.push_str(&ev("message_stop", serde_json::json!({"type": "message_stop"})));
        out.into_bytes()
    }

    /// What a stream's answer is stored as, whole.
    fn stored_len(api: Api, stream: &[u8]) -> usize {
        let mut f = StreamFill::new(fill(1 << 20, true), api, "r".into()).unwrap();
        f.push(stream);
        let whole = f.assembler.finish(&usage::Usage::default()).expect("a whole answer");
        serde_json::to_vec(&whole).unwrap().len()
    }

    #[test]
    fn a_stream_whose_answer_is_at_the_entry_bound_is_kept() {
        let facts = usage::ResponseFacts::default();
        for (api, stream) in [(Api::Chat, chat_stream(30)), (Api::Messages, messages_stream(30))] {
            let at = stored_len(api, &stream);
            let mut f = StreamFill::new(fill(at, true), api, "r".into()).unwrap();
            f.push(&stream);
            assert!(!f.given_up && f.kept <= at, "{api:?}: {} counted for {at}", f.kept);
            assert!(f.finish(&facts).is_some(), "{api:?} at the bound: kept");
            let mut f = StreamFill::new(fill(at - 1, true), api, "r".into()).unwrap();
            f.push(&stream);
            assert!(f.finish(&facts).is_none(), "{api:?} one byte past it: not kept");
        }
    }

    #[test]
    fn an_answer_is_kept_up_to_max_entry_bytes_and_not_past_it() {
        let body = br#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}"#;
        let facts = usage::ResponseFacts::default();
        assert!(fill(body.len(), true).store(Api::Chat, body, "r", &facts).is_some(), "at the bound: kept");
        assert!(fill(body.len() - 1, true).store(Api::Chat, body, "r", &facts).is_none(), "one byte past it: not kept");
        assert!(fill(body.len(), false).store(Api::Chat, body, "r", &facts).is_none(), "Cache-Control: no-store");
    }
}
