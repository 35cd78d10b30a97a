//! The batched audit writer.
//!
//! Requests hand events to [`AuditSink::record`], which never waits: it is a `try_send` into a
//! bounded channel. One task drains the channel into memory and writes batches to the
//! database. The writer is not woken per event (each wake-up is a system call and a context
//! switch on a request's critical path): it drains on a short timer, and a sender wakes it only
//! when the channel is filling up. While the database is unreachable, events stay in memory up to
//! `audit.memory_queue`; beyond that they are appended to the spool file, which is replayed
//! first when the database returns. On shutdown whatever could not be written goes to the
//! spool, so the next start writes it. Rows are keyed by event id and inserted with
//! `ON CONFLICT DO NOTHING`, so a replay never duplicates one.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::future::Future;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::AuditEvent;
use crate::config::AuditSection;
use crate::store::{AuditInsertError, SqliteAuditWriter, Store};

/// Requests outrun the writer by at most this many events before they are counted as dropped.
const CHANNEL_CAPACITY: usize = 16_384;
/// How often the writer takes what is waiting in the channel.
const DRAIN_EVERY: Duration = Duration::from_millis(10);
/// A sender wakes the writer early once fewer than this many slots are free.
const WAKE_BELOW_FREE: usize = CHANNEL_CAPACITY / 2;
/// A single insert that takes longer than this is treated as a failed one.
const INSERT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
pub struct AuditStats {
    /// Events written to the database since start.
    pub written: AtomicU64,
    /// Events waiting in memory.
    pub queued: AtomicU64,
    /// Events waiting in the spool file.
    pub spooled: AtomicU64,
    /// Events lost: the channel was full or the spool could not be written.
    pub dropped: AtomicU64,
    pub database_up: AtomicBool,
    pub spool_failed: AtomicBool,
}

/// Raw bodies of a call, redacted and cut by the writer task rather than on the request path.
#[derive(Debug, Clone, Default)]
pub struct Captured {
    pub request: Option<bytes::Bytes>,
    pub response: Option<bytes::Bytes>,
    pub max_bytes: usize,
}

type Record = (AuditEvent, Option<Captured>);

#[derive(Clone)]
pub struct AuditSink {
    tx: mpsc::Sender<Record>,
    stats: Arc<AuditStats>,
    wake: Arc<tokio::sync::Notify>,
    /// Every recorded call is counted in the call metrics too.
    metrics: Arc<crate::metrics::CallMetrics>,
}

impl AuditSink {
    pub fn record(&self, event: AuditEvent, captured: Option<Captured>) {
        self.metrics.observe(&event);
        match self.tx.try_send((event, captured)) {
            Ok(()) => {
                if self.tx.capacity() < WAKE_BELOW_FREE {
                    self.wake.notify_one();
                }
            }
            Err(mpsc::error::TrySendError::Full((ev, _))) | Err(mpsc::error::TrySendError::Closed((ev, _))) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(event_id = %ev.id, request_id = %ev.request_id, "audit event dropped: the writer is not keeping up or has stopped");
            }
        }
    }

    pub fn stats(&self) -> &Arc<AuditStats> {
        &self.stats
    }

    pub fn metrics(&self) -> &Arc<crate::metrics::CallMetrics> {
        &self.metrics
    }
}

pub struct AuditWriter {
    thread: std::thread::JoinHandle<()>,
    stop: CancellationToken,
}

impl AuditWriter {
    /// Stops taking events, writes what it can within `deadline`, spools the rest.
    pub async fn shutdown(self, deadline: Duration) {
        self.stop.cancel();
        let thread = self.thread;
        let joined = tokio::task::spawn_blocking(move || thread.join());
        if tokio::time::timeout(deadline + Duration::from_secs(2), joined).await.is_err() {
            tracing::error!("audit writer did not finish in time");
        }
    }
}

