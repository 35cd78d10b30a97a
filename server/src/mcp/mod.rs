//! The MCP gateway: `/mcp` (every backend this agent may use, as one server) and
//! `/mcp/{server}` (one backend, its names unchanged), over Streamable HTTP.
//!
//! A request flows: origin check → authenticate → session → parse → route (by the prefix of a
//! tool or prompt name, or of a resource URI) → authorise (`tools/call`) → backend → answer
//! (JSON when the backend's answer came alone, SSE when the backend sent anything first) →
//! record (audit event and span). This module never blocks on the database on a request's path
//! except at `initialize` of an anonymous session; records go to the audit queue.
//!
//! Revision 2026-07-28 is stateless: `stateless` takes its requests at the same routes (the
//! checks of `_meta` and the headers, `server/discover`, `subscriptions/listen`, the session Weir
//! keeps for such a client when a backend needs one) and `rounds` answers them, turning what an
//! older backend asks of its client into `input_required` round trips; a backend of that
//! revision is found and spoken to by `backend::http`, and its list pages kept by `listcache`.
//!
//! One concern a module: `edge` (the HTTP routes: origin and host checks, who is calling, which
//! session, batches, `initialize`, the GET stream, DELETE), `dispatch` (a request's method:
//! forwarding by name or URI, aggregated lists, tool calls and approvals), `authorize` (what
//! the rules allow of tools, resources, prompts and methods), `answer` (JSON or SSE answers and
//! the streams they ride on), `gateway` (the backends, sessions and guards every request
//! shares), with `session`, `shared`, `streams`, `policy`, `approvals`, `tools` and `backend`
//! below them.

pub mod approvals;
pub mod backend;
use crate::jsonrpc;
pub mod names;
pub mod policy;
mod record;
pub use record::record_decision;
pub mod scan;
pub mod session;
pub mod shared;
pub mod streams;
pub mod tools;

mod answer;
mod authorize;
mod dispatch;
mod guarded;
mod edge;
mod gateway;
mod listcache;
mod rounds;
pub mod stateless;

pub use edge::routes;
pub use gateway::{McpGateway, PROTOCOL_VERSIONS};
use answer::*;
use authorize::*;
use dispatch::*;
use edge::*;
use gateway::*;

/// A request Weir refused or could not complete: the HTTP status it is recorded with, the audit
/// trail's error type, and the JSON-RPC answer the client gets.
#[derive(Debug)]
pub(crate) struct McpError {
    pub status: u16,
    pub error_type: &'static str,
    pub answer: Value,
}

impl McpError {
    pub(crate) fn new(status: u16, error_type: &'static str, answer: Value) -> Self {
        Self { status, error_type, answer }
    }
}

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::state::AppState;
use crate::config::{McpConfig, McpTransport};
use backend::http::HttpServer;
use backend::stdio::{StdioLink, StdioServer};
use backend::{BackendError, InitParams, Link, Related, Sink, SINK_CAPACITY};
use jsonrpc::Kind;
use policy::Decision;
use record::McpRecord;
use session::{LocalSessions, Session, SessionMap, SessionPrincipal};
use shared::{Relayed, Shared};
use streams::StreamStore;
use approvals::{Approvals, Held};
use tools::{ToolGuard, Verdict};
use crate::config::SuspiciousTools;
use crate::store::{NewApproval, Store};

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(hosts: &[&str], origins: &[&str]) -> McpConfig {
        let mut c = crate::config::Config::from_toml("", &crate::config::Env::default()).unwrap().mcp;
        c.allowed_hosts = hosts.iter().map(|s| s.to_string()).collect();
        c.allowed_origins = origins.iter().map(|s| s.to_string()).collect();
        c
    }

    fn req(host: &str, origin: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_str(host).unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        h
    }

    fn refused(host: &str, origin: Option<&str>, c: &McpConfig, listen: &str) -> bool {
        origin_refused(&req(host, origin), c, listen.parse().unwrap()).is_some()
    }

    #[test]
    fn a_loopback_listener_answers_only_to_loopback_names() {
        let c = cfg(&[], &[]);
        let l = "127.0.0.1:4000";
        assert!(!refused("localhost:4000", None, &c, l));
        assert!(!refused("127.0.0.1:4000", None, &c, l));
        assert!(!refused("[::1]:4000", None, &c, l));
        assert!(!refused("LOCALHOST", None, &c, l));
        // A rebound name, even when its page's Origin matches it.
        assert!(refused("evil.example.com", Some("http://evil.example.com"), &c, l));
        assert!(refused("evil.example.com:4000", None, &c, l));
        assert!(refused("localhost.evil.example.com", None, &c, l));
        assert!(refused("127.0.0.1.evil.example.com:4000", None, &c, l));
    }

    #[test]
    fn browser_origins_must_be_loopback_allowed_hosts_or_listed() {
        let c = cfg(&["weir.internal"], &["https://app.example.com"]);
        let l = "0.0.0.0:4000";
        assert!(!refused("weir.internal:4000", None, &c, l));
        assert!(!refused("weir.internal:4000", Some("http://localhost:3000"), &c, l));
        assert!(!refused("weir.internal:4000", Some("https://weir.internal"), &c, l));
        assert!(!refused("weir.internal:4000", Some("https://app.example.com"), &c, l));
        assert!(refused("weir.internal:4000", Some("https://evil.example.com"), &c, l));
        assert!(refused("weir.internal:4000", Some("https://app.example.com.evil.net"), &c, l));
        assert!(refused("weir.internal:4000", Some("null"), &c, l));
        // Listed hosts bind the Host header on any listener.
        assert!(refused("other.internal", None, &c, l));
    }

    #[test]
    fn a_public_listener_without_allowed_hosts_takes_any_name_but_not_any_origin() {
        let c = cfg(&[], &[]);
        let l = "0.0.0.0:4000";
        assert!(!refused("weir.example.com", None, &c, l));
        assert!(refused("weir.example.com", Some("https://weir.example.com"), &c, l));
        assert!(!refused("weir.example.com", Some("https://weir.example.com"), &cfg(&[], &["*"]), l));
    }
}
