//! Weir: a gateway for AI agents' traffic — LLM calls (OpenAI- and Anthropic-style APIs) and MCP and
//! A2A — that authenticates each agent, forwards its calls, and records every one
//! in an audit trail and as OpenTelemetry spans.
//!
//! The library exposes [`app::App::build`] (binds the listeners, port 0 works) and the routers,
//! so tests can run the whole gateway in-process; `main.rs` only parses the command line.

pub mod a2a;
pub mod admin;
pub mod app;
pub mod audit;
pub mod cache;
pub mod call;
pub mod cli;
pub mod config;
pub mod console;
pub mod guard;
pub mod identity;
pub mod joined;
pub mod jsonrpc;
pub mod limits;
pub mod llm;
pub mod log;
pub mod mcp;
pub mod metrics;
pub mod redis_conn;
pub mod serve;
pub mod sse;
pub mod state;
mod periodic;
pub mod store;
pub mod telemetry;
pub mod workers;
