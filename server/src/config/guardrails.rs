//! `[guardrails]`: the detectors run on what agents send and receive, and what each does.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::{invalid, ConfigError};
use crate::guard::policy::{Action, Custom, Detector, Direction, Directions, FailureMode, Guardrail, Guardrails, Webhook};
use crate::guard::Kind;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct GuardrailsSection {
    /// Runs the built-in detectors (PII and secrets masked, prompt injection flagged, unless
    /// their own tables say otherwise), the custom rules and the webhooks.
    pub enabled: bool,
    pub pii: Option<BuiltinSection>,
    pub secrets: Option<BuiltinSection>,
    pub injection: Option<BuiltinSection>,
    pub custom: Vec<CustomSection>,
    pub webhook: Vec<WebhookSection>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BuiltinSection {
    pub action: Option<String>,
    /// The kinds looked for (all, unset).
    pub types: Option<Vec<String>>,
    pub apply_to: Option<Vec<Direction>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSection {
    pub name: String,
    #[serde(default)]
    pub action: Option<String>,
    /// Regular expressions (Rust `regex` syntax).
    #[serde(default)]
    pub patterns: Vec<String>,
    /// Words or phrases, matched whole and in any case (a deny-listed topic's words, say).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// What a masked value becomes (`[NAME]` in capitals, unset).
    #[serde(default)]
    pub mask: Option<String>,
    #[serde(default)]
    pub apply_to: Option<Vec<Direction>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    pub name: String,
    pub url: String,
    /// The most of the webhook's verdict that is carried out: `block` (all of it), `mask`
    /// (a block is recorded as flag), `flag` (recorded only), `off`.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default = "default_webhook_timeout")]
    pub timeout_ms: u64,
    /// `allow` (the call goes on, the failure is recorded) or `block`.
    #[serde(default = "default_failure_mode")]
    pub on_failure: FailureMode,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub apply_to: Option<Vec<Direction>>,
}

fn default_webhook_timeout() -> u64 {
    1000
}

fn default_failure_mode() -> FailureMode {
    FailureMode::Allow
}

/// The kinds the built-in PII detector finds.
pub const PII_KINDS: [Kind; 6] = [Kind::Email, Kind::Phone, Kind::Card, Kind::Iban, Kind::Ssn, Kind::IpAddress];

/// The kinds the built-in secrets detector finds.
pub const SECRET_KINDS: [Kind; 12] = [
    Kind::OpenAiKey,
    Kind::AnthropicKey,
    Kind::AwsAccessKey,
    Kind::AwsSecretKey,
    Kind::GithubToken,
    Kind::GitlabToken,
    Kind::SlackToken,
    Kind::StripeKey,
    Kind::GoogleApiKey,
    Kind::Jwt,
    Kind::PrivateKey,
    Kind::GenericSecret,
];

fn action(key: &str, value: Option<&String>, default: Action) -> Result<Action, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => Action::parse(v).ok_or_else(|| invalid(key, format!("`{v}` is not an action: use block, mask, flag or off"))),
    }
}

fn directions(value: Option<&Vec<Direction>>) -> Directions {
    value.map_or_else(Directions::all, |d| Directions::of(d))
}

fn kinds(key: &str, types: Option<&Vec<String>>, all: &[Kind]) -> Result<Vec<Kind>, ConfigError> {
    let Some(types) = types else { return Ok(all.to_vec()) };
    types
        .iter()
        .map(|t| {
            all.iter().copied().find(|k| k.as_str() == t).ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
                invalid(format!("{key}.types"), format!("`{t}` is not one of {}", names.join(", ")))
            })
        })
        .collect()
}

/// A guardrail's name: what overrides, audit records and metrics call it.
fn check_name(key: &str, name: &str, seen: &mut Vec<String>) -> Result<(), ConfigError> {
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(invalid(format!("{key}.name"), "must be 1 to 64 letters, digits, `_` or `-`"));
    }
    if seen.iter().any(|s| s == name) {
        return Err(invalid(format!("{key}.name"), format!("`{name}` is used by another guardrail")));
    }
    seen.push(name.to_string());
    Ok(())
}

