//! Where the SSE streams Weir serves are kept, so that a client whose stream is cut resumes it
//! with `Last-Event-ID`: in Redis with shared sessions (any replica resumes it), in this
//! process's memory otherwise. Either way a stream keeps its events for the replay window
//! (`mcp.replay_window_secs`), at most `mcp.replay_max_events` of them.
//!
//! Each session has its own stream (what the client's GET carries) and one per SSE answer to a
//! request. An entry with empty data is no message: it marks a place in a request's stream
//! that a client was given as an event id (Weir's priming event), and replays skip it. Whoever holds the client's GET is its one listener: a newer GET takes over, and the
//! older one ends when it sees that.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::shared::{Event, Shared, SharedError};

#[async_trait]
pub trait StreamStore: Send + Sync {
    /// The session's own stream.
    fn session_stream(&self, session: &str) -> String;
    /// The stream of one request's answer.
    fn request_stream(&self, session: &str, name: &str) -> String;
    /// Appends a message; returns its event id. `last` marks a request's response.
    async fn append(&self, stream: &str, data: &str, last: bool) -> Result<String, SharedError>;
    /// Something to read streams with (a connection of its own, for Redis).
    async fn reader(&self) -> Result<Box<dyn StreamReader>, SharedError>;
    /// The id of a stream's newest event (`0` for an empty stream): reading after it gives what
    /// is appended from now on.
    async fn tail(&self, stream: &str) -> Result<String, SharedError>;
    /// Whether a stream still exists (one past the replay window does not).
    async fn exists(&self, stream: &str) -> Result<bool, SharedError>;
    /// Makes `token` the session stream's listener; returns where the last one stopped.
    async fn claim_listener(&self, session: &str, token: &str) -> Result<Option<String>, SharedError>;
    /// Whether `token` is still the listener; records how far it got.
    async fn still_listener(&self, session: &str, token: &str, cursor: Option<&str>) -> Result<bool, SharedError>;
    /// Forgets a session's streams (the session ended).
    async fn forget(&self, session: &str);
    /// Whether `id` has the form of this store's event ids.
    fn valid_id(&self, id: &str) -> bool;
}

fn digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

#[async_trait]
pub trait StreamReader: Send {
    /// The events after `after` (`0`: from the start), waiting up to `block` for one.
    async fn read(&mut self, stream: &str, after: &str, block: Duration) -> Result<Vec<Event>, SharedError>;
}

/// Streams in Redis (shared sessions).
pub struct RedisStreams(pub Arc<Shared>);

struct RedisReader {
    shared: Arc<Shared>,
    conn: redis::aio::MultiplexedConnection,
}

#[async_trait]
impl StreamReader for RedisReader {
    async fn read(&mut self, stream: &str, after: &str, block: Duration) -> Result<Vec<Event>, SharedError> {
        self.shared.read(&mut self.conn, stream, after, block).await
    }
}

#[async_trait]
impl StreamStore for RedisStreams {
    fn session_stream(&self, session: &str) -> String {
        self.0.session_stream(session)
    }
    fn request_stream(&self, session: &str, name: &str) -> String {
        self.0.request_stream(session, name)
    }
    async fn append(&self, stream: &str, data: &str, last: bool) -> Result<String, SharedError> {
        self.0.append(stream, data, last).await
    }
    async fn reader(&self) -> Result<Box<dyn StreamReader>, SharedError> {
        Ok(Box::new(RedisReader { shared: self.0.clone(), conn: self.0.reader().await? }))
    }
    async fn exists(&self, stream: &str) -> Result<bool, SharedError> {
        self.0.stream_exists(stream).await
    }
    async fn claim_listener(&self, session: &str, token: &str) -> Result<Option<String>, SharedError> {
        self.0.claim_listener(session, token).await
    }
    async fn still_listener(&self, session: &str, token: &str, cursor: Option<&str>) -> Result<bool, SharedError> {
        self.0.still_listener(session, token, cursor).await
    }
    async fn tail(&self, stream: &str) -> Result<String, SharedError> {
        self.0.tail(stream).await
    }
    fn valid_id(&self, id: &str) -> bool {
        id.split_once('-').is_some_and(|(ms, n)| digits(ms) && digits(n))
    }
    async fn forget(&self, session: &str) {
        if let Err(e) = self.0.delete(session).await {
            tracing::warn!(session, error = %e, "MCP session not removed from Redis; it expires there");
        }
    }
}

