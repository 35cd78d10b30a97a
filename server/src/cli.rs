//! The `weir` command line: `serve`, `migrate`, `agents`, `keys`, `config check`.
//!
//! Commands other than `serve` write the database directly; the server need not run. Output
//! meant for scripts goes to stdout (a new key, alone on its line); everything else to stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::{Config, Env};
use crate::identity::{self, KeyRequest};
use crate::store::Store;
use crate::telemetry::Telemetry;

#[derive(Debug, Parser)]
#[command(name = "weir", version, about = "A gateway for AI agents' LLM, MCP and A2A traffic")]
pub struct Cli {
    /// Config file (TOML). Defaults to $WEIR_CONFIG, then the embedded defaults.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage agents.
    #[command(subcommand)]
    Agents(AgentsCommand),
    /// Manage agents' API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Set and show agents' token and cost budgets.
    #[command(subcommand)]
    Budgets(BudgetsCommand),
    /// Set and show agents' rate limits (requests and tokens per minute).
    #[command(subcommand)]
    Limits(LimitsCommand),
    /// Work with config files.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum BudgetsCommand {
    /// Set a budget: a number of tokens or a cost in US dollars per window.
    Set {
        agent: String,
        #[arg(long, conflicts_with = "cost_usd", required_unless_present = "cost_usd")]
        tokens: Option<u64>,
        #[arg(long = "cost-usd")]
        cost_usd: Option<f64>,
        /// minute, hour, day, month (calendar-aligned, UTC) or lifetime.
        #[arg(long)]
        period: String,
        /// Only for this model (default: every model).
        #[arg(long)]
        model: Option<String>,
    },
    /// Show an agent's budgets, what was used in each open window and what remains.
    Show { agent: String },
    /// Remove a budget set for an agent (a config default, if any, applies again).
    Unset {
        agent: String,
        #[arg(long)]
        period: String,
        /// tokens or cost_usd.
        #[arg(long, default_value = "tokens")]
        kind: String,
        #[arg(long)]
        model: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum LimitsCommand {
    /// Set requests per minute and/or tokens per minute (`off` removes one).
    Set {
        agent: String,
        #[arg(long, value_parser = parse_limit)]
        rpm: Option<LimitValue>,
        #[arg(long, value_parser = parse_limit)]
        tpm: Option<LimitValue>,
        /// MCP requests per minute (for the agent as a whole: not with --model).
        #[arg(long, value_parser = parse_limit)]
        mcp_rpm: Option<LimitValue>,
        /// A2A requests per minute (for the agent as a whole: not with --model).
        #[arg(long, value_parser = parse_limit)]
        a2a_rpm: Option<LimitValue>,
        #[arg(long)]
        model: Option<String>,
    },
    /// Show an agent's rate limits.
    Show { agent: String },
}

#[derive(Debug, Clone, Copy)]
pub struct LimitValue(Option<u64>);

fn parse_limit(s: &str) -> Result<LimitValue, String> {
    if s == "off" {
        return Ok(LimitValue(None));
    }
    s.parse::<u64>().map(|n| LimitValue(Some(n))).map_err(|_| format!("`{s}` is not a number (or `off`)"))
}

#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Create an agent.
    Create {
        name: String,
        /// Never store this agent's request and response bodies in the audit trail.
        #[arg(long)]
        no_capture_bodies: bool,
    },
    /// List agents.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key for AGENT and print it (once) on stdout.
    Create {
        agent: String,
        /// Lifetime, e.g. 30d, 12h, 90m.
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        /// Comma-separated model allowlist.
        #[arg(long, value_name = "M1,M2", value_delimiter = ',')]
        models: Option<Vec<String>>,
    },
    /// List keys, of one agent or all.
    List { agent: Option<String> },
    /// Revoke a key by its id (key_…).
    Revoke { key_id: String },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config file.
    Check { path: PathBuf },
}

/// Exit code 2: the configuration is wrong. 1: anything else failed.
pub async fn run(cli: Cli, env: Env) -> ExitCode {
    if let Command::Config(ConfigCommand::Check { path }) = &cli.command {
        return match Config::load(Some(path), &env) {
            Ok(cfg) => {
                for w in &cfg.warnings {
                    eprintln!("warning: {w}");
                }
                println!("{}: OK ({} providers, {} models)", path.display(), cfg.providers.len(), cfg.models.len());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                ExitCode::from(2)
            }
        };
    }
    let config = match Config::load(cli.config.as_deref(), &env) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: config: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Command::Serve => serve(config, &env).await,
        other => manage(other, &config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn serve(config: Config, env: &Env) -> anyhow::Result<()> {
    let telemetry = Telemetry::from_env(env)?;
    let database = database_location(&config.database_url);
    let app = App::build(config, env, telemetry).await?;
    if let Some(token) = app.generated_admin_token() {
        // Straight to standard error, not through the log: a log line travels on (JSON logs,
        // collectors) and the token must not.
        eprintln!("weir: WEIR_ADMIN_TOKEN is not set; this run's admin token (shown once): {} — sign in to the console at {}", token.expose_secret(), app.console_url());
    } else {
        eprintln!("weir: console at {} (sign in with WEIR_ADMIN_TOKEN)", app.console_url());
    }
    eprintln!("weir: database {database}");
    app.run(shutdown_signal()).await
}

/// Where the database is, for people: a SQLite file as an absolute path (a relative one is
/// relative to the directory Weir was started in, and the CLI must run there too); a Postgres
/// database by host and name, never its credentials.
pub fn database_location(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = rest.split('?').next().unwrap_or(rest);
        if path == ":memory:" || path.is_empty() {
            return "in memory (SQLite; nothing is kept)".into();
        }
        let p = std::path::Path::new(path);
        let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir().map(|d| d.join(p)).unwrap_or_else(|_| p.to_path_buf()) };
        return format!("{} (SQLite)", abs.display());
    }
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let host_and_db = after_scheme.rsplit_once('@').map_or(after_scheme, |(_, r)| r);
    format!("{} (PostgreSQL)", host_and_db.split('?').next().unwrap_or(host_and_db))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url, 2).await.context("opening the database")?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

fn fmt_time(ms: Option<i64>) -> String {
    ms.and_then(|ms| time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok())
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| "-".into())
}

