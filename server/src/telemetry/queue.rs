//! The span queue between requests and the OTLP exporter: a bounded queue that a request only
//! ever offers a span to (never waits on), a thread that exports it in batches, and counts of
//! what was exported and what was dropped.
//!
//! Sizes and delays follow the standard `OTEL_BSP_*` variables.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

use super::TelemetryStats;
use crate::config::Env;

#[derive(Debug, Clone, Copy)]
pub struct QueueConfig {
    pub max_queue: usize,
    pub max_batch: usize,
    pub delay: Duration,
}

impl QueueConfig {
    pub fn from_env(env: &Env) -> Self {
        let num = |name: &str, default: u64| env.get(name).and_then(|v| v.trim().parse::<u64>().ok()).filter(|n| *n > 0).unwrap_or(default);
        let max_queue = num("OTEL_BSP_MAX_QUEUE_SIZE", 2048) as usize;
        Self {
            max_queue,
            max_batch: (num("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512) as usize).min(max_queue),
            delay: Duration::from_millis(num("OTEL_BSP_SCHEDULE_DELAY", 5000)),
        }
    }
}

enum Message {
    Span(Box<SpanData>),
    /// Export everything queued before this message, then answer.
    Flush(SyncSender<OTelSdkResult>),
    Shutdown(SyncSender<OTelSdkResult>),
}

pub struct SpanQueue {
    tx: SyncSender<Message>,
    stats: std::sync::Arc<TelemetryStats>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    resource: Mutex<Option<SyncSender<Resource>>>,
}

impl std::fmt::Debug for SpanQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpanQueue")
    }
}

impl SpanQueue {
    pub fn start<E: SpanExporter + 'static>(exporter: E, config: QueueConfig, stats: std::sync::Arc<TelemetryStats>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<Message>(config.max_queue);
        let (resource_tx, resource_rx) = mpsc::sync_channel::<Resource>(1);
        let worker_stats = stats.clone();
        let worker = std::thread::Builder::new().name("weir-span-export".into()).spawn(move || {
            let mut exporter = exporter;
            let mut batch: Vec<SpanData> = Vec::with_capacity(config.max_batch);
            let mut deadline = Instant::now() + config.delay;
            let export = |exporter: &mut E, batch: &mut Vec<SpanData>| -> OTelSdkResult {
                if let Ok(r) = resource_rx.try_recv() {
                    exporter.set_resource(&r);
                }
                if batch.is_empty() {
                    return Ok(());
                }
                let n = batch.len() as u64;
                let result = futures_executor::block_on(exporter.export(std::mem::take(batch)));
                match &result {
                    Ok(()) => worker_stats.spans_exported.fetch_add(n, Relaxed),
                    Err(e) => {
                        tracing::warn!(error = %e, spans = n, "span export failed; the spans are dropped");
                        worker_stats.trace_export_failures.fetch_add(1, Relaxed);
                        worker_stats.spans_dropped_export_failed.fetch_add(n, Relaxed)
                    }
                };
                result
            };
            loop {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok(Message::Span(span)) => {
                        batch.push(*span);
                        if batch.len() >= config.max_batch {
                            let _ = export(&mut exporter, &mut batch);
                            deadline = Instant::now() + config.delay;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = export(&mut exporter, &mut batch);
                        deadline = Instant::now() + config.delay;
                    }
                    // Spans queued before the message have all been received: the batch holds
                    // what is left of them.
                    Ok(Message::Flush(reply)) => {
                        let _ = reply.send(export(&mut exporter, &mut batch));
                    }
                    Ok(Message::Shutdown(reply)) => {
                        let r = export(&mut exporter, &mut batch);
                        let _ = exporter.shutdown();
                        let _ = reply.send(r);
                        return;
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        let _ = export(&mut exporter, &mut batch);
                        return;
                    }
                }
            }
        })?;
        Ok(Self { tx, stats, worker: Mutex::new(Some(worker)), resource: Mutex::new(Some(resource_tx)) })
    }

    fn ask(&self, make: impl FnOnce(SyncSender<OTelSdkResult>) -> Message, timeout: Duration) -> OTelSdkResult {
        let (reply, answer) = mpsc::sync_channel(1);
        // A control message waits for room: it must not be lost as a span may be.
        if self.tx.send(make(reply)).is_err() {
            return Err(OTelSdkError::AlreadyShutdown);
        }
        answer.recv_timeout(timeout).map_err(|_| OTelSdkError::Timeout(timeout))?
    }
}

impl SpanProcessor for SpanQueue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.tx.try_send(Message::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.stats.spans_dropped_queue_full.fetch_add(1, Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                self.stats.spans_dropped_export_failed.fetch_add(1, Relaxed);
            }
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.ask(Message::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let r = self.ask(Message::Shutdown, timeout);
        if let Some(worker) = self.worker.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            if r.is_ok() {
                let _ = worker.join();
            }
        }
        r
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(tx) = self.resource.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            let _ = tx.try_send(resource.clone());
        }
    }
}