struct Entry {
    seq: u64,
    at: Instant,
    data: Arc<str>,
    last: bool,
}

#[derive(Default)]
struct MemStream {
    entries: VecDeque<Entry>,
    next: u64,
    /// Wakes this stream's readers (only them) when an event is appended.
    appended: Arc<tokio::sync::Notify>,
}

#[derive(Default)]
struct MemState {
    streams: HashMap<String, MemStream>,
    /// Per session: the listener's token and where it got.
    listeners: HashMap<String, (String, Option<String>)>,
    swept: Option<Instant>,
}

/// Streams in this process's memory (one Weir without Redis).
pub struct MemoryStreams {
    state: Mutex<MemState>,
    window: Duration,
    max: usize,
}

impl MemoryStreams {
    pub fn new(window: Duration, max: usize) -> Arc<Self> {
        Arc::new(Self { state: Mutex::default(), window, max: max.max(1) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn after(&self, stream: &str, after: u64) -> Vec<Event> {
        let st = self.lock();
        let Some(s) = st.streams.get(stream) else { return Vec::new() };
        let oldest = Instant::now().checked_sub(self.window);
        s.entries
            .iter()
            .filter(|e| e.seq > after && oldest.is_none_or(|o| e.at >= o))
            .map(|e| Event { id: e.seq.to_string(), data: e.data.to_string(), last: e.last })
            .collect()
    }
}

struct MemReader(Arc<MemoryStreams>);

#[async_trait]
impl StreamReader for MemReader {
    async fn read(&mut self, stream: &str, after: &str, block: Duration) -> Result<Vec<Event>, SharedError> {
        let after = after.parse::<u64>().unwrap_or(0);
        let deadline = tokio::time::Instant::now() + block;
        let notify = self.0.lock().streams.entry(stream.to_string()).or_default().appended.clone();
        loop {
            // Registered before looking, so an append in between is not missed.
            let appended = notify.notified();
            tokio::pin!(appended);
            appended.as_mut().enable();
            let events = self.0.after(stream, after);
            if !events.is_empty() {
                return Ok(events);
            }
            if tokio::time::timeout_at(deadline, appended).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }
}

#[async_trait]
impl StreamStore for Arc<MemoryStreams> {
    fn session_stream(&self, session: &str) -> String {
        format!("{session}:o")
    }
    fn request_stream(&self, session: &str, name: &str) -> String {
        format!("{session}:r:{name}")
    }
    async fn append(&self, stream: &str, data: &str, last: bool) -> Result<String, SharedError> {
        let now = Instant::now();
        let (seq, notify) = {
            let mut st = self.lock();
            // Now and then, streams whose newest event is past the window go (unless a reader
            // waits on one).
            if st.swept.is_none_or(|t| now.duration_since(t) > Duration::from_secs(10)) {
                st.swept = Some(now);
                let window = self.window;
                st.streams.retain(|_, s| Arc::strong_count(&s.appended) > 1 || s.entries.back().is_some_and(|e| now.duration_since(e.at) <= window));
            }
            let s = st.streams.entry(stream.to_string()).or_default();
            s.next += 1;
            let seq = s.next;
            s.entries.push_back(Entry { seq, at: now, data: Arc::from(data), last });
            while s.entries.len() > self.max || s.entries.front().is_some_and(|e| now.duration_since(e.at) > self.window) {
                s.entries.pop_front();
            }
            (seq, s.appended.clone())
        };
        notify.notify_waiters();
        Ok(seq.to_string())
    }
    async fn reader(&self) -> Result<Box<dyn StreamReader>, SharedError> {
        Ok(Box::new(MemReader(self.clone())))
    }
    async fn tail(&self, stream: &str) -> Result<String, SharedError> {
        Ok(self.lock().streams.get(stream).map_or(0, |s| s.next).to_string())
    }
    async fn exists(&self, stream: &str) -> Result<bool, SharedError> {
        Ok(self.lock().streams.get(stream).is_some_and(|s| !s.entries.is_empty()))
    }
    async fn claim_listener(&self, session: &str, token: &str) -> Result<Option<String>, SharedError> {
        let mut st = self.lock();
        let cursor = st.listeners.get(session).and_then(|(_, c)| c.clone());
        st.listeners.insert(session.to_string(), (token.to_string(), cursor.clone()));
        Ok(cursor)
    }
    async fn still_listener(&self, session: &str, token: &str, cursor: Option<&str>) -> Result<bool, SharedError> {
        let mut st = self.lock();
        match st.listeners.get_mut(session) {
            Some((t, c)) if t == token => {
                if let Some(cur) = cursor {
                    *c = Some(cur.to_string());
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }
    fn valid_id(&self, id: &str) -> bool {
        digits(id)
    }
    async fn forget(&self, session: &str) {
        let prefix = format!("{session}:");
        let mut st = self.lock();
        let mut gone = Vec::new();
        st.streams.retain(|k, s| {
            let keep = !k.starts_with(&prefix);
            if !keep {
                gone.push(s.appended.clone());
            }
            keep
        });
        st.listeners.remove(session);
        drop(st);
        // Readers of its streams look again and find nothing more.
        for n in gone {
            n.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_streams_replay_after_an_id_wait_for_more_and_keep_a_bounded_window() {
        let m = MemoryStreams::new(Duration::from_secs(60), 3);
        let store: &dyn StreamStore = &m;
        let s = store.session_stream("abc");
        for i in 1..=4 {
            assert_eq!(store.append(&s, &format!("m{i}"), false).await.unwrap(), i.to_string());
        }
        let mut r = store.reader().await.unwrap();
        // At most three kept: the first is gone.
        let all: Vec<String> = r.read(&s, "0", Duration::ZERO).await.unwrap().into_iter().map(|e| e.data).collect();
        assert_eq!(all, ["m2", "m3", "m4"]);
        let after: Vec<String> = r.read(&s, "3", Duration::ZERO).await.unwrap().into_iter().map(|e| e.data).collect();
        assert_eq!(after, ["m4"]);
        // A read waits for the next event.
        let m2 = m.clone();
        let s2 = s.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = StreamStore::append(&m2, &s2, "m5", true).await;
        });
        let next = r.read(&s, "4", Duration::from_secs(5)).await.unwrap();
        assert_eq!((next[0].data.as_str(), next[0].last), ("m5", true));
        assert!(r.read(&s, "5", Duration::from_millis(20)).await.unwrap().is_empty());
        // The newest listener wins; the older one learns it lost.
        assert_eq!(store.claim_listener("abc", "one").await.unwrap(), None);
        assert!(store.still_listener("abc", "one", Some("5")).await.unwrap());
        assert_eq!(store.claim_listener("abc", "two").await.unwrap().as_deref(), Some("5"));
        assert!(!store.still_listener("abc", "one", None).await.unwrap());
        store.forget("abc").await;
        assert!(!store.exists(&s).await.unwrap());
    }

    #[tokio::test]
    async fn memory_streams_drop_events_past_the_window() {
        let m = MemoryStreams::new(Duration::from_millis(30), 100);
        let store: &dyn StreamStore = &m;
        store.append("x:o", "old", false).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
        store.append("x:o", "new", false).await.unwrap();
        let mut r = store.reader().await.unwrap();
        let got: Vec<String> = r.read("x:o", "0", Duration::ZERO).await.unwrap().into_iter().map(|e| e.data).collect();
        assert_eq!(got, ["new"]);
    }
}
