//! Structured logs for the Lambda functions: JSON lines on stdout (CloudWatch
//! reads them), with the fields of the enclosing spans — lambda_runtime's
//! invocation span carries the request id, ours carry the job id.

/// JSON logs; the level comes from `RUST_LOG` (default `info`).
pub fn init_json() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .without_time()
        .init();
}
