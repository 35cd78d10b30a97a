//! Metrics pushed over OTLP (gRPC or HTTP/protobuf) every `OTEL_METRIC_EXPORT_INTERVAL`, as
//! cumulative sums, gauges and explicit-bucket histograms, under the OpenTelemetry names.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::metrics::v1 as pb;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use tokio_util::sync::CancellationToken;

use super::{Kind, Metric, Value};
use crate::state::AppState;
use crate::telemetry::{MetricsExport, Protocol};

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

fn string(key: &str, value: &str) -> KeyValue {
    KeyValue { key: key.to_string(), value: Some(AnyValue { value: Some(any_value::Value::StringValue(value.to_string())) }) }
}

/// The request carrying `metrics`, counted from `start` (nanoseconds since the epoch).
pub fn encode(metrics: &[Metric], service: &str, start: u64, now: u64) -> ExportMetricsServiceRequest {
    let cumulative = pb::AggregationTemporality::Cumulative as i32;
    let mut out = Vec::with_capacity(metrics.len());
    for m in metrics {
        let attrs = |p: &super::Point| p.attributes.iter().map(|(k, v)| string(k, v)).collect::<Vec<_>>();
        let number = |p: &super::Point, v: pb::number_data_point::Value| pb::NumberDataPoint {
            attributes: attrs(p),
            start_time_unix_nano: start,
            time_unix_nano: now,
            value: Some(v),
            ..Default::default()
        };
        let data = match m.kind {
            Kind::Histogram => pb::metric::Data::Histogram(pb::Histogram {
                aggregation_temporality: cumulative,
                data_points: m
                    .points
                    .iter()
                    .filter_map(|p| match &p.value {
                        Value::Buckets { bounds, counts, sum, count } => Some(pb::HistogramDataPoint {
                            attributes: attrs(p),
                            start_time_unix_nano: start,
                            time_unix_nano: now,
                            count: *count,
                            sum: Some(*sum),
                            bucket_counts: counts.clone(),
                            explicit_bounds: bounds.to_vec(),
                            ..Default::default()
                        }),
                        _ => None,
                    })
                    .collect(),
            }),
            Kind::Counter | Kind::Gauge => {
                let points = m
                    .points
                    .iter()
                    .filter_map(|p| match p.value {
                        Value::Int(v) => Some(number(p, pb::number_data_point::Value::AsInt(v as i64))),
                        Value::Float(v) => Some(number(p, pb::number_data_point::Value::AsDouble(v))),
                        Value::Buckets { .. } => None,
                    })
                    .collect();
                if m.kind == Kind::Counter {
                    pb::metric::Data::Sum(pb::Sum { data_points: points, aggregation_temporality: cumulative, is_monotonic: true })
                } else {
                    pb::metric::Data::Gauge(pb::Gauge { data_points: points })
                }
            }
        };
        out.push(pb::Metric { name: m.name.to_string(), description: m.help.to_string(), unit: m.unit.to_string(), data: Some(data), ..Default::default() });
    }
    ExportMetricsServiceRequest {
        resource_metrics: vec![pb::ResourceMetrics {
            resource: Some(Resource { attributes: vec![string("service.name", service)], ..Default::default() }),
            scope_metrics: vec![pb::ScopeMetrics {
                scope: Some(InstrumentationScope { name: "weir".into(), version: env!("CARGO_PKG_VERSION").into(), ..Default::default() }),
                metrics: out,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

enum Client {
    Http(reqwest::Client),
    Grpc(MetricsServiceClient<tonic::transport::Channel>),
}

async fn send(client: &mut Client, cfg: &MetricsExport, req: ExportMetricsServiceRequest) -> Result<(), String> {
    match client {
        Client::Http(http) => {
            let mut r = http.post(&cfg.endpoint).header("content-type", "application/x-protobuf").body(req.encode_to_vec()).timeout(cfg.timeout);
            for (k, v) in &cfg.headers {
                r = r.header(k, v);
            }
            let resp = r.send().await.map_err(|e| e.to_string())?;
            if resp.status().is_success() {
                Ok(())
            } else {
                Err(format!("the collector answered {}", resp.status()))
            }
        }
        Client::Grpc(grpc) => {
            let mut r = tonic::Request::new(req);
            r.set_timeout(cfg.timeout);
            for (k, v) in &cfg.headers {
                if let (Ok(k), Ok(v)) = (k.parse::<tonic::metadata::MetadataKey<tonic::metadata::Ascii>>(), v.parse()) {
                    r.metadata_mut().insert(k, v);
                }
            }
            grpc.export(r).await.map(|_| ()).map_err(|e| e.to_string())
        }
    }
}

/// Pushes a snapshot every interval, and once more when `stop` fires.
pub fn spawn(state: AppState, cfg: MetricsExport, stop: CancellationToken) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let mut client = match cfg.protocol {
        Protocol::HttpProtobuf => Client::Http(reqwest::Client::builder().build()?),
        Protocol::Grpc => Client::Grpc(MetricsServiceClient::new(tonic::transport::Endpoint::from_shared(cfg.endpoint.clone())?.connect_lazy())),
    };
    let start = now_nanos();
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + cfg.interval, cfg.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let last = tokio::select! {
                _ = tick.tick() => false,
                () = stop.cancelled() => true,
            };
            let req = encode(&super::collect(&state).await, &cfg.service, start, now_nanos());
            let stats = &state.telemetry.stats;
            // The last push, at shutdown, waits less: a collector that is gone must not hold the exit.
            let limit = if last { cfg.timeout.min(Duration::from_secs(5)) } else { cfg.timeout + Duration::from_secs(1) };
            match tokio::time::timeout(limit, send(&mut client, &cfg, req)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    stats.metric_export_failures.fetch_add(1, Relaxed);
                    tracing::warn!(error = %e, endpoint = %cfg.endpoint, "metric export failed");
                }
                Err(_) => {
                    stats.metric_export_failures.fetch_add(1, Relaxed);
                    tracing::warn!(endpoint = %cfg.endpoint, "metric export timed out");
                }
            }
            if last {
                return;
            }
        }
    }))
}
