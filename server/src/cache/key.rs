//! The key of a cached answer: its partition (whose answers these are: an agent's, or a scope's),
//! the model, and a digest of everything else that shapes an answer (and of the end user, when
//! answers are kept per user).
//!
//! The digest covers the client's protocol, the resolved model and every top-level member of
//! the body as Weir forwards it (after the request guardrails masked it and the limiter set an
//! output cap), in name order, except the members that only say how an answer is delivered or
//! who asked: `stream`, `stream_options`, `user`, `metadata`, `store` (on chat completions; on
//! responses it decides whether the answer's id can be built on), `safety_identifier`,
//! `prompt_cache_key`, `prompt_cache_retention`; and the request's `vary_headers` (API versions,
//! betas) and forwarded query string. Members are compared as the client wrote them (two
//! bodies that differ only in spacing inside a member are different keys: a miss, never a wrong
//! hit).

use super::semantic::Group;
use super::verify::Signature;
use crate::config::{CacheConfig, Partition};
use crate::llm::body::RequestBody;
use crate::llm::Api;

/// Members that do not shape the answer's content.
const DELIVERY_ONLY: [&str; 8] = ["stream", "stream_options", "user", "metadata", "store", "safety_identifier", "prompt_cache_key", "prompt_cache_retention"];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey {
    pub partition: String,
    pub model: String,
    pub digest: [u8; 32],
}

impl CacheKey {
    /// The key of a call by `agent` (id and name) for `user` to `model`.
    pub fn new(cfg: &CacheConfig, api: Api, model: &str, agent_id: &str, agent_name: &str, user: Option<&str>, body: &RequestBody<'_>) -> Self {
        Self::with_request(cfg, api, model, agent_id, agent_name, user, body, &[])
    }

    /// The key, with what else of the request shapes the answer: `vary`, the values of the
    /// `vary_headers` (in their order) and the query string Weir forwards.
    #[expect(clippy::too_many_arguments, reason = "each is one part of the key, named where it is made")]
    pub fn with_request(cfg: &CacheConfig, api: Api, model: &str, agent_id: &str, agent_name: &str, user: Option<&str>, body: &RequestBody<'_>, vary: &[&[u8]]) -> Self {
        // Per end user, the user is part of what the digest covers: a user's answers are never
        // another's, and the agent's partition (its bound, its purge) still holds them all.
        let user = (cfg.partition == Partition::AgentUser).then(|| user.unwrap_or(""));
        Self { partition: partition(cfg, agent_id, agent_name), model: model.to_string(), digest: digest(api, model, user, vary, members(api, body).collect()) }
    }

    /// The call's question for the semantic cache: its last user turn (text only, at most
    /// `max_bytes`), what the verification step reads of it, and the group it is compared in —
    /// this key's partition and model, and the digest of everything else the key covers (the
    /// context) and of the question's numbers (questions with other numbers are never served
    /// one another's answers, so they need not crowd one another in the index). `None` when the
    /// last turn is not a user's text.
    pub fn question(&self, cfg: &CacheConfig, api: Api, user: Option<&str>, body: &RequestBody<'_>, vary: &[&[u8]], max_bytes: usize) -> Option<(Group, String, Signature)> {
        let turns = match api {
            Api::Chat | Api::Messages => "messages",
            Api::Responses => "input",
            Api::Embeddings => return None,
        };
        let raw = body.members().find(|(k, _)| *k == turns)?.1;
        let (text, context) = last_user_turn(api, raw)?;
        if text.len() > max_bytes || text.trim().is_empty() {
            return None;
        }
        let user = (cfg.partition == Partition::AgentUser).then(|| user.unwrap_or(""));
        let signature = Signature::of(&text);
        let numbers = signature.numbers().join(" ");
        let mut vary = vary.to_vec();
        vary.push(numbers.as_bytes());
        let members = members(api, body).map(|(k, v)| if k == turns { (k, context.as_str()) } else { (k, v) }).collect();
        Some((Group { partition: self.partition.clone(), model: self.model.clone(), context: digest(api, &self.model, user, &vary, members) }, text, signature))
    }