async fn manage(command: Command, config: &Config) -> anyhow::Result<()> {
    let store = open_store(config).await?;
    match command {
        Command::Migrate => eprintln!("migrations applied to {}", redact_url(&config.database_url)),
        Command::Agents(AgentsCommand::Create { name, no_capture_bodies }) => {
            let agent = identity::create_agent(&store, &name, no_capture_bodies.then_some(false)).await?;
            eprintln!("created agent {} ({})", agent.name, agent.id);
        }
        Command::Agents(AgentsCommand::List) => {
            println!("{:<32} {:<38} {:<10} CREATED", "NAME", "ID", "BODIES");
            for a in store.list_agents().await? {
                let bodies = match a.capture_bodies {
                    Some(true) => "captured",
                    Some(false) => "off",
                    None => "default",
                };
                println!("{:<32} {:<38} {:<10} {}", a.name, a.id, bodies, fmt_time(Some(a.created_at)));
            }
        }
        Command::Keys(KeysCommand::Create { agent, expires, models }) => {
            let expires_in = expires
                .as_deref()
                .map(humantime::parse_duration)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--expires: {e} (use e.g. 30d, 12h, 90m)"))?;
            let new = identity::create_key(&store, KeyRequest { agent, expires_in, models }).await?;
            eprintln!(
                "created key {} for agent {}{} — store it now, it is not shown again",
                new.row.id,
                new.row.agent,
                new.row.expires_at.map(|t| format!(", expires {}", fmt_time(Some(t)))).unwrap_or_default()
            );
            println!("{}", new.secret);
        }
        Command::Keys(KeysCommand::List { agent }) => {
            println!("{:<18} {:<24} {:<11} {:<24} {:<25} {:<25} CREATED", "ID", "AGENT", "PREFIX", "MODELS", "EXPIRES", "REVOKED");
            for k in store.list_keys(agent.as_deref()).await? {
                let models = k.models.map(|m| m.join(",")).unwrap_or_else(|| "*".into());
                println!(
                    "{:<18} {:<24} {:<11} {:<24} {:<25} {:<25} {}",
                    k.id,
                    k.agent,
                    k.prefix,
                    models,
                    fmt_time(k.expires_at),
                    fmt_time(k.revoked_at),
                    fmt_time(Some(k.created_at))
                );
            }
        }
        Command::Keys(KeysCommand::Revoke { key_id }) => {
            let k = store.revoke_key(&key_id).await?;
            eprintln!("revoked key {} of agent {}", k.id, k.agent);
        }
        Command::Budgets(BudgetsCommand::Set { agent, tokens, cost_usd, period, model }) => {
            let models: Vec<&str> = config.models.iter().map(|m| m.name.as_str()).collect();
            let change = crate::limits::BudgetChange::parse(tokens, cost_usd, &period, model.as_deref(), &models).map_err(|e| anyhow::anyhow!(e))?;
            change.apply(&store, &agent).await?;
            eprintln!("budget set for agent {agent}; every running replica applies it within 2 seconds");
        }
        Command::Budgets(BudgetsCommand::Unset { agent, period, kind, model }) => {
            if !store.delete_budget(&agent, model.as_deref().unwrap_or_default(), &kind, &period).await? {
                anyhow::bail!("no {kind} budget per {period} is set for agent {agent}");
            }
            eprintln!("budget removed for agent {agent}");
        }
        Command::Budgets(BudgetsCommand::Show { agent }) => {
            let row = store.agent_by_name(&agent).await?.ok_or_else(|| anyhow::anyhow!("no agent named `{agent}`"))?;
            // Usage as the audit store records it (calls in flight on a running server are not
            // counted here).
            let limiter = crate::limits::Limiter::new(store.clone(), &config.limits, None, std::sync::Arc::new(crate::limits::SystemClock));
            limiter.reload(&store).await?;
            limiter.seed_local().await?;
            let windows = limiter.report(&row.id, &row.name).await;
            if windows.is_empty() {
                println!("agent {agent} has no budget");
            } else {
                println!("{:<10} {:<9} {:<16} {:>16} {:>16} {:>16}  {:<25} SOURCE", "KIND", "PERIOD", "MODEL", "LIMIT", "USED", "REMAINING", "RESETS");
                for w in windows {
                    let fmt = |v: f64| if w.kind == "cost_usd" { format!("${v:.4}") } else { format!("{v:.0}") };
                    println!(
                        "{:<10} {:<9} {:<16} {:>16} {:>16} {:>16}  {:<25} {}",
                        w.kind,
                        w.period,
                        w.model.as_deref().unwrap_or("*"),
                        fmt(w.limit),
                        fmt(w.used),
                        fmt(w.remaining),
                        w.resets_at_ms.map(|t| fmt_time(Some(t))).unwrap_or_else(|| "never".into()),
                        w.source
                    );
                }
            }
        }
        Command::Limits(LimitsCommand::Set { agent, rpm, tpm, mcp_rpm, a2a_rpm, model }) => {
            let change = crate::limits::RateChange { rpm: rpm.map(|v| v.0), tpm: tpm.map(|v| v.0), mcp_rpm: mcp_rpm.map(|v| v.0), a2a_rpm: a2a_rpm.map(|v| v.0) };
            match change.check(model.as_deref()) {
                Ok(()) => {}
                Err(crate::limits::RateChangeError::Nothing) => anyhow::bail!("give --rpm, --tpm, --mcp-rpm, --a2a-rpm or several"),
                Err(crate::limits::RateChangeError::McpRpmWithModel) => anyhow::bail!("--mcp-rpm and --a2a-rpm are per agent: give them without --model"),
            }
            if let Some(m) = &model {
                if config.model(m).is_none() {
                    anyhow::bail!("unknown model `{m}`");
                }
            }
            crate::limits::set_rate_limits(&store, &agent, model.as_deref(), change).await?;
            eprintln!("rate limits set for agent {agent}; every running replica applies them within 2 seconds");
        }
        Command::Limits(LimitsCommand::Show { agent }) => {
            store.agent_by_name(&agent).await?.ok_or_else(|| anyhow::anyhow!("no agent named `{agent}`"))?;
            let limiter = crate::limits::Limiter::new(store.clone(), &config.limits, None, std::sync::Arc::new(crate::limits::SystemClock));
            limiter.reload(&store).await?;
            let policy = limiter.policy_for(&agent);
            println!("{:<16} {:>10} {:>12}  SOURCE", "MODEL", "RPM", "TPM");
            let show = |v: Option<u64>| v.map_or("-".to_string(), |n| n.to_string());
            for r in &policy.rates {
                println!("{:<16} {:>10} {:>12}  {}", r.model.as_deref().unwrap_or("*"), show(r.rpm), show(r.tpm), r.source);
            }
            println!("MCP requests per minute: {}", show(policy.mcp_rpm));
            println!("A2A requests per minute: {}", show(policy.a2a_rpm));
        }
        Command::Serve | Command::Config(_) => unreachable!("handled in run"),
    }
    store.close().await;
    Ok(())
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::database_location;

    #[test]
    fn the_database_is_named_where_it_is_and_without_credentials() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(database_location("sqlite://weir.db"), format!("{} (SQLite)", here.join("weir.db").display()));
        assert_eq!(database_location("sqlite:///var/lib/weir/weir.db?mode=rwc"), "/var/lib/weir/weir.db (SQLite)");
        assert_eq!(database_location("sqlite::memory:"), "in memory (SQLite; nothing is kept)");
        let pg = database_location("postgres://weir:s3cret@db:5432/weir?sslmode=require");
        assert_eq!(pg, "db:5432/weir (PostgreSQL)");
        assert!(!pg.contains("s3cret"));
    }
}
