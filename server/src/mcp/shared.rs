//! MCP sessions shared by every replica through Redis (when `WEIR_REDIS_URL` is set).
//!
//! What a session is lives in Redis, under `{prefix}mcp:s:{id}`: who holds it, its endpoint,
//! the revision and capabilities the client negotiated, and per backend the backend's session
//! id, revision and `initialize` result. Any replica serves any request of the session: it
//! reads that record (one round trip, which also keeps the session alive) and adopts the
//! backend sessions as they are — a Streamable HTTP backend is reached with the same
//! `Mcp-Session-Id` from any replica. A stdio backend is a process of each replica: a replica
//! that first sees the session connects it to its own process.
//!
//! Streams: every message for the client's session stream is appended to a Redis stream
//! (`…:o`), whichever replica received it, and the replica holding the client's GET reads it
//! from there; a request's SSE answer is recorded likewise (`…:r:{n}`). Event ids are the
//! entries' ids, so a client resumes with `Last-Event-ID` on any replica, within the replay
//! window (`mcp.replay_window_secs`, at most `mcp.replay_max_events` events per stream). The
//! ids Weir gives backends' requests to the client are recorded (`…:q`), so the answer may
//! arrive at any replica; one bound for a backend only the origin replica reaches (stdio,
//! legacy SSE) is passed to it over pub/sub.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, MultiplexedConnection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
#[error("Redis: {0}")]
pub struct SharedError(String);

fn err(e: redis::RedisError) -> SharedError {
    SharedError(e.to_string())
}

/// What a replica needs to serve a session it did not begin.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub agent_id: String,
    pub agent_name: String,
    pub key_id: Option<String>,
    pub end_user: Option<String>,
    pub scope: Option<String>,
    pub protocol_version: String,
    pub client_params: Value,
    pub trace_session: String,
}

/// One backend session of a Weir session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendRecord {
    /// The backend's `Mcp-Session-Id` (Streamable HTTP); `None` for a backend each replica
    /// reaches on its own (stdio, legacy SSE).
    pub session: Option<String>,
    pub version: String,
    pub init_result: Value,
}

/// A backend's request to the client, by the id Weir gave it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingRequest {
    pub server: String,
    pub backend_id: Value,
    /// The replica that received it (the one to pass the answer to when only it can).
    pub replica: String,
}

/// An event of a stream: its id and message; `last` marks a request's response.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: String,
    pub data: String,
    pub last: bool,
}

/// A client's answer for a backend only another replica reaches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Relayed {
    pub session: String,
    pub server: String,
    pub message: Value,
}

pub struct Shared {
    conn: crate::redis_conn::LazyConnection,
    prefix: String,
    /// This process, among the replicas.
    pub replica: String,
    ttl_secs: u64,
    replay_secs: u64,
    replay_max: usize,
}

impl Shared {
    pub fn new(url: &str, prefix: &str, idle: Duration, replay_window: Duration, replay_max: usize) -> Result<Arc<Self>, SharedError> {
        Ok(Arc::new(Self {
            conn: crate::redis_conn::LazyConnection::new(url, Duration::from_secs(1), Duration::from_secs(2)).map_err(err)?,
            prefix: format!("{prefix}mcp:"),
            replica: uuid::Uuid::new_v4().simple().to_string()[..12].to_string(),
            ttl_secs: idle.as_secs().max(1),
            replay_secs: replay_window.as_secs().max(1),
            replay_max: replay_max.max(1),
        }))
    }

    async fn conn(&self) -> Result<ConnectionManager, SharedError> {
        self.conn.get().await.map_err(err)
    }

    /// A connection of its own, for [`Shared::read`] (a blocking read would hold up others).
    pub async fn reader(&self) -> Result<MultiplexedConnection, SharedError> {
        let config = redis::AsyncConnectionConfig::new().set_connection_timeout(Duration::from_secs(1)).set_response_timeout(Duration::from_secs(30));
        self.conn.client.get_multiplexed_async_connection_with_config(&config).await.map_err(err)
    }

    fn key(&self, id: &str, part: &str) -> String {
        if part.is_empty() {
            format!("{}s:{id}", self.prefix)
        } else {
            format!("{}s:{id}:{part}", self.prefix)
        }
    }

    /// The stream of a request's answer.
    pub fn request_stream(&self, id: &str, name: &str) -> String {
        self.key(id, &format!("r:{name}"))
    }

    /// The session's own stream.
    pub fn session_stream(&self, id: &str) -> String {
        self.key(id, "o")
    }

