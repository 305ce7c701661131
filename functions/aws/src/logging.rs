//! Structured logs for the Lambda functions, the runtime's way: JSON lines
//! on stdout (or plain text when the function's log format is Text), with
//! the fields of the enclosing spans — lambda_runtime's invocation span
//! carries the request id, ours carry the job id. Metric events
//! (`ferry_core::metrics`) are printed apart, as CloudWatch Embedded Metric
//! Format lines, whatever the log level.

use ferry_core::metrics::{NAMESPACE, TARGET};
use serde_json::{Map, Value, json};
use std::io::Write;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry};

/// Logs as Lambda configures them: JSON (the template's `LogFormat: JSON`)
/// with an RFC 3339 `timestamp` and a `level`, or text when
/// `AWS_LAMBDA_LOG_FORMAT` is `Text`. With JSON, Lambda drops lines below
/// the function's `ApplicationLogLevel` (`AWS_LAMBDA_LOG_LEVEL`) itself, but
/// reads a line's level only when it has a valid timestamp (without one
/// every line counts as INFO). What is logged at all: `RUST_LOG`'s
/// directives (per-crate levels), else `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn init_json() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    let filter = EnvFilter::new(directives(rust_log.as_deref(), lambda_level.as_deref()))
        .add_directive(format!("{TARGET}=off").parse().expect("a directive"));
    let text = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("text"));
    let logs: Box<dyn Layer<Registry> + Send + Sync> = if text {
        tracing_subscriber::fmt::layer().with_ansi(false).with_filter(filter).boxed()
    } else {
        tracing_subscriber::fmt::layer().json().with_current_span(true).with_span_list(true).with_filter(filter).boxed()
    };
    let metrics = EmfLayer.with_filter(Targets::new().with_target(TARGET, Level::INFO));
    tracing_subscriber::registry().with(logs).with(metrics).init();
}

/// The filter's directives from `RUST_LOG` and Lambda's application log level.
fn directives(rust_log: Option<&str>, lambda_level: Option<&str>) -> String {
    if let Some(directives) = rust_log.filter(|d| !d.trim().is_empty()) {
        return directives.to_owned();
    }
    match lambda_level.map(str::to_ascii_lowercase).as_deref() {
        // Lambda's levels are TRACE, DEBUG, INFO, WARN, ERROR and FATAL;
        // tracing has no FATAL.
        Some("fatal") => "error".to_owned(),
        Some(level @ ("trace" | "debug" | "info" | "warn" | "error")) => level.to_owned(),
        _ => "info".to_owned(),
    }
}

/// Prints each metric event as one EMF line on stdout.
struct EmfLayer;

impl<S: Subscriber> Layer<S> for EmfLayer {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = MetricFields::default();
        event.record(&mut fields);
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let line = emf_line(now.as_millis() as u64, &fields.metrics, &fields.dimensions);
        // One write per line, so lines from concurrent invocations never interleave.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// A metric event's fields, by `ferry_core::metrics`' convention: capitalised
/// names are metrics, lower-case ones dimensions.
#[derive(Default)]
struct MetricFields {
    metrics: Vec<(String, f64)>,
    dimensions: Vec<(String, String)>,
}

impl MetricFields {
    fn number(&mut self, field: &Field, value: f64) {
        if field.name().starts_with(char::is_uppercase) {
            self.metrics.push((field.name().to_owned(), value));
        }
    }
}

impl Visit for MetricFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.number(field, value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.number(field, value as f64);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.number(field, value as f64);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if !field.name().starts_with(char::is_uppercase) {
            self.dimensions.push((title_case(field.name()), value.to_owned()));
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

fn title_case(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// One line of CloudWatch Embedded Metric Format: the metrics and their
/// dimensions as top-level members, and the `_aws` directive naming them
/// (namespace [`NAMESPACE`]; a name ending in `Ms` is in milliseconds).
pub fn emf_line(timestamp_ms: u64, metrics: &[(String, f64)], dimensions: &[(String, String)]) -> String {
    let mut root = Map::new();
    let names: Vec<Value> = metrics
        .iter()
        .map(|(name, _)| {
            let unit = if name.ends_with("Ms") { "Milliseconds" } else { "Count" };
            json!({"Name": name, "Unit": unit})
        })
        .collect();
    let keys: Vec<&str> = dimensions.iter().map(|(k, _)| k.as_str()).collect();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [keys], "Metrics": names}],
        }),
    );
    for (key, value) in dimensions {
        root.insert(key.clone(), Value::String(value.clone()));
    }
    for (name, value) in metrics {
        root.insert(name.clone(), json!(value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_then_lambda_level_then_info() {
        assert_eq!(directives(Some("ferry=debug"), Some("WARN")), "ferry=debug");
        assert_eq!(directives(None, Some("WARN")), "warn");
        assert_eq!(directives(Some(" "), Some("DEBUG")), "debug");
        assert_eq!(directives(None, Some("FATAL")), "error");
        assert_eq!(directives(None, Some("loud")), "info");
        assert_eq!(directives(None, None), "info");
    }

    #[test]
    fn an_emf_line_names_its_metrics_units_and_dimensions() {
        let line = emf_line(
            1_700_000_000_000,
            &[("JobsCreated".into(), 1.0), ("QueueAgeMs".into(), 12.5)],
            &[("Task".into(), "sentiment".into())],
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000u64);
        let directive = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Ferry");
        assert_eq!(directive["Dimensions"], json!([["Task"]]));
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "JobsCreated", "Unit": "Count"}, {"Name": "QueueAgeMs", "Unit": "Milliseconds"}])
        );
        assert_eq!(
            (v["Task"].as_str(), v["JobsCreated"].as_f64(), v["QueueAgeMs"].as_f64()),
            (Some("sentiment"), Some(1.0), Some(12.5))
        );
    }
}