impl GuardrailsSection {
    pub(super) fn validate(&self) -> Result<Arc<Guardrails>, ConfigError> {
        let mut list = Vec::new();
        if !self.enabled {
            return Ok(Arc::new(Guardrails { list }));
        }
        let mut seen = vec!["pii".to_string(), "secrets".to_string(), "injection".to_string()];
        let empty = BuiltinSection::default();
        let pii = self.pii.as_ref().unwrap_or(&empty);
        list.push(Guardrail {
            name: "pii".into(),
            detector: Detector::Pii(kinds("guardrails.pii", pii.types.as_ref(), &PII_KINDS)?),
            action: action("guardrails.pii.action", pii.action.as_ref(), Action::Mask)?,
            apply_to: directions(pii.apply_to.as_ref()),
        });
        let sec = self.secrets.as_ref().unwrap_or(&empty);
        list.push(Guardrail {
            name: "secrets".into(),
            detector: Detector::Secrets(kinds("guardrails.secrets", sec.types.as_ref(), &SECRET_KINDS)?),
            action: action("guardrails.secrets.action", sec.action.as_ref(), Action::Mask)?,
            apply_to: directions(sec.apply_to.as_ref()),
        });
        let inj = self.injection.as_ref().unwrap_or(&empty);
        if inj.types.is_some() {
            return Err(invalid("guardrails.injection.types", "is not a setting of the injection detector"));
        }
        let inj_action = action("guardrails.injection.action", inj.action.as_ref(), Action::Flag)?;
        if inj_action == Action::Mask {
            return Err(invalid("guardrails.injection.action", "prompt injection is found as an attempt, not a value: use block, flag or off"));
        }
        list.push(Guardrail { name: "injection".into(), detector: Detector::Injection, action: inj_action, apply_to: directions(inj.apply_to.as_ref()) });
        for (i, c) in self.custom.iter().enumerate() {
            let key = format!("guardrails.custom[{i}]");
            check_name(&key, &c.name, &mut seen)?;
            if c.patterns.is_empty() && c.keywords.is_empty() {
                return Err(invalid(&key, "needs `patterns` or `keywords`"));
            }
            let mut alternatives = Vec::new();
            for (j, p) in c.patterns.iter().enumerate() {
                regex::Regex::new(p).map_err(|e| invalid(format!("{key}.patterns[{j}]"), format!("is not a valid regular expression: {e}")))?;
                alternatives.push(format!("(?:{p})"));
            }
            for (j, k) in c.keywords.iter().enumerate() {
                if k.trim().is_empty() {
                    return Err(invalid(format!("{key}.keywords[{j}]"), "must not be empty"));
                }
                let words: Vec<String> = k.split_whitespace().map(regex::escape).collect();
                alternatives.push(format!(r"(?i:\b{}\b)", words.join(r"\s+")));
            }
            let re = regex::RegexBuilder::new(&alternatives.join("|"))
                .size_limit(8 << 20)
                .build()
                .map_err(|e| invalid(&key, format!("its patterns and keywords do not compile together: {e}")))?;
            let mask = c.mask.clone().unwrap_or_else(|| format!("[{}]", c.name.to_ascii_uppercase()));
            list.push(Guardrail {
                name: c.name.clone(),
                detector: Detector::Custom(Custom { re, mask }),
                action: action(&format!("{key}.action"), c.action.as_ref(), Action::Block)?,
                apply_to: directions(c.apply_to.as_ref()),
            });
        }
        for (i, w) in self.webhook.iter().enumerate() {
            let key = format!("guardrails.webhook[{i}]");
            check_name(&key, &w.name, &mut seen)?;
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) || reqwest::Url::parse(&w.url).is_err() {
                return Err(invalid(format!("{key}.url"), "must be an http:// or https:// URL"));
            }
            if w.timeout_ms == 0 || w.timeout_ms > 60_000 {
                return Err(invalid(format!("{key}.timeout_ms"), "must be between 1 and 60000"));
            }
            for name in w.headers.keys() {
                axum::http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid(format!("{key}.headers"), format!("`{name}` is not a valid header name")))?;
            }
            list.push(Guardrail {
                name: w.name.clone(),
                detector: Detector::Webhook(Webhook {
                    url: w.url.clone(),
                    timeout: Duration::from_millis(w.timeout_ms),
                    on_failure: w.on_failure,
                    headers: w.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
                }),
                action: action(&format!("{key}.action"), w.action.as_ref(), Action::Block)?,
                apply_to: directions(w.apply_to.as_ref()),
            });
        }
        Ok(Arc::new(Guardrails { list }))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{tests::env, Config};
    use super::*;

    #[test]
    fn off_unless_enabled_and_defaults_when_enabled() {
        let cfg = Config::from_toml("", &env()).unwrap();
        assert!(cfg.guardrails.is_empty());
        let cfg = Config::from_toml("[guardrails]\nenabled = true\n", &env()).unwrap();
        let got: Vec<(&str, Action)> = cfg.guardrails.list.iter().map(|g| (g.name.as_str(), g.action)).collect();
        assert_eq!(got, vec![("pii", Action::Mask), ("secrets", Action::Mask), ("injection", Action::Flag)]);
    }

    #[test]
    fn custom_rules_and_webhooks() {
        let text = r#"
[guardrails]
enabled = true
pii = { action = "flag", types = ["email", "card"], apply_to = ["request"] }
[[guardrails.custom]]
name = "codename"
action = "mask"
patterns = ['PRJ-\d{4}']
keywords = ["project falcon"]
[[guardrails.webhook]]
name = "presidio"
url = "http://127.0.0.1:9/check"
timeout_ms = 200
on_failure = "block"
"#;
        let cfg = Config::from_toml(text, &env()).unwrap();
        let g = &cfg.guardrails.list;
        assert!(matches!(&g[0].detector, Detector::Pii(k) if k == &vec![Kind::Email, Kind::Card]));
        assert!(g[0].apply_to.contains(Direction::Request) && !g[0].apply_to.contains(Direction::Response));
        let Detector::Custom(c) = &g[3].detector else { panic!() };
        assert!(c.re.is_match("about Project   FALCON today") && c.re.is_match("PRJ-1234") && !c.re.is_match("falconry"));
        assert_eq!(c.mask, "[CODENAME]");
        assert!(matches!(&g[4].detector, Detector::Webhook(w) if w.on_failure == FailureMode::Block && w.timeout == Duration::from_millis(200)));
    }

    #[test]
    fn faults_are_named() {
        for (text, key) in [
            ("[guardrails]\nenabled = true\npii = { action = \"redact\" }\n", "guardrails.pii.action"),
            ("[guardrails]\nenabled = true\npii = { types = [\"passport\"] }\n", "guardrails.pii.types"),
            ("[guardrails]\nenabled = true\ninjection = { action = \"mask\" }\n", "guardrails.injection.action"),
            ("[guardrails]\nenabled = true\n[[guardrails.custom]]\nname = \"x\"\npatterns = [\"(\"]\n", "guardrails.custom[0].patterns[0]"),
            ("[guardrails]\nenabled = true\n[[guardrails.custom]]\nname = \"pii\"\nkeywords = [\"a\"]\n", "guardrails.custom[0].name"),
            ("[guardrails]\nenabled = true\n[[guardrails.custom]]\nname = \"x\"\n", "guardrails.custom[0]"),
            ("[guardrails]\nenabled = true\n[[guardrails.webhook]]\nname = \"w\"\nurl = \"ftp://x\"\n", "guardrails.webhook[0].url"),
        ] {
            let err = Config::from_toml(text, &env()).unwrap_err().to_string();
            assert!(err.starts_with(&format!("{key}:")), "{text}: {err}");
        }
    }
}
