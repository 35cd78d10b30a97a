//! Budgets and rate limits: what each agent may spend, enforced by reservation.
//!
//! Before a call is forwarded, [`Limiter::admit`] reserves an upper bound of its tokens (and
//! cost, and one request) in every counter that applies — per agent and per agent × model,
//! per window — all or nothing. A call is admitted only if its reservation fits in what
//! remains. After the call, [`Limiter::settle`] moves the counters to the real usage; usage
//! above the reservation is charged and reported as excess. Counters live in this process or in
//! Redis ([`counters`], [`redis`]); both are rebuilt from the audit store when lost. This module
//! never forwards anything and never writes the audit trail.

pub mod counters;
pub mod flood;
mod policy;
pub mod redis;
pub mod window;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::http::{HeaderName, HeaderValue};
use bytes::Bytes;

pub use counters::{Charge, CounterError, Counters, Delta, InProcess, Reserved};
pub use policy::{AgentPolicy, Budget, BudgetKind, PolicyIndex, Rate};
pub use window::{Clock, ManualClock, SystemClock};

use crate::config::{LimitsSection, Period, Price, RedisFailure};
use crate::store::Store;

const MICROS_PER_USD: f64 = 1_000_000.0;

/// What a call looks like to the limiter.
pub struct CallShape<'a> {
    pub agent_id: &'a str,
    pub agent_name: &'a str,
    pub model: &'a str,
    pub body: &'a Bytes,
    /// The output maximum the client asked for, if any (per answer).
    pub requested_max_output: Option<u64>,
    /// Answers asked for (OpenAI's `n`), each up to the output maximum.
    pub choices: u64,
    /// Whether the API has an output at all (embeddings do not).
    pub has_output: bool,
    pub price: Option<Price>,
    pub bytes_per_token: f64,
    pub token_margin: f64,
    /// Counts the body's input tokens exactly (the protocol that owns the body knows how); run
    /// only near a limit, where the cheap bound from its length would refuse the call.
    pub exact_input: fn(&[u8]) -> u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Tokens,
    CostMicros,
    Requests,
}

#[derive(Debug, Clone)]
struct Held {
    charge: Charge,
    unit: Unit,
    label: Label,
}

/// What a counter is, for messages; put into words only when a call is refused.
#[derive(Debug, Clone)]
enum Label {
    Budget { kind: BudgetKind, period: Period, model: Option<String> },
    RequestsPerMinute { model: Option<String> },
    TokensPerMinute { model: Option<String> },
    McpRequestsPerMinute,
    A2aRequestsPerMinute,
}

impl Label {
    /// "token budget per hour", "requests per minute for model gpt-4o", …
    fn text(&self) -> String {
        let (what, model) = match self {
            Self::Budget { kind: BudgetKind::Tokens, period, model } => (format!("token budget per {}", period.as_str()), model),
            Self::Budget { kind: BudgetKind::CostUsd, period, model } => (format!("cost budget per {}", period.as_str()), model),
            Self::RequestsPerMinute { model } => ("requests per minute".to_string(), model),
            Self::TokensPerMinute { model } => ("tokens per minute".to_string(), model),
            Self::McpRequestsPerMinute => return "MCP requests per minute".to_string(),
            Self::A2aRequestsPerMinute => return "A2A requests per minute".to_string(),
        };
        match model {
            Some(m) => format!("{what} for model {m}"),
            None => what,
        }
    }
}

/// A reservation that fitted. Settle it once the call is over.
#[derive(Debug, Clone)]
pub struct Admission {
    held: Vec<Held>,
    values_after: Vec<i64>,
    epoch: String,
    local: bool,
    pub reserved_tokens: i64,
    /// The output maximum Weir must set upstream (the client gave none).
    pub inject_max_output: Option<u64>,
    reset_at_ms: Vec<i64>,
}

