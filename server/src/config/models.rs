//! `[[models]]`: the names agents call and the provider targets each one is served by.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{invalid, ConfigError, Provider, ProviderKind};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSection {
    pub name: String,
    pub targets: Vec<TargetSection>,
    #[serde(default)]
    pub price: Option<Price>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    pub provider: String,
    pub model: String,
    /// Targets of equal priority form a group, chosen among by weight; lower priorities are
    /// tried first. Default: the target's position, so the list is tried in order.
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub weight: Option<u32>,
}

/// USD per million tokens.
pub use weir_api::Price;

#[derive(Debug, Clone)]
pub struct Target {
    pub provider: String,
    pub model: String,
    pub priority: u32,
    pub weight: u32,
}

#[derive(Debug, Clone)]
pub struct Model {
    pub name: String,
    pub kind: ProviderKind,
    pub targets: Vec<Target>,
    pub price: Option<Price>,
}

/// The `[[models]]` list checked against the providers it names, in the file's order.
pub(super) fn validate_models(sections: &[ModelSection], providers: &BTreeMap<String, Provider>) -> Result<Vec<Model>, ConfigError> {
    let mut models: Vec<Model> = Vec::new();
    for (i, m) in sections.iter().enumerate() {
        let key = format!("models[{i}]");
        // Before the name's own check: a name met twice passed it the first time.
        if models.iter().any(|x| x.name == m.name) {
            return Err(invalid(format!("{key}.name"), format!("model `{}` is defined twice", m.name)));
        }
        models.push(m.validate(&key, providers)?);
    }
    Ok(models)
}

impl ModelSection {
    fn validate(&self, key: &str, providers: &BTreeMap<String, Provider>) -> Result<Model, ConfigError> {
        if self.name.trim().is_empty() || self.name.len() > 200 {
            return Err(invalid(format!("{key}.name"), "must be 1 to 200 characters"));
        }
        if self.targets.is_empty() {
            return Err(invalid(format!("{key}.targets"), "must list at least one target"));
        }
        let mut kind = None;
        let mut targets = Vec::new();
        for (j, t) in self.targets.iter().enumerate() {
            let tkey = format!("{key}.targets[{j}]");
            let Some(p) = providers.get(&t.provider) else {
                let known: Vec<&str> = providers.keys().map(String::as_str).collect();
                return Err(invalid(
                    format!("{tkey}.provider"),
                    format!("unknown provider `{}` (defined: {})", t.provider, if known.is_empty() { "none".into() } else { known.join(", ") }),
                ));
            };
            if t.model.trim().is_empty() {
                return Err(invalid(format!("{tkey}.model"), "must not be empty"));
            }
            // A model's targets may mix provider kinds: a call reaching a provider of the
            // other kind is translated. The model's `kind` is its first target's.
            kind.get_or_insert(p.kind);
            if t.weight == Some(0) {
                return Err(invalid(format!("{tkey}.weight"), "must be at least 1"));
            }
            targets.push(Target {
                provider: t.provider.clone(),
                model: t.model.clone(),
                priority: t.priority.unwrap_or(j as u32),
                weight: t.weight.unwrap_or(1),
            });
        }
        if let Some(price) = &self.price {
            for (field, v) in [("input_per_mtok", Some(price.input_per_mtok)), ("output_per_mtok", Some(price.output_per_mtok)), ("cached_input_per_mtok", price.cached_input_per_mtok)] {
                if let Some(v) = v {
                    if !v.is_finite() || v < 0.0 {
                        return Err(invalid(format!("{key}.price.{field}"), "must be a non-negative number"));
                    }
                }
            }
        }
        Ok(Model {
            name: self.name.clone(),
            kind: kind.unwrap_or(ProviderKind::Openai),
            targets,
            price: self.price,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::env;
    use crate::config::Config;

    #[test]
    fn targets_may_mix_api_kinds() {
        let text = r#"
[[providers]]
name = "a"
kind = "openai"
base_url = "http://x/v1"
[[providers]]
name = "b"
kind = "anthropic"
base_url = "http://y"
[[models]]
name = "m"
targets = [{ provider = "a", model = "x" }, { provider = "b", model = "y" }]
"#;
        let cfg = Config::from_toml(text, &env()).unwrap();
        let m = cfg.model("m").unwrap();
        assert_eq!(m.kind, ProviderKind::Openai, "the first target's kind");
        assert_eq!(m.targets.len(), 2);
    }

    #[test]
    fn unknown_provider_rejected() {
        let text = "[[models]]\nname = \"m\"\ntargets = [{ provider = \"nope\", model = \"x\" }]\n";
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.contains("models[0].targets[0].provider") && err.contains("nope"), "{err}");
    }

    #[test]
    fn negative_price_rejected() {
        let text = "[[providers]]\nname = \"a\"\nkind = \"openai\"\nbase_url = \"http://x\"\n[[models]]\nname = \"m\"\ntargets = [{ provider = \"a\", model = \"x\" }]\nprice = { input_per_mtok = -1, output_per_mtok = 1 }\n";
        let err = Config::from_toml(text, &env()).unwrap_err().to_string();
        assert!(err.starts_with("models[0].price.input_per_mtok"), "{err}");
    }


    #[test]
    fn price_counts_cached_tokens_at_their_own_rate() {
        let p = Price { input_per_mtok: 2.0, output_per_mtok: 8.0, cached_input_per_mtok: Some(0.5) };
        let c = p.cost(1_000_000, 400_000, 500_000);
        assert!((c - (1.2 + 0.2 + 4.0)).abs() < 1e-9, "{c}");
        let p = Price { input_per_mtok: 1.0, output_per_mtok: 1.0, cached_input_per_mtok: None };
        assert!((p.cost(10, 5, 0) - 10.0 / 1e6).abs() < 1e-15);
    }
}