    /// The digest as text (for stores that key by strings).
    pub fn digest_hex(&self) -> String {
        hex::encode(self.digest)
    }
}

/// Whose answers a call may be served: the agent's own, or its scope's.
pub fn partition(cfg: &CacheConfig, agent_id: &str, agent_name: &str) -> String {
    match cfg.scope_of.get(agent_name) {
        Some(scope) => format!("scope:{scope}"),
        None => format!("agent:{agent_id}"),
    }
}

/// The body's members that shape the answer, as written.
fn members<'a>(api: Api, body: &'a RequestBody<'_>) -> impl Iterator<Item = (&'a str, &'a str)> {
    // A responses call's `store` decides whether its answer's id can be built on later
    // (`previous_response_id`): it is part of the answer there.
    let delivery_only = move |k: &str| DELIVERY_ONLY.contains(&k) && !(api == Api::Responses && k == "store");
    body.members().filter(move |(k, _)| !delivery_only(k) && *k != "model")
}

/// The text of the last turn if a user's, and the turns with that text left out (every earlier
/// turn as written, and the last one's other members): `None` when the last turn is not a
/// user's, or holds anything but text.
fn last_user_turn(api: Api, raw: &str) -> Option<(String, String)> {
    use serde_json::Value;
    // A responses call's input may be the question itself.
    if api == Api::Responses {
        if let Ok(text) = serde_json::from_str::<String>(raw) {
            return Some((text, String::new()));
        }
    }
    let turns: Vec<&serde_json::value::RawValue> = serde_json::from_str(raw).ok()?;
    let (last, earlier) = turns.split_last()?;
    let Value::Object(mut last) = serde_json::from_str::<Value>(last.get()).ok()? else { return None };
    if last.get("role").and_then(Value::as_str) != Some("user") {
        return None;
    }
    let text = match last.remove("content")? {
        Value::String(t) => t,
        Value::Array(parts) => {
            let mut text = String::new();
            for part in parts {
                let Value::Object(mut part) = part else { return None };
                let ty = part.remove("type");
                let Some(Value::String(t)) = part.remove("text") else { return None };
                // A part with more than its type and text (a cache hint, a citation) is not
                // plain text: no semantic match.
                if !matches!(ty.as_ref().and_then(Value::as_str), Some("text" | "input_text")) || !part.is_empty() {
                    return None;
                }
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(&t);
            }
            text
        }
        _ => return None,
    };
    let mut context = String::from("[");
    for t in earlier {
        context.push_str(t.get());
        context.push(',');
    }
    context.push_str(&Value::Object(last).to_string());
    context.push(']');
    Some((text, context))
}