/// Starts the writer on a thread of its own, with its own small runtime and database pool:
/// building and sending large batches must never hold up a thread that serves requests.
pub fn spawn_writer(database_url: &str, cfg: &AuditSection) -> std::io::Result<(AuditSink, AuditWriter)> {
    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let stats = Arc::new(AuditStats::default());
    stats.database_up.store(true, Ordering::Relaxed);
    let stop = CancellationToken::new();
    let spool = Spool::open(PathBuf::from(&cfg.spool_path));
    match spool.count_lines() {
        Ok(n) if n > 0 => {
            tracing::info!(events = n, path = %spool.path.display(), "audit spool holds events from an earlier run; writing them");
            stats.spooled.store(n, Ordering::Relaxed);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot read the audit spool file"),
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let url = database_url.to_string();
    let (memory_queue, batch_size) = (cfg.memory_queue, cfg.batch_size);
    let flush_every = Duration::from_millis(cfg.flush_interval_ms);
    let (stats2, stop2) = (stats.clone(), stop.clone());
    let wake = Arc::new(tokio::sync::Notify::new());
    let wake2 = wake.clone();
    let thread = std::thread::Builder::new().name("weir-audit".into()).spawn(move || {
        runtime.block_on(async move {
            let store = match Store::connect(&url, 2).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "audit writer cannot open the database; events will be spooled");
                    return;
                }
            };
            let writer = Writer {
                sqlite: SqliteAuditWriter::for_url(&url),
                store: store.clone(),
                rx,
                pending: VecDeque::new(),
                spool,
                memory_queue,
                batch_size,
                stats: stats2,
                retry_at: Instant::now(),
                backoff: Duration::from_millis(250),
                outage_logged: false,
                isolate: 0,
            };
            writer.run(stop2, wake2, flush_every).await;
            store.close().await;
        });
    })?;
    Ok((AuditSink { tx, stats, wake, metrics: Arc::default() }, AuditWriter { thread, stop }))
}

type Flush = Pin<Box<dyn Future<Output = (Batch, Result<(), FlushError>)> + Send>>;

enum FlushError {
    /// The database could not be reached: keep the events and retry later.
    Unavailable(String),
    /// The database answered but refused the batch: some event in it cannot be stored.
    Rejected(String),
}

struct Batch {
    events: Vec<AuditEvent>,
    /// For a batch read from the spool: the file offset just past it.
    spool_end: Option<u64>,
}

struct Writer {
    /// SQLite files are written through their own connection on this thread (see
    /// `store::sqlite_audit`); Postgres through `store`.
    sqlite: Option<SqliteAuditWriter>,
    store: Store,
    rx: mpsc::Receiver<Record>,
    pending: VecDeque<AuditEvent>,
    spool: Spool,
    memory_queue: usize,
    batch_size: usize,
    stats: Arc<AuditStats>,
    retry_at: Instant,
    backoff: Duration,
    outage_logged: bool,
    /// Events still to be written one by one after a batch was refused.
    isolate: usize,
}