impl Admission {
    /// `x-ratelimit-*` headers: what remains, for the tightest token constraint, requests and
    /// cost.
    pub fn headers(&self, now_ms: i64) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = Vec::with_capacity(9);
        for unit in [Unit::Tokens, Unit::Requests, Unit::CostMicros] {
            let tightest = self
                .held
                .iter()
                .zip(&self.values_after)
                .zip(&self.reset_at_ms)
                .filter(|((h, _), _)| h.unit == unit)
                .min_by_key(|((h, v), _)| h.charge.limit - **v);
            if let Some(((h, v), reset)) = tightest {
                out.extend(rate_headers(h, *v, *reset, now_ms));
            }
        }
        out
    }
}

impl Unit {
    /// `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*` for this unit.
    fn header_names(self) -> [HeaderName; 3] {
        const TOKENS: [HeaderName; 3] = [
            HeaderName::from_static("x-ratelimit-limit-tokens"),
            HeaderName::from_static("x-ratelimit-remaining-tokens"),
            HeaderName::from_static("x-ratelimit-reset-tokens"),
        ];
        const REQUESTS: [HeaderName; 3] = [
            HeaderName::from_static("x-ratelimit-limit-requests"),
            HeaderName::from_static("x-ratelimit-remaining-requests"),
            HeaderName::from_static("x-ratelimit-reset-requests"),
        ];
        const COST: [HeaderName; 3] = [
            HeaderName::from_static("x-ratelimit-limit-cost-usd"),
            HeaderName::from_static("x-ratelimit-remaining-cost-usd"),
            HeaderName::from_static("x-ratelimit-reset-cost-usd"),
        ];
        match self {
            Self::Tokens => TOKENS,
            Self::Requests => REQUESTS,
            Self::CostMicros => COST,
        }
    }

    /// A counter value as a header shows it (costs in dollars, to the micro-dollar).
    fn header_value(self, v: i64) -> HeaderValue {
        match self {
            Self::CostMicros => {
                // Dollars with six decimals, written without the formatting machinery (three
                // of these go out on every answer under a cost budget).
                let (whole, micros) = (v.unsigned_abs() / 1_000_000, v.unsigned_abs() % 1_000_000);
                let (mut a, mut b) = (itoa::Buffer::new(), itoa::Buffer::new());
                let mut text = String::with_capacity(28);
                if v < 0 {
                    text.push('-');
                }
                text.push_str(a.format(whole));
                text.push('.');
                // 1_000_000 + micros has seven digits: the six after the leading 1 are padded.
                text.push_str(&b.format(1_000_000 + micros)[1..]);
                HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0"))
            }
            _ => HeaderValue::from(v),
        }
    }
}

/// `x-ratelimit-limit-*`, `-remaining-*` and `-reset-*` for one counter at `value`.
fn rate_headers(h: &Held, value: i64, reset_at_ms: i64, now_ms: i64) -> [(HeaderName, HeaderValue); 3] {
    let [limit, remaining, reset] = h.unit.header_names();
    let reset_value = match secs_until(reset_at_ms, now_ms) {
        Some(s) => {
            let mut buf = itoa::Buffer::new();
            let mut text = String::with_capacity(21);
            text.push_str(buf.format(s));
            text.push('s');
            HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("0s"))
        }
        None => HeaderValue::from_static("never"),
    };
    [
        (limit, h.unit.header_value(h.charge.limit)),
        (remaining, h.unit.header_value((h.charge.limit - value).max(0))),
        (reset, reset_value),
    ]
}

/// Whole seconds until `reset_at_ms` (rounded up); `None` for a window that never resets.
fn secs_until(reset_at_ms: i64, now_ms: i64) -> Option<u64> {
    (reset_at_ms < i64::MAX / 2).then(|| (((reset_at_ms - now_ms).max(0) + 999) / 1000) as u64)
}

/// Why a call was not admitted.
#[derive(Debug, Clone)]
pub enum Refusal {
    Exceeded {
        /// "token budget per hour", "requests per minute for model gpt-4o", …
        what: String,
        limit: String,
        remaining: String,
        /// What this call would have used of it (a token estimate, one request, a cost bound).
        needed: String,
        reset_at_ms: i64,
        retry_after_secs: u64,
        /// `retry-after` (when the window resets) and `x-ratelimit-*`.
        headers: Vec<(String, String)>,
    },
    /// Redis is unreachable and `fail_closed` is set.
    Unavailable,
}