fn digest(api: Api, model: &str, user: Option<&str>, vary: &[&[u8]], mut members: Vec<(&str, &str)>) -> [u8; 32] {
    members.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // BLAKE3: collision-resistant (an agent cannot make its question stand for another's in a
    // shared scope) and fast on every CPU, through the SIMD each one has.
    // The parts are gathered and hashed in one go: BLAKE3 hashes a long input chunk by chunk in
    // parallel lanes, and many small updates one block at a time.
    let size = 64 + model.len() + user.map_or(0, str::len) + vary.iter().map(|v| v.len() + 8).sum::<usize>() + members.iter().map(|(k, v)| k.len() + v.len() + 16).sum::<usize>();
    let mut bytes = Vec::with_capacity(size + 64);
    // Each part length-prefixed: no two different sequences hash the same bytes.
    let mut part = |b: &[u8]| {
        bytes.extend_from_slice(&(b.len() as u64).to_le_bytes());
        bytes.extend_from_slice(b);
    };
    part(api.operation().as_bytes());
    part(model.as_bytes());
    match user {
        // Tagged, so that no member can stand for it.
        Some(u) => {
            part(b"\0user");
            part(u.as_bytes());
        }
        None => part(b"\0all"),
    }
    part(b"\0vary");
    for v in vary {
        part(v);
    }
    part(b"\0body");
    for (k, v) in members {
        part(k.as_bytes());
        part(v.as_bytes());
    }
    *blake3::hash(&bytes).as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Env};

    fn cfg(extra: &str) -> CacheConfig {
        Config::from_toml(extra, &Env::default()).unwrap().cache
    }

    fn key(c: &CacheConfig, agent: &str, user: Option<&str>, body: &str) -> CacheKey {
        let b = RequestBody::parse(body.as_bytes()).unwrap();
        CacheKey::new(c, Api::Chat, "m", &format!("id-{agent}"), agent, user, &b)
    }

    const BODY: &str = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0}"#;

    /// Keys stay what they were (answers kept in Redis by an earlier version are still found):
    /// the digest is BLAKE3 of the length-prefixed parts, computed here independently.
    #[test]
    fn the_digest_is_blake3_of_the_length_prefixed_parts() {
        let c = cfg("");
        assert_eq!(hex::encode(key(&c, "a", None, BODY).digest), "9a378ad332b8b14f65b103f8809ad40692d411bc1b3b97f33fd6db81364c606e");
        // Longer than one BLAKE3 chunk, with a user and vary values.
        let long = format!(r#"[{{"role":"user","content":"{}"}}]"#, "x".repeat(3000));
        let d = digest(Api::Messages, "m", Some("u1"), &[b"2023-06-01", b"beta=a"], vec![("temperature", "0"), ("messages", &long)]);
        assert_eq!(hex::encode(d), "7a6d81279d075db528ef490cb5e5ddb63f9a13e77ac3b08037506762663c39e4");
    }

    #[test]
    fn what_shapes_the_answer_is_in_the_key_and_delivery_is_not() {
        let c = cfg("");
        let k = key(&c, "a", None, BODY);
        assert_eq!(k, key(&c, "a", None, r#"{"temperature":0,"stream":true,"stream_options":{"include_usage":true},"user":"u1","messages":[{"role":"user","content":"hi"}],"model":"m","metadata":{"x":"y"}}"#));
        for other in [
            r#"{"model":"m","messages":[{"role":"user","content":"hi!"}],"temperature":0}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1}"#,
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"temperature":0}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0,"tools":[{"type":"function","function":{"name":"f"}}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0,"response_format":{"type":"json_object"}}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0,"max_completion_tokens":5}"#,
        ] {
            assert_ne!(k.digest, key(&c, "a", None, other).digest, "{other}");
        }
        let b = RequestBody::parse(BODY.as_bytes()).unwrap();
        // The vary headers and the query string, an absent header and an empty one told apart.
        let with = |vary: &[&[u8]]| CacheKey::with_request(&c, Api::Chat, "m", "id-a", "a", None, &b, vary).digest;
        assert_eq!(with(&[]), k.digest);
        assert_ne!(with(&[b"2023-06-01", b""]), with(&[b"2024-01-01", b""]));
        assert_ne!(with(&[b"", b""]), with(&[b"\0absent", b""]));
        assert_ne!(with(&[b"x", b"api-version=1"]), with(&[b"x", b""]));
        // `store` is delivery on chat completions, part of the answer on responses.
        let stored = RequestBody::parse(br#"{"model":"m","input":"hi","store":false}"#).unwrap();
        let default = RequestBody::parse(br#"{"model":"m","input":"hi"}"#).unwrap();
        assert_ne!(CacheKey::new(&c, Api::Responses, "m", "i", "a", None, &stored).digest, CacheKey::new(&c, Api::Responses, "m", "i", "a", None, &default).digest);
        assert_eq!(CacheKey::new(&c, Api::Chat, "m", "i", "a", None, &stored).digest, CacheKey::new(&c, Api::Chat, "m", "i", "a", None, &default).digest);
        assert_ne!(k.digest, CacheKey::new(&c, Api::Responses, "m", "id-a", "a", None, &b).digest, "the protocol");
        assert_ne!(k.digest, CacheKey::new(&c, Api::Chat, "m2", "id-a", "a", None, &b).digest, "the model");
    }

    #[test]
    fn a_question_is_the_last_user_turn_and_its_context_everything_else() {
        let c = cfg("");
        let q = |api: Api, body: &str| {
            let b = RequestBody::parse(body.as_bytes()).unwrap();
            let k = CacheKey::new(&c, api, "m", "id-a", "a", None, &b);
            k.question(&c, api, None, &b, &[], 100)
        };
        let (g, text, _) = q(Api::Chat, BODY).unwrap();
        assert_eq!((text.as_str(), g.partition.as_str(), g.model.as_str()), ("hi", "agent:id-a", "m"));
        // The same context whatever the question; another when anything else differs.
        assert_eq!(q(Api::Chat, r#"{"model":"m","messages":[{"role":"user","content":"hello there"}],"temperature":0}"#).unwrap().0, g);
        assert_ne!(q(Api::Chat, r#"{"model":"m","messages":[{"role":"user","content":"hello 2"}],"temperature":0}"#).unwrap().0, g, "other numbers");
        assert_eq!(q(Api::Chat, r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hello"}]}],"temperature":0}"#).unwrap().1, "hello");
        for other in [
            r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1}"#,
            r#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"temperature":0}"#,
            r#"{"model":"m","messages":[{"role":"user","content":"hi","name":"bob"}],"temperature":0}"#,
        ] {
            assert_ne!(q(Api::Chat, other).unwrap().0, g, "{other}");
        }
        // Not a question for the semantic cache: the last turn is not a user's text, or too long.
        for none in [
            r#"{"model":"m","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}"#,
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#,
            r#"{"model":"m","messages":[]}"#,
        ] {
            assert!(q(Api::Chat, none).is_none(), "{none}");
        }
        assert!(q(Api::Chat, &format!(r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#, "x".repeat(101))).is_none());
        // Responses: a string input, or a list whose last item is the user's.
        assert_eq!(q(Api::Responses, r#"{"model":"m","input":"what is rust"}"#).unwrap().1, "what is rust");
        assert_eq!(q(Api::Responses, r#"{"model":"m","input":[{"role":"user","content":[{"type":"input_text","text":"what is go"}]}]}"#).unwrap().1, "what is go");
        assert!(q(Api::Embeddings, r#"{"model":"m","input":"x"}"#).is_none());
    }

    #[test]
    fn partitions_are_per_agent_unless_a_scope_names_them_together() {
        let c = cfg("[[cache.scopes]]\nname = \"team\"\nagents = [\"a\", \"b\"]\n");
        assert_eq!(key(&c, "a", None, BODY).partition, key(&c, "b", None, BODY).partition);
        assert_ne!(key(&c, "a", None, BODY).partition, key(&c, "c", None, BODY).partition);
        assert_ne!(key(&c, "c", None, BODY).partition, key(&c, "d", None, BODY).partition);
        // Per end user: one user's key is never another's; the agent's partition holds them all.
        let c = cfg("[cache]\npartition = \"agent_user\"\n");
        assert_ne!(key(&c, "a", Some("u1"), BODY), key(&c, "a", Some("u2"), BODY));
        assert_ne!(key(&c, "a", Some("x"), BODY), key(&c, "a", None, BODY));
        assert_eq!(key(&c, "a", Some("u1"), BODY), key(&c, "a", Some("u1"), BODY));
        assert_eq!(key(&c, "a", Some("u1"), BODY).partition, key(&c, "a", Some("u2"), BODY).partition);
        // Without it, the user does not matter.
        let c = cfg("");
        assert_eq!(key(&c, "a", Some("u1"), BODY), key(&c, "a", Some("u2"), BODY));
    }
}