    fn channel(&self, replica: &str) -> String {
        format!("{}replica:{replica}", self.prefix)
    }

    /// Records a new session and its backend sessions.
    pub async fn create(&self, id: &str, rec: &SessionRecord, backends: &[(String, BackendRecord)]) -> Result<(), SharedError> {
        let mut c = self.conn().await?;
        let mut p = redis::pipe();
        let body = serde_json::to_string(rec).unwrap_or_default();
        p.cmd("SET").arg(self.key(id, "")).arg(body).arg("EX").arg(self.ttl_secs).ignore();
        let b = self.key(id, "b");
        for (server, r) in backends {
            p.cmd("HSET").arg(&b).arg(server).arg(serde_json::to_string(r).unwrap_or_default()).ignore();
        }
        p.cmd("EXPIRE").arg(&b).arg(self.ttl_secs).ignore();
        // Counted among its agent's sessions (already, when it was admitted; a session
        // recorded late, once Redis answered again, counts from now on).
        let agent = self.agent_key(&rec.agent_id);
        p.cmd("ZADD").arg(&agent).arg("NX").arg(crate::store::now_ms()).arg(id).ignore();
        p.cmd("EXPIRE").arg(&agent).arg(self.ttl_secs).ignore();
        p.query_async::<()>(&mut c).await.map_err(err)
    }

    /// The session and its backend sessions, keeping them alive for another idle period (and
    /// noting the use among its agent's sessions); `None` when the session ended or expired.
    /// One round trip.
    pub async fn load(&self, id: &str, agent_id: &str) -> Result<Option<(SessionRecord, HashMap<String, BackendRecord>)>, SharedError> {
        let mut c = self.conn().await?;
        let mut p = redis::pipe();
        p.cmd("GETEX").arg(self.key(id, "")).arg("EX").arg(self.ttl_secs);
        p.cmd("HGETALL").arg(self.key(id, "b"));
        for part in ["b", "q", "o"] {
            p.cmd("EXPIRE").arg(self.key(id, part)).arg(self.ttl_secs).ignore();
        }
        p.cmd("ZADD").arg(self.agent_key(agent_id)).arg("XX").arg(crate::store::now_ms()).arg(id).ignore();
        let (rec, backends): (Option<String>, HashMap<String, String>) = p.query_async(&mut c).await.map_err(err)?;
        let Some(rec) = rec.and_then(|r| serde_json::from_str::<SessionRecord>(&r).ok()) else { return Ok(None) };
        let backends = backends.into_iter().filter_map(|(k, v)| Some((k, serde_json::from_str(&v).ok()?))).collect();
        Ok(Some((rec, backends)))
    }

    /// The sorted set of an agent's sessions, by last use.
    fn agent_key(&self, agent_id: &str) -> String {
        format!("{}agent:{agent_id}:sessions", self.prefix)
    }

    /// Counts a new session among its agent's, at every replica; past `max`, the agent's
    /// longest-unused sessions are ended (their records deleted) and returned. One script, so
    /// two replicas starting sessions at once never both keep theirs past the cap.
    pub async fn admit_agent_session(&self, agent_id: &str, id: &str, max: usize) -> Result<Vec<String>, SharedError> {
        // The new session is set aside while the oldest are chosen: a replica whose clock runs
        // ahead cannot make it look older than the others.
        const ADMIT: &str = r"
            redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[4])
            redis.call('ZREM', KEYS[1], ARGV[2])
            local over = redis.call('ZCARD', KEYS[1]) - (tonumber(ARGV[3]) - 1)
            local evicted = {}
            if over > 0 then
                evicted = redis.call('ZRANGE', KEYS[1], 0, over - 1)
                redis.call('ZREM', KEYS[1], unpack(evicted))
            end
            redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
            redis.call('PEXPIRE', KEYS[1], ARGV[5])
            return evicted";
        let mut c = self.conn().await?;
        let now = crate::store::now_ms();
        let ttl_ms = i64::try_from(self.ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let evicted: Vec<String> = redis::Script::new(ADMIT)
            .key(self.agent_key(agent_id))
            .arg(now)
            .arg(id)
            .arg(max)
            // Sessions unused for a whole idle period expired by themselves.
            .arg(now - ttl_ms)
            .arg(ttl_ms)
            .invoke_async(&mut c)
            .await
            .map_err(err)?;
        for old in &evicted {
            self.delete(old).await?;
        }
        Ok(evicted)
    }

    /// Whether the session is still alive anywhere (not reset by this check).
    pub async fn exists(&self, id: &str) -> Result<bool, SharedError> {
        self.key_exists(&self.key(id, "")).await
    }