impl Refusal {
    /// The headers an exceeded limit's answer carries (`retry-after`, `x-ratelimit-*`), as
    /// HTTP headers (none when the limits could not be checked).
    pub fn http_headers(&self) -> Vec<(axum::http::HeaderName, axum::http::HeaderValue)> {
        let Self::Exceeded { headers, .. } = self else { return Vec::new() };
        headers.iter().filter_map(|(k, v)| Some((axum::http::HeaderName::from_bytes(k.as_bytes()).ok()?, axum::http::HeaderValue::from_str(v).ok()?))).collect()
    }

    /// The refusal in words, for the caller.
    pub fn message(&self) -> String {
        match self {
            Self::Exceeded { what, limit, remaining, needed, reset_at_ms, .. } => {
                let reset = if *reset_at_ms >= i64::MAX / 2 {
                    "it does not reset".to_string()
                } else {
                    format!("it resets at {}", crate::store::format_ms(*reset_at_ms))
                };
                format!("{what} exceeded: this call needs {needed} and {remaining} of {limit} is left for this agent; {reset}")
            }
            Self::Unavailable => "budgets and rate limits cannot be checked right now (their store is unreachable); try again shortly".into(),
        }
    }
}

#[derive(Debug, Default)]
pub struct LimitStats {
    pub refused: AtomicU64,
    pub excess_tokens: AtomicU64,
    pub excess_calls: AtomicU64,
    pub redis_failures: AtomicU64,
    pub fail_open_fallbacks: AtomicU64,
}

pub struct Limiter {
    shared: Option<Arc<dyn Counters>>,
    local: Arc<InProcess>,
    policy: ArcSwap<PolicyIndex>,
    db_rows: ArcSwap<(Vec<crate::store::BudgetRow>, Vec<crate::store::RateRow>)>,
    config: ArcSwap<LimitsSection>,
    clock: Arc<dyn Clock>,
    store: Store,
    seeding: tokio::sync::Mutex<()>,
    pub stats: LimitStats,
}

