//! Behaviour of the whole gateway: in-process on port 0 (`App::build`) or as the real binary,
//! against the fake provider, on SQLite and on the real Postgres (each test its own database).

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on purpose")]

mod support;

mod admin_api;
mod approvals;
mod audit_rollups;
mod cli;
mod connections;
mod console;
mod drain;
mod errors;
mod failover;
mod identity;
mod limits;
mod mcp_limits;
mod mcp_shared;
mod llm_edges;
mod llm_routes;
mod outage;
mod reload;
mod spans;
mod transport;
