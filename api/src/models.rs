//! Models, their targets' circuits, and the providers behind them.

use serde::{Deserialize, Serialize};

/// USD per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Price of cached input tokens; the input price when absent.
    #[serde(default)]
    pub cached_input_per_mtok: Option<f64>,
}

impl Price {
    /// Cost of a call. `input_tokens` includes the cached ones, as every provider's usage does
    /// once normalised.
    pub fn cost(&self, input_tokens: u64, cached_input_tokens: u64, output_tokens: u64) -> f64 {
        let cached = cached_input_tokens.min(input_tokens);
        let fresh = input_tokens - cached;
        let cached_price = self.cached_input_per_mtok.unwrap_or(self.input_per_mtok);
        (fresh as f64 * self.input_per_mtok + cached as f64 * cached_price + output_tokens as f64 * self.output_per_mtok) / 1_000_000.0
    }
}

/// A target of a model: a provider's model, in failover order, with its circuit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetView {
    pub provider: String,
    pub model: String,
    pub priority: u32,
    pub weight: u32,
    /// `closed`, `open` or `half_open`.
    pub circuit: String,
    pub consecutive_failures: u32,
    pub reopens_in_ms: Option<u64>,
    pub failures: u64,
    pub successes: u64,
}

/// A model's last hour of calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelHour {
    pub requests: i64,
    pub errors: i64,
    pub error_rate: f64,
    pub mean_latency_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelView {
    pub name: String,
    /// The API its targets speak: `openai` or `anthropic`.
    pub kind: String,
    pub price: Option<Price>,
    pub targets: Vec<TargetView>,
    pub last_hour: ModelHour,
}

/// A configured provider, and whether Weir holds its key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderView {
    pub name: String,
    pub kind: String,
    pub base_url: String,
    /// The environment variable the key is read from, if the config names one.
    pub api_key_env: Option<String>,
    /// Whether a key was found: a provider that needs one and has none answers every call 401.
    pub key_set: bool,
}

/// `GET /api/v1/models`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelsList {
    pub models: Vec<ModelView>,
    #[serde(default)]
    pub providers: Vec<ProviderView>,
}