impl Limiter {
    pub fn new(store: Store, config: &LimitsSection, shared: Option<Arc<dyn Counters>>, clock: Arc<dyn Clock>) -> Self {
        Self {
            shared,
            local: Arc::new(InProcess::default()),
            policy: ArcSwap::from_pointee(PolicyIndex::build(config, &[], &[])),
            db_rows: ArcSwap::from_pointee((Vec::new(), Vec::new())),
            config: ArcSwap::from_pointee(config.clone()),
            clock,
            store,
            seeding: tokio::sync::Mutex::new(()),
            stats: LimitStats::default(),
        }
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Reloads budgets and limits set in the database (on a change-counter move).
    pub async fn reload(&self, store: &Store) -> Result<(), crate::store::StoreError> {
        let budgets = store.list_budgets(None).await?;
        let rates = store.list_rates(None).await?;
        self.policy.store(Arc::new(PolicyIndex::build(&self.config.load(), &budgets, &rates)));
        self.db_rows.store(Arc::new((budgets, rates)));
        Ok(())
    }

    /// Applies an edited config's defaults.
    pub fn apply_config(&self, config: &LimitsSection) {
        self.config.store(Arc::new(config.clone()));
        let rows = self.db_rows.load();
        self.policy.store(Arc::new(PolicyIndex::build(config, &rows.0, &rows.1)));
    }

    pub fn policy_for(&self, agent_name: &str) -> Arc<AgentPolicy> {
        self.policy.load().for_agent(agent_name)
    }

    /// Rebuilds this process's counters from the audit store (at start, in-process state).
    pub async fn seed_local(&self) -> Result<(), crate::store::StoreError> {
        let values = self.rebuild_from_audit().await?;
        self.local.seed_now(&values);
        Ok(())
    }

    async fn seed_shared(&self, shared: &Arc<dyn Counters>) -> Result<(), CounterError> {
        let _guard = self.seeding.lock().await;
        let values = self.rebuild_from_audit().await.map_err(|e| CounterError(e.to_string()))?;
        tracing::info!(counters = values.len(), "rebuilding shared budget counters from the audit store");
        shared.seed(&values, self.now_ms()).await
    }

    /// Counter values for the windows now open, from the audit trail (minute to day) and the
    /// daily rollup (month, lifetime).
    async fn rebuild_from_audit(&self) -> Result<Vec<(String, i64, i64)>, crate::store::StoreError> {
        let now = self.now_ms();
        let mut out = Vec::new();
        for period in Period::ALL {
            let (start, end) = window::window(period, now);
            let rows = match period {
                Period::Minute | Period::Hour | Period::Day => self.store.usage_since(start).await?,
                Period::Month | Period::Lifetime => self.store.daily_usage_since(start).await?,
            };
            let mut totals: std::collections::HashMap<(String, String), (i64, i64, f64)> = Default::default();
            for r in rows {
                for model in [r.model.clone(), "*".to_string()] {
                    let e = totals.entry((r.agent_id.clone(), model)).or_default();
                    e.0 += r.requests;
                    e.1 += r.tokens;
                    e.2 += r.cost_usd;
                }
            }
            for ((agent, model), (requests, tokens, cost)) in totals {
                out.push((budget_key(&agent, &model, BudgetKind::Tokens, period, start), tokens, end));
                out.push((budget_key(&agent, &model, BudgetKind::CostUsd, period, start), (cost * MICROS_PER_USD).round() as i64, end));
                if period == Period::Minute {
                    out.push((rate_key('r', &agent, &model, start), requests, end));
                    out.push((rate_key('t', &agent, &model, start), tokens, end));
                }
            }
        }
        Ok(out)
    }

    /// Reserves what the call may use, or says why it may not run.
    pub async fn admit(&self, call: &CallShape<'_>) -> Result<Option<Admission>, Refusal> {
        let policy = self.policy_for(call.agent_name);
        let budgets: Vec<&Budget> = policy.budgets.iter().filter(|b| b.model.as_deref().is_none_or(|m| m == call.model)).collect();
        let rates: Vec<&Rate> = policy
            .rates
            .iter()
            .filter(|r| r.model.as_deref().is_none_or(|m| m == call.model))
            .collect();
        if budgets.is_empty() && rates.is_empty() {
            return Ok(None);
        }
        let counts_tokens = !budgets.is_empty() || rates.iter().any(|r| r.tpm.is_some());
        let inject_max_output = (call.has_output && counts_tokens && call.requested_max_output.is_none())
            .then(|| self.config.load().default_max_output_tokens);
        let max_output = if call.has_output { call.requested_max_output.or(inject_max_output).unwrap_or(0).saturating_mul(call.choices.max(1)) } else { 0 };
        let cheap_input = (call.body.len() as f64 / call.bytes_per_token).ceil() as i64;

        let now = self.now_ms();
        let mut input_bound = cheap_input;
        let mut exact_done = false;
        let mut seeded = false;
        loop {
            let held = self.charges(call, &budgets, &rates, input_bound, max_output as i64, now);
            let charges: Vec<Charge> = held.iter().map(|h| h.charge.clone()).collect();
            let (result, local) = self.reserve(&charges, now).await?;
            match result {
                Reserved::Admitted { values, epoch } => {
                    let reserved_tokens = input_bound + max_output as i64;
                    let reset_at_ms = held.iter().map(|h| h.charge.expires_at_ms).collect();
                    return Ok(Some(Admission { held, values_after: values, epoch, local, reserved_tokens, inject_max_output, reset_at_ms }));
                }
                Reserved::NeedsSeed => self.reseed_once(&mut seeded).await?,
                Reserved::Refused { index, current } => {
                    let h = &held[index];
                    // The cheap bound overshoots; near the limit, count exactly before refusing.
                    if h.unit != Unit::Requests && !exact_done {
                        exact_done = true;
                        let body = call.body.clone();
                        let margin = call.token_margin;
                        let count = call.exact_input;
                        let exact = tokio::task::spawn_blocking(move || (count(&body) as f64 * margin).ceil() as i64 + 8)
                            .await
                            .unwrap_or(cheap_input);
                        if exact < input_bound {
                            input_bound = exact;
                            continue;
                        }
                    }
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    return Err(self.refusal(h, current, now));
                }
            }
        }
    }

    fn refusal(&self, h: &Held, current: i64, now: i64) -> Refusal {
        let remaining = (h.charge.limit - current).max(0);
        let fmt = |v: i64| match h.unit {
            Unit::CostMicros => format!("${:.4}", v as f64 / MICROS_PER_USD),
            _ => v.to_string(),
        };
        let reset = h.charge.expires_at_ms;
        let retry_after_secs = secs_until(reset, now).unwrap_or(0);
        let mut headers: Vec<(String, String)> = rate_headers(h, current, reset, now)
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        if retry_after_secs > 0 {
            headers.insert(0, ("retry-after".into(), retry_after_secs.to_string()));
        }
        Refusal::Exceeded { what: h.label.text(), limit: fmt(h.charge.limit), remaining: fmt(remaining), needed: fmt(h.charge.amount), reset_at_ms: reset, retry_after_secs, headers }
    }

    /// Runs a reservation on the shared counters, or locally when there are none or (with
    /// `fail_open`) when they are unreachable. Returns whether it ran locally.
    async fn reserve(&self, charges: &[Charge], now: i64) -> Result<(Reserved, bool), Refusal> {
        let Some(shared) = &self.shared else {
            return Ok((self.local.reserve_now(charges, now), true));
        };
        match shared.reserve(charges, now).await {
            Ok(r) => Ok((r, false)),
            Err(e) => {
                self.stats.redis_failures.fetch_add(1, Ordering::Relaxed);
                match self.config.load().redis_failure {
                    RedisFailure::FailOpen => {
                        self.stats.fail_open_fallbacks.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(error = %e, "Redis unreachable: enforcing budgets and limits on this replica's own counters (fail_open)");
                        Ok((self.local.reserve_now(charges, now), true))
                    }
                    RedisFailure::FailClosed => {
                        tracing::warn!(error = %e, "Redis unreachable: refusing calls (fail_closed)");
                        Err(Refusal::Unavailable)
                    }
                }
            }
        }
    }

    fn charges(&self, call: &CallShape<'_>, budgets: &[&Budget], rates: &[&Rate], input_bound: i64, max_output: i64, now: i64) -> Vec<Held> {
        let tokens = input_bound + max_output;
        let cost_micros = call.price.map_or(0, |p| {
            ((input_bound as f64 * p.input_per_mtok + max_output as f64 * p.output_per_mtok) / 1_000_000.0 * MICROS_PER_USD).ceil() as i64
        });
        let mut held = Vec::with_capacity(budgets.len() + rates.len() * 2);
        for b in budgets {
            let (start, end) = window::window(b.period, now);
            let model = b.model.as_deref().unwrap_or("*");
            let (unit, amount, limit) = match b.kind {
                BudgetKind::Tokens => (Unit::Tokens, tokens, b.amount as i64),
                BudgetKind::CostUsd => (Unit::CostMicros, cost_micros, (b.amount * MICROS_PER_USD).round() as i64),
            };
            held.push(Held {
                charge: Charge { key: budget_key(call.agent_id, model, b.kind, b.period, start), amount, limit, expires_at_ms: end },
                unit,
                label: Label::Budget { kind: b.kind, period: b.period, model: b.model.clone() },
            });
        }
        let (start, end) = window::window(Period::Minute, now);
        for r in rates {
            let model = r.model.as_deref().unwrap_or("*");
            if let Some(rpm) = r.rpm {
                held.push(Held {
                    charge: Charge { key: rate_key('r', call.agent_id, model, start), amount: 1, limit: rpm as i64, expires_at_ms: end },
                    unit: Unit::Requests,
                    label: Label::RequestsPerMinute { model: r.model.clone() },
                });
            }
            if let Some(tpm) = r.tpm {
                held.push(Held {
                    charge: Charge { key: rate_key('t', call.agent_id, model, start), amount: tokens, limit: tpm as i64, expires_at_ms: end },
                    unit: Unit::Tokens,
                    label: Label::TokensPerMinute { model: r.model.clone() },
                });
            }
        }
        held
    }

    /// Counts `requests` MCP requests (a batch counts each item) against the agent's `mcp_rpm`;
    /// refused, and not counted, when they do not fit. Returns the `x-ratelimit-*` headers to
    /// send (none when no limit applies).
    pub async fn admit_mcp(&self, agent_id: &str, agent_name: &str, requests: u64) -> Result<Vec<(HeaderName, HeaderValue)>, Refusal> {
        let limit = self.policy_for(agent_name).mcp_rpm;
        self.admit_requests(limit, 'm', Label::McpRequestsPerMinute, agent_id, requests).await
    }

    /// As [`Limiter::admit_mcp`], for A2A requests against the agent's `a2a_rpm`.
    pub async fn admit_a2a(&self, agent_id: &str, agent_name: &str, requests: u64) -> Result<Vec<(HeaderName, HeaderValue)>, Refusal> {
        let limit = self.policy_for(agent_name).a2a_rpm;
        self.admit_requests(limit, 'a', Label::A2aRequestsPerMinute, agent_id, requests).await
    }

    /// Counts requests of one kind (its counter's letter) against a per-minute limit of the agent.
    async fn admit_requests(&self, limit: Option<u64>, counter: char, label: Label, agent_id: &str, requests: u64) -> Result<Vec<(HeaderName, HeaderValue)>, Refusal> {
        let Some(limit) = limit else { return Ok(Vec::new()) };
        if requests == 0 {
            return Ok(Vec::new());
        }
        let now = self.now_ms();
        let (start, end) = window::window(Period::Minute, now);
        let amount = i64::try_from(requests).unwrap_or(i64::MAX);
        let held = Held {
            charge: Charge { key: rate_key(counter, agent_id, "*", start), amount, limit: i64::try_from(limit).unwrap_or(i64::MAX), expires_at_ms: end },
            unit: Unit::Requests,
            label,
        };
        let mut seeded = false;
        loop {
            match self.reserve(std::slice::from_ref(&held.charge), now).await?.0 {
                Reserved::Admitted { values, .. } => return Ok(rate_headers(&held, values.first().copied().unwrap_or(amount), end, now).to_vec()),
                // Shared counters that were lost are rebuilt first, as for LLM calls.
                Reserved::NeedsSeed => self.reseed_once(&mut seeded).await?,
                Reserved::Refused { current, .. } => {
                    self.stats.refused.fetch_add(1, Ordering::Relaxed);
                    return Err(self.refusal(&held, current, now));
                }
            }
        }
    }

    /// Rebuilds lost shared counters the first time a reservation finds them missing; a second
    /// miss means the shared store cannot hold them, and the call is refused as unavailable.
    async fn reseed_once(&self, seeded: &mut bool) -> Result<(), Refusal> {
        if std::mem::replace(seeded, true) {
            return Err(Refusal::Unavailable);
        }
        if let Some(shared) = &self.shared {
            if let Err(e) = self.seed_shared(shared).await {
                tracing::warn!(error = %e, "rebuilding shared counters failed");
            }
        }
        Ok(())
    }

    /// Settles at once when the reservation lives in this process (no task, no wake-up);
    /// otherwise returns false and the caller settles asynchronously.
    pub fn settle_local(&self, admission: &Admission, tokens: i64, cost_usd: f64) -> bool {
        if self.shared.is_some() && !admission.local {
            return false;
        }
        let cost_micros = (cost_usd * MICROS_PER_USD).round() as i64;
        self.local.adjust_now(&self.deltas(admission, tokens, cost_micros), self.now_ms());
        self.count_excess(admission, tokens);
        true
    }

    fn deltas(&self, admission: &Admission, tokens: i64, cost_micros: i64) -> Vec<Delta> {
        admission
            .held
            .iter()
            .filter(|h| h.unit != Unit::Requests)
            .map(|h| {
                let used = if h.unit == Unit::Tokens { tokens } else { cost_micros };
                Delta { key: h.charge.key.clone(), delta: used - h.charge.amount, full: used, expires_at_ms: h.charge.expires_at_ms }
            })
            .collect()
    }

    fn count_excess(&self, admission: &Admission, tokens: i64) -> i64 {
        let excess = (tokens - admission.reserved_tokens).max(0);
        if excess > 0 {
            self.stats.excess_calls.fetch_add(1, Ordering::Relaxed);
            self.stats.excess_tokens.fetch_add(excess as u64, Ordering::Relaxed);
        }
        excess
    }

    /// Moves the reserved counters to the real usage. Returns the tokens used beyond the
    /// reservation (charged all the same).
    pub async fn settle(&self, admission: &Admission, tokens: i64, cost_usd: f64) -> i64 {
        let cost_micros = (cost_usd * MICROS_PER_USD).round() as i64;
        let now = self.now_ms();
        let deltas = self.deltas(admission, tokens, cost_micros);
        let excess = self.count_excess(admission, tokens);
        match (&self.shared, admission.local) {
            (Some(shared), false) => {
                if let Err(e) = shared.adjust(&deltas, &admission.epoch, now).await {
                    self.stats.redis_failures.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(error = %e, "could not reconcile a reservation in Redis");
                }
            }
            _ => self.local.adjust_now(&deltas, now),
        }
        excess
    }

    /// Usage and what remains, per budget and window, for the admin API and console.
    pub async fn report(&self, agent_id: &str, agent_name: &str) -> Vec<WindowReport> {
        let policy = self.policy_for(agent_name);
        let now = self.now_ms();
        let mut keys = Vec::new();
        let mut rows = Vec::new();
        for b in &policy.budgets {
            let (start, end) = window::window(b.period, now);
            keys.push(budget_key(agent_id, b.model.as_deref().unwrap_or("*"), b.kind, b.period, start));
            rows.push(WindowReport {
                model: b.model.clone(),
                kind: b.kind.as_str().into(),
                period: b.period.as_str().into(),
                limit: b.amount,
                used: 0.0,
                remaining: 0.0,
                window_start_ms: start,
                resets_at_ms: (end < i64::MAX / 2).then_some(end),
                source: b.source.into(),
                refused_calls: None,
                usage: None,
            });
        }
        let values = match &self.shared {
            Some(shared) => {
                if matches!(shared.seeded().await, Ok(false)) {
                    if let Err(e) = self.seed_shared(shared).await {
                        tracing::warn!(error = %e, "rebuilding shared counters failed");
                    }
                }
                shared.read(&keys, now).await.unwrap_or_else(|_| self.local.read_now(&keys, now))
            }
            None => self.local.read_now(&keys, now),
        };
        for (row, v) in rows.iter_mut().zip(values) {
            row.used = if row.kind == "cost_usd" { v as f64 / MICROS_PER_USD } else { v as f64 };
            row.remaining = (row.limit - row.used).max(0.0);
        }
        rows
    }
}

pub use weir_api::BudgetWindow as WindowReport;

fn budget_key(agent_id: &str, model: &str, kind: BudgetKind, period: Period, window_start: i64) -> String {
    let k = match kind {
        BudgetKind::Tokens => "t",
        BudgetKind::CostUsd => "c",
    };
    counter_key(&["b", agent_id, model, k, period.as_str()], window_start)
}

fn rate_key(kind: char, agent_id: &str, model: &str, minute_start: i64) -> String {
    let mut k = [0u8; 4];
    counter_key(&[kind.encode_utf8(&mut k), agent_id, model], minute_start)
}

/// `part:part:…:window`, built without the formatting machinery (this runs for every counter
/// of every call).
fn counter_key(parts: &[&str], window: i64) -> String {
    let mut buf = itoa::Buffer::new();
    let window = buf.format(window);
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + window.len());
    for p in parts {
        key.push_str(p);
        key.push(':');
    }
    key.push_str(window);
    key
}

