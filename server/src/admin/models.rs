//! The configured models with their targets' circuits and last hour, and the providers.

use axum::extract::State;
use axum::Json;
use serde_json::json;
use weir_api::{ModelHour, ModelView, ModelsList, ProviderView, TargetView};

use crate::state::AppState;

/// Models with their targets' circuits, and each model's last hour of calls (requests, errors,
/// mean latency) when the database can say; and the providers, with whether each has its key.
pub(super) async fn list_models(State(state): State<AppState>) -> Json<ModelsList> {
    let recent = match state.store.model_stats_since(crate::store::now_ms() - 3_600_000).await {
        Ok(rows) => rows.into_iter().map(|(m, n, e, l)| (m, (n, e, l))).collect::<std::collections::HashMap<_, _>>(),
        Err(e) => {
            tracing::debug!(error = %e, "model statistics unavailable");
            Default::default()
        }
    };
    let rt = state.runtime.load();
    let as_text = |v: serde_json::Value| v.as_str().map(str::to_string).unwrap_or_default();
    let models = rt
        .config
        .models
        .iter()
        .map(|m| {
            let targets = m
                .targets
                .iter()
                .map(|t| {
                    let circuit = state.circuits.view(&crate::llm::route::target_key(t));
                    TargetView {
                        provider: t.provider.clone(),
                        model: t.model.clone(),
                        priority: t.priority,
                        weight: t.weight,
                        circuit: circuit.as_ref().map_or_else(|| "closed".to_string(), |c| as_text(json!(c.state))),
                        consecutive_failures: circuit.as_ref().map_or(0, |c| c.consecutive_failures),
                        reopens_in_ms: circuit.as_ref().and_then(|c| c.reopens_in_ms),
                        failures: circuit.as_ref().map_or(0, |c| c.failures),
                        successes: circuit.as_ref().map_or(0, |c| c.successes),
                    }
                })
                .collect();
            let (requests, errors, latency) = recent.get(&m.name).copied().unwrap_or((0, 0, 0.0));
            let error_rate = if requests > 0 { errors as f64 / requests as f64 } else { 0.0 };
            let last_hour = ModelHour { requests, errors, error_rate, mean_latency_ms: (requests > 0).then_some(latency) };
            ModelView { name: m.name.clone(), kind: m.kind.as_str().into(), price: m.price, targets, last_hour }
        })
        .collect();
    let providers = rt
        .config
        .providers
        .values()
        .map(|p| ProviderView { name: p.name.clone(), kind: p.kind.as_str().into(), base_url: p.base_url.clone(), api_key_env: p.api_key_env.clone(), key_set: p.api_key.is_some() })
        .collect();
    Json(ModelsList { models, providers })
}