    /// Whether a stream still exists (a request's answer older than the replay window does not).
    pub async fn stream_exists(&self, stream: &str) -> Result<bool, SharedError> {
        self.key_exists(stream).await
    }

    async fn key_exists(&self, key: &str) -> Result<bool, SharedError> {
        let mut c = self.conn().await?;
        redis::cmd("EXISTS").arg(key).query_async::<bool>(&mut c).await.map_err(err)
    }

    /// Sets one field of one of the session's hashes, which lives as long as the session.
    async fn set_field(&self, id: &str, part: &str, field: &str, value: &impl Serialize) -> Result<(), SharedError> {
        let mut c = self.conn().await?;
        let key = self.key(id, part);
        redis::pipe()
            .cmd("HSET")
            .arg(&key)
            .arg(field)
            .arg(serde_json::to_string(value).unwrap_or_default())
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(self.ttl_secs)
            .ignore()
            .query_async::<()>(&mut c)
            .await
            .map_err(err)
    }

    pub async fn set_backend(&self, id: &str, server: &str, rec: &BackendRecord) -> Result<(), SharedError> {
        self.set_field(id, "b", server, rec).await
    }

    /// Takes an ended session out of its agent's count.
    pub async fn leave_agent(&self, agent_id: &str, id: &str) -> Result<(), SharedError> {
        let mut c = self.conn().await?;
        redis::cmd("ZREM").arg(self.agent_key(agent_id)).arg(id).query_async::<()>(&mut c).await.map_err(err)
    }

    pub async fn delete(&self, id: &str) -> Result<(), SharedError> {
        let mut c = self.conn().await?;
        let keys: Vec<String> = ["", "b", "q", "o", "cursor", "listener"].iter().map(|p| self.key(id, p)).collect();
        redis::cmd("DEL").arg(keys).query_async::<()>(&mut c).await.map_err(err)
    }

    pub async fn put_request(&self, id: &str, weir_id: &str, pending: &PendingRequest) -> Result<(), SharedError> {
        self.set_field(id, "q", weir_id, pending).await
    }

    /// The backend request a client's answer is for, taken (an answer is delivered once).
    pub async fn take_request(&self, id: &str, weir_id: &str) -> Result<Option<PendingRequest>, SharedError> {
        let mut c = self.conn().await?;
        let q = self.key(id, "q");
        let (found, _): (Option<String>, i64) = redis::pipe().atomic().cmd("HGET").arg(&q).arg(weir_id).cmd("HDEL").arg(&q).arg(weir_id).query_async(&mut c).await.map_err(err)?;
        Ok(found.and_then(|f| serde_json::from_str(&f).ok()))
    }

    /// Appends a message to a stream; returns its event id. `last` marks a request's response.
    pub async fn append(&self, stream: &str, data: &str, last: bool) -> Result<String, SharedError> {
        let mut c = self.conn().await?;
        let mut p = redis::pipe();
        p.cmd("XADD").arg(stream).arg("MAXLEN").arg("~").arg(self.replay_max).arg("*").arg("d").arg(data);
        if last {
            p.arg("e").arg("1");
        }
        p.cmd("EXPIRE").arg(stream).arg(self.replay_secs.max(self.ttl_secs)).ignore();
        let (id,): (String,) = p.query_async(&mut c).await.map_err(err)?;
        Ok(id)
    }

