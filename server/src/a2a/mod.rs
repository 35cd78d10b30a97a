//! The A2A gateway: agents calling agents through Weir at `/a2a/{agent}`, in both deployed
//! protocol versions (v0.3 and v1.0) and both bindings HTTP carries (JSON-RPC and
//! HTTP+JSON/REST). Weir understands both versions and converts between neither: a caller's
//! request reaches the target as the caller wrote it, less the caller's Weir key and plus the
//! target's own credentials and the call's trace.
//!
//! One concern a module: `edge` (the routes and a request's stages), `card` (the agent card
//! as callers see it, and the routes it implies), `protocol` (what Weir reads of requests and
//! answers), `policy` (who may call whom), `tasks` (who owns which task), `webhooks`
//! (push-notification URLs), `stream` (streamed answers), `record` (audit and span) and
//! `gateway` (what every request shares). Nothing here blocks on the database on a request's
//! path; records go to the audit queue.

pub mod card;
mod edge;
pub mod gateway;
pub mod policy;
pub mod protocol;
mod record;
mod stream;
pub mod tasks;
pub mod webhooks;

pub use edge::routes;
pub use gateway::A2aGateway;