impl Writer {
    async fn run(mut self, stop: CancellationToken, wake: Arc<tokio::sync::Notify>, flush_every: Duration) {
        let mut ticker = crate::periodic::ticker(flush_every);
        let mut drain = crate::periodic::ticker(DRAIN_EVERY);
        let mut inflight: Option<Flush> = None;
        loop {
            let mut tick = false;
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                (batch, result) = async { match inflight.as_mut() { Some(f) => f.await, None => std::future::pending().await } } => {
                    inflight = None;
                    self.finish_flush(batch, result);
                }
                () = wake.notified() => {}
                _ = drain.tick() => {}
                _ = ticker.tick() => tick = true,
            }
            // Everything waiting comes along: one wake-up takes many events.
            if !self.drain_channel() {
                break;
            }
            // Under load the batch fills while the previous insert runs; when quiet, the tick
            // flushes what little there is.
            if inflight.is_none() && (tick || self.pending.len() >= self.batch_size || self.spool.has_unread()) {
                inflight = self.next_flush();
            }
        }
        self.drain_on_shutdown(inflight).await;
    }

    /// Takes every event waiting in the channel; false once every sender is gone.
    fn drain_channel(&mut self) -> bool {
        loop {
            match self.rx.try_recv() {
                Ok((ev, captured)) => self.accept(ev, captured),
                Err(mpsc::error::TryRecvError::Empty) => return true,
                Err(mpsc::error::TryRecvError::Disconnected) => return false,
            }
        }
    }

    fn accept(&mut self, mut ev: AuditEvent, captured: Option<Captured>) {
        super::scrub_known_secrets(&mut ev);
        if let Some(c) = captured {
            ev.request_body = c.request.map(|b| super::capture_body(&b, c.max_bytes));
            ev.response_body = c.response.map(|b| super::capture_body(&b, c.max_bytes));
        }
        self.pending.push_back(ev);
        if self.pending.len() > self.memory_queue {
            self.spill_pending();
        }
        self.stats.queued.store(self.pending.len() as u64, Ordering::Relaxed);
    }

    fn spill_pending(&mut self) {
        let events: Vec<AuditEvent> = self.pending.drain(..).collect();
        match self.spool.append(&events) {
            Ok(()) => {
                self.stats.spooled.fetch_add(events.len() as u64, Ordering::Relaxed);
                self.stats.spool_failed.store(false, Ordering::Relaxed);
                tracing::warn!(events = events.len(), path = %self.spool.path.display(), "audit events spooled to disk while the database is unavailable");
            }
            Err(e) => {
                self.stats.spool_failed.store(true, Ordering::Relaxed);
                self.stats.dropped.fetch_add(events.len() as u64, Ordering::Relaxed);
                tracing::error!(events = events.len(), error = %e, "audit events dropped: the spool file cannot be written");
            }
        }
        self.stats.queued.store(0, Ordering::Relaxed);
    }

    /// The spool holds older events than memory, so it is written first.
    fn next_batch(&mut self) -> Option<Batch> {
        if self.spool.has_unread() {
            match self.spool.read_batch(self.current_batch_size()) {
                Ok((events, end)) if !events.is_empty() => return Some(Batch { events, spool_end: Some(end) }),
                Ok((_, end)) => {
                    // Nothing parseable left (a torn last line): the spool is done.
                    self.spool.consumed_to(end);
                }
                Err(e) => tracing::warn!(error = %e, "cannot read the audit spool file"),
            }
        }
        if self.pending.is_empty() {
            return None;
        }
        let n = self.pending.len().min(self.current_batch_size());
        let events: Vec<AuditEvent> = self.pending.drain(..n).collect();
        self.stats.queued.store(self.pending.len() as u64, Ordering::Relaxed);
        Some(Batch { events, spool_end: None })
    }

    /// One event at a time while a refused batch is being taken apart.
    fn current_batch_size(&self) -> usize {
        if self.isolate > 0 { 1 } else { self.batch_size }
    }

    fn next_flush(&mut self) -> Option<Flush> {
        if Instant::now() < self.retry_at {
            return None;
        }
        let batch = self.next_batch()?;
        if let Some(sqlite) = self.sqlite.as_mut() {
            // Synchronous on purpose: this thread does nothing else, and a batch takes a few
            // milliseconds at most (busy_timeout bounds a locked file).
            let result = sqlite.insert(&batch.events).map_err(|e| match e {
                AuditInsertError::Unavailable(m) => FlushError::Unavailable(m),
                AuditInsertError::Rejected(m) => FlushError::Rejected(m),
            });
            return Some(Box::pin(std::future::ready((batch, result))));
        }
        let store = self.store.clone();
        Some(Box::pin(async move {
            let result = match tokio::time::timeout(INSERT_TIMEOUT, store.insert_audit_events(&batch.events)).await {
                Ok(Ok(())) => Ok(()),
                // Only a refusal of the data itself sets events apart; a busy or absent database
                // keeps them for later.
                Ok(Err(e)) if store.is_data_error(&e) => Err(FlushError::Rejected(e.to_string())),
                Ok(Err(e)) => Err(FlushError::Unavailable(e.to_string())),
                Err(_) => Err(FlushError::Unavailable("insert timed out".to_string())),
            };
            (batch, result)
        }))
    }

    fn finish_flush(&mut self, batch: Batch, result: Result<(), FlushError>) {
        let result = match result {
            Err(FlushError::Rejected(e)) if batch.events.len() == 1 => {
                // One event the database will never take: count it, log it, move on.
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::error!(event_id = %batch.events[0].id, request_id = %batch.events[0].request_id, error = %e, "audit event refused by the database; dropped");
                self.isolate = self.isolate.saturating_sub(1);
                if let Some(end) = batch.spool_end {
                    self.spool.consumed_to(end);
                }
                return;
            }
            Err(FlushError::Rejected(e)) => {
                tracing::warn!(events = batch.events.len(), error = %e, "the database refused an audit batch; writing its events one by one");
                self.isolate = batch.events.len();
                if batch.spool_end.is_none() {
                    for ev in batch.events.into_iter().rev() {
                        self.pending.push_front(ev);
                    }
                }
                return;
            }
            Err(FlushError::Unavailable(e)) => Err(e),
            Ok(()) => Ok(()),
        };
        if result.is_ok() && self.isolate > 0 {
            self.isolate -= batch.events.len().min(self.isolate);
        }
        match result {
            Ok(()) => {
                let n = batch.events.len() as u64;
                self.stats.written.fetch_add(n, Ordering::Relaxed);
                if let Some(end) = batch.spool_end {
                    self.spool.consumed_to(end);
                    let left = self.stats.spooled.load(Ordering::Relaxed).saturating_sub(n);
                    self.stats.spooled.store(if self.spool.has_unread() { left } else { 0 }, Ordering::Relaxed);
                }
                if !self.stats.database_up.swap(true, Ordering::Relaxed) || self.outage_logged {
                    tracing::info!("audit database reachable again; writing queued events");
                    self.outage_logged = false;
                }
                self.backoff = Duration::from_millis(250);
            }
            Err(e) => {
                self.stats.database_up.store(false, Ordering::Relaxed);
                if !self.outage_logged {
                    tracing::warn!(error = %e, "audit database unavailable; events wait in memory, then in the spool file");
                    self.outage_logged = true;
                }
                self.retry_at = Instant::now() + self.backoff;
                self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
                if batch.spool_end.is_none() {
                    // Back to the front, in order.
                    for ev in batch.events.into_iter().rev() {
                        self.pending.push_front(ev);
                    }
                    if self.pending.len() > self.memory_queue {
                        self.spill_pending();
                    }
                    self.stats.queued.store(self.pending.len() as u64, Ordering::Relaxed);
                }
                // A spool batch stays in the spool; it is re-read from the same offset.
            }
        }
    }

    async fn drain_on_shutdown(mut self, inflight: Option<Flush>) {
        self.rx.close();
        while let Ok((ev, captured)) = self.rx.try_recv() {
            self.accept(ev, captured);
        }
        if let Some(f) = inflight {
            let (batch, result) = f.await;
            self.finish_flush(batch, result);
        }
        // Write while the database answers; stop at the first failure.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.stats.database_up.load(Ordering::Relaxed) && Instant::now() < deadline {
            self.retry_at = Instant::now();
            let Some(f) = self.next_flush() else { break };
            let (batch, result) = f.await;
            let failed = result.is_err();
            self.finish_flush(batch, result);
            if failed {
                break;
            }
        }
        if !self.pending.is_empty() {
            self.spill_pending();
        }
        if let Err(e) = self.spool.sync() {
            tracing::error!(error = %e, "cannot sync the audit spool file");
        }
        tracing::info!(
            written = self.stats.written.load(Ordering::Relaxed),
            spooled = self.stats.spooled.load(Ordering::Relaxed),
            "audit writer stopped"
        );
    }
}