/// A change to an agent's budget, checked the same way for the CLI, the admin API and the
/// console.
#[derive(Debug, Clone)]
pub struct BudgetChange {
    pub model: String,
    pub kind: BudgetKind,
    pub period: Period,
    pub amount: f64,
}

impl BudgetChange {
    pub fn parse(tokens: Option<u64>, cost_usd: Option<f64>, period: &str, model: Option<&str>, known_models: &[&str]) -> Result<Self, String> {
        let period = Period::parse(period).ok_or_else(|| format!("period `{period}` must be one of minute, hour, day, month, lifetime"))?;
        let (kind, amount) = match (tokens, cost_usd) {
            (Some(t), None) => (BudgetKind::Tokens, t as f64),
            (None, Some(c)) if c.is_finite() && c >= 0.0 => (BudgetKind::CostUsd, c),
            (None, Some(_)) => return Err("the cost must be a non-negative number of US dollars".into()),
            _ => return Err("give exactly one of a token amount and a cost in US dollars".into()),
        };
        if let Some(m) = model {
            if !known_models.contains(&m) {
                return Err(format!("unknown model `{m}` (configured: {})", known_models.join(", ")));
            }
        }
        Ok(Self { model: model.unwrap_or_default().to_string(), kind, period, amount })
    }

    pub async fn apply(&self, store: &Store, agent: &str) -> Result<(), crate::store::StoreError> {
        store.set_budget(agent, &self.model, self.kind.as_str(), self.period.as_str(), self.amount).await
    }
}

