//! Structured JSON logs, one object per line, for CloudWatch Logs Insights. Logged fields are
//! names, ids and verdicts; never a configuration value.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber. The level comes from `PIPESEC_LOG`, else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn init() {
    let filter = std::env::var("PIPESEC_LOG")
        .or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL"))
        .map_or_else(|_| "info".to_owned(), |level| level.to_lowercase());
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(filter))
        .try_init();
}