/// An append-only file of JSON lines, read back from an offset kept in memory. When everything
/// in it has been written to the database it is truncated.
struct Spool {
    path: PathBuf,
    read_offset: u64,
    len: u64,
}

impl Spool {
    fn open(path: PathBuf) -> Self {
        let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Self { path, read_offset: 0, len }
    }

    fn has_unread(&self) -> bool {
        self.read_offset < self.len
    }

    fn count_lines(&self) -> std::io::Result<u64> {
        if self.len == 0 {
            return Ok(0);
        }
        let f = File::open(&self.path)?;
        Ok(BufReader::new(f).lines().count() as u64)
    }

    fn append(&mut self, events: &[AuditEvent]) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(events.len() * 512);
        for ev in events {
            serde_json::to_writer(&mut buf, ev)?;
            buf.push(b'\n');
        }
        let mut f = OpenOptions::new().create(true).append(true).open(&self.path)?;
        f.write_all(&buf)?;
        f.sync_data()?;
        self.len = f.metadata()?.len();
        Ok(())
    }

    fn read_batch(&self, max: usize) -> std::io::Result<(Vec<AuditEvent>, u64)> {
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.read_offset))?;
        let mut reader = BufReader::new(f);
        let mut events = Vec::new();
        let mut offset = self.read_offset;
        let mut line = String::new();
        while events.len() < max {
            line.clear();
            let n = reader.read_line(&mut line)?;
            if n == 0 {
                break;
            }
            if !line.ends_with('\n') {
                // A line torn by a crash mid-append: nothing after it is usable.
                offset += n as u64;
                tracing::warn!("audit spool ends with a partial line; skipping it");
                break;
            }
            offset += n as u64;
            match serde_json::from_str(line.trim_end()) {
                Ok(ev) => events.push(ev),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable line in the audit spool"),
            }
        }
        Ok((events, offset))
    }

    fn consumed_to(&mut self, offset: u64) {
        self.read_offset = offset;
        if self.read_offset >= self.len {
            match OpenOptions::new().write(true).open(&self.path).and_then(|f| f.set_len(0)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(error = %e, "cannot truncate the audit spool file"),
            }
            self.read_offset = 0;
            self.len = 0;
        }
    }

    fn sync(&self) -> std::io::Result<()> {
        match File::open(&self.path) {
            Ok(f) => f.sync_all(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }
}