/// A change to an agent's rate limits, checked the same way for the CLI, the admin API and the
/// console: for each limit, `None` keeps it, `Some(None)` removes it, `Some(Some(n))` sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateChange {
    pub rpm: Option<Option<u64>>,
    pub tpm: Option<Option<u64>>,
    pub mcp_rpm: Option<Option<u64>>,
    pub a2a_rpm: Option<Option<u64>>,
}

/// Why a rate change cannot apply (each caller says it in its own terms: fields or flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateChangeError {
    /// No limit named.
    Nothing,
    /// `mcp_rpm` or `a2a_rpm` given with a model: each is a limit of the agent as a whole.
    McpRpmWithModel,
}

impl RateChange {
    /// Why the change cannot apply to `model`'s scope, if it cannot.
    pub fn check(&self, model: Option<&str>) -> Result<(), RateChangeError> {
        if self.rpm.is_none() && self.tpm.is_none() && self.mcp_rpm.is_none() && self.a2a_rpm.is_none() {
            return Err(RateChangeError::Nothing);
        }
        if model.is_some() && (self.mcp_rpm.is_some() || self.a2a_rpm.is_some()) {
            return Err(RateChangeError::McpRpmWithModel);
        }
        Ok(())
    }
}

/// Sets an agent's limits for one scope, keeping those the change does not name.
pub async fn set_rate_limits(store: &Store, agent: &str, model: Option<&str>, change: RateChange) -> Result<(), crate::store::StoreError> {
    let model = model.unwrap_or_default();
    let current = store.list_rates(Some(agent)).await?.into_iter().find(|r| r.model == model).map(|r| r.rates).unwrap_or_default();
    let keep = |new: Option<Option<u64>>, old: Option<i64>| match new {
        Some(v) => v.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
        None => old,
    };
    let rates = crate::store::RateValues {
        rpm: keep(change.rpm, current.rpm),
        tpm: keep(change.tpm, current.tpm),
        mcp_rpm: keep(change.mcp_rpm, current.mcp_rpm),
        a2a_rpm: keep(change.a2a_rpm, current.a2a_rpm),
    };
    // Nothing of the agent's own left in this scope: the row goes, and the config's defaults
    // apply (an empty row would read as "no limit").
    if rates.rpm.is_none() && rates.tpm.is_none() && rates.mcp_rpm.is_none() && rates.a2a_rpm.is_none() {
        return store.delete_rate(agent, model).await;
    }
    store.set_rate(agent, model, rates).await
}

#[cfg(test)]
mod tests {
    use super::Unit;

    #[test]
    fn cost_headers_are_dollars_with_six_decimals() {
        for (micros, text) in [(0, "0.000000"), (7, "0.000007"), (1_500_000, "1.500000"), (123_456_789, "123.456789"), (-2_000_001, "-2.000001"), (i64::MIN, "-9223372036854.775808")] {
            assert_eq!(Unit::CostMicros.header_value(micros), text, "{micros}");
        }
        assert_eq!(Unit::Tokens.header_value(4096), "4096");
    }
}