    /// The key every replica signs the state of a bridged round trip with: made by the first
    /// replica that needs it, read by the others.
    pub async fn state_key(&self) -> Result<String, SharedError> {
        let mut c = self.conn().await?;
        let key = format!("{}state-key", self.prefix);
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let _: Option<String> = redis::cmd("SET").arg(&key).arg(&fresh).arg("NX").query_async(&mut c).await.map_err(err)?;
        let v: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut c).await.map_err(err)?;
        v.ok_or_else(|| SharedError("the round-trip state key vanished".into()))
    }

    /// The id of a stream's newest entry (`0` when it has none).
    pub async fn tail(&self, stream: &str) -> Result<String, SharedError> {
        let mut c = self.conn().await?;
        let reply: Vec<(String, Vec<String>)> = redis::cmd("XREVRANGE").arg(stream).arg("+").arg("-").arg("COUNT").arg(1).query_async(&mut c).await.map_err(err)?;
        Ok(reply.into_iter().next().map_or_else(|| "0".to_string(), |(id, _)| id))
    }

    /// Reads a stream after `after` (`0` for its start), waiting up to `block` for something.
    /// Entries older than the replay window are gone; the caller sees a gap as it is.
    pub async fn read(&self, conn: &mut MultiplexedConnection, stream: &str, after: &str, block: Duration) -> Result<Vec<Event>, SharedError> {
        type Reply = Option<Vec<(String, Vec<(String, Vec<String>)>)>>;
        let reply: Reply = redis::cmd("XREAD")
            .arg("COUNT")
            .arg(100)
            .arg("BLOCK")
            .arg(block.as_millis() as u64)
            .arg("STREAMS")
            .arg(stream)
            .arg(after)
            .query_async(conn)
            .await
            .map_err(err)?;
        let min_ms = crate::store::now_ms() - (self.replay_secs as i64) * 1000;
        let mut out = Vec::new();
        for (_, entries) in reply.unwrap_or_default() {
            for (id, fields) in entries {
                // Older than the window: not replayed, even if the stream still holds it.
                if id.split('-').next().and_then(|ms| ms.parse::<i64>().ok()).is_some_and(|ms| ms < min_ms) {
                    continue;
                }
                let mut ev = Event { id, data: String::new(), last: false };
                for kv in fields.chunks(2) {
                    match (kv[0].as_str(), kv.get(1)) {
                        ("d", Some(v)) => ev.data.clone_from(v),
                        ("e", Some(_)) => ev.last = true,
                        _ => {}
                    }
                }
                out.push(ev);
            }
        }
        Ok(out)
    }

    /// Takes the session's stream for this listener (the newest GET wins; an older listener
    /// stops when it sees it lost). Returns where the last listener stopped.
    pub async fn claim_listener(&self, id: &str, token: &str) -> Result<Option<String>, SharedError> {
        let mut c = self.conn().await?;
        let (_, cursor): ((), Option<String>) = redis::pipe()
            .cmd("SET")
            .arg(self.key(id, "listener"))
            .arg(token)
            .arg("EX")
            .arg(self.ttl_secs)
            .cmd("GET")
            .arg(self.key(id, "cursor"))
            .query_async(&mut c)
            .await
            .map_err(err)?;
        Ok(cursor)
    }

    /// Whether `token` still holds the session's stream; records how far it got.
    pub async fn still_listener(&self, id: &str, token: &str, cursor: Option<&str>) -> Result<bool, SharedError> {
        let mut c = self.conn().await?;
        let mut p = redis::pipe();
        p.cmd("GET").arg(self.key(id, "listener"));
        // A client listening keeps its session alive, as its requests do.
        p.cmd("EXPIRE").arg(self.key(id, "")).arg(self.ttl_secs).ignore();
        if let Some(cur) = cursor {
            p.cmd("SET").arg(self.key(id, "cursor")).arg(cur).arg("EX").arg(self.ttl_secs.max(self.replay_secs)).ignore();
        }
        let (holder,): (Option<String>,) = p.query_async(&mut c).await.map_err(err)?;
        Ok(holder.as_deref() == Some(token))
    }

    /// Passes a client's answer to the replica that alone reaches its backend.
    pub async fn relay(&self, replica: &str, msg: &Relayed) -> Result<(), SharedError> {
        let mut c = self.conn().await?;
        redis::cmd("PUBLISH").arg(self.channel(replica)).arg(serde_json::to_string(msg).unwrap_or_default()).query_async::<()>(&mut c).await.map_err(err)
    }

    /// Answers relayed to this replica, as they come; resubscribes after a Redis failure.
    pub fn subscribe(self: &Arc<Self>, tx: tokio::sync::mpsc::Sender<Relayed>, stop: tokio_util::sync::CancellationToken) -> tokio::task::JoinHandle<()> {
        use futures_util::StreamExt as _;
        let me = self.clone();
        tokio::spawn(async move {
            let channel = me.channel(&me.replica);
            loop {
                let sub = async {
                    let mut ps = me.conn.client.get_async_pubsub().await.map_err(err)?;
                    ps.subscribe(&channel).await.map_err(err)?;
                    let mut messages = ps.into_on_message();
                    while let Some(m) = messages.next().await {
                        if let Some(r) = m.get_payload::<String>().ok().and_then(|p| serde_json::from_str::<Relayed>(&p).ok()) {
                            if tx.send(r).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Err::<(), SharedError>(SharedError("subscription ended".into()))
                };
                tokio::select! {
                    () = stop.cancelled() => return,
                    r = sub => {
                        if r.is_ok() {
                            return;
                        }
                        if let Err(e) = r {
                            tracing::warn!(error = %e, "MCP relay subscription lost; resubscribing");
                        }
                    }
                }
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
        })
    }
}
