//! Structured logs for the Lambda functions: JSON lines on stdout (CloudWatch
//! reads them), with the fields of the enclosing spans — lambda_runtime's
//! invocation span carries the request id, ours carry the job id.

use tracing_subscriber::EnvFilter;

/// JSON logs with an RFC 3339 `timestamp` and a `level`: with Lambda's JSON
/// log format, Lambda drops lines below the function's `ApplicationLogLevel`
/// (`AWS_LAMBDA_LOG_LEVEL`) itself, but reads a line's level only when it
/// has a valid timestamp (without one every line counts as INFO). What is
/// logged at all: `RUST_LOG`'s directives (per-crate levels), else
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn init_json() {
    let rust_log = std::env::var("RUST_LOG").ok();
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(EnvFilter::new(directives(rust_log.as_deref(), lambda_level.as_deref())))
        .with_current_span(true)
        .with_span_list(true)
        .init();
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

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn rust_log_then_lambda_level_then_info() {
        assert_eq!(directives(Some("ferry=debug"), Some("WARN")), "ferry=debug");
        assert_eq!(directives(None, Some("WARN")), "warn");
        assert_eq!(directives(Some(" "), Some("DEBUG")), "debug");
        assert_eq!(directives(None, Some("FATAL")), "error");
        assert_eq!(directives(None, Some("loud")), "info");
        assert_eq!(directives(None, None), "info");
    }
}
