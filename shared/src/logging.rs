//! Structured JSON logs, one object per line, for CloudWatch Logs Insights. Logged fields are
//! names, ids and verdicts; never a configuration value.

use tracing_subscriber::EnvFilter;

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// Installs the JSON subscriber. The level comes from `PIPESEC_LOG`, else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn init() {
    let level = std::env::var("PIPESEC_LOG").or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL")).ok();
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(directives(level.as_deref())))
        .try_init();
}

/// The filter for a level name; anything but a level name is `info`. TRACE applies to pipesec's
/// own code only: at TRACE the Lambda runtime and the SDK log whole events and response bodies,
/// configuration values (and so secrets) included.
fn directives(level: Option<&str>) -> String {
    let level = level.map(|level| level.trim().to_lowercase()).filter(|level| LEVELS.contains(&level.as_str()));
    match level.as_deref() {
        Some("trace") => "debug,pipesec_engine=trace,pipesec_rules=trace,pipesec_securityhub=trace".to_owned(),
        Some(level) => level.to_owned(),
        None => "info".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_crates_never_log_below_debug() {
        let trace = directives(Some("TRACE"));
        assert!(trace.starts_with("debug,"), "{trace}");
        assert!(!trace.contains("lambda_runtime") && !trace.contains("aws_smithy"), "{trace}");
        assert_eq!(directives(Some("Debug")), "debug");
        assert_eq!(directives(None), "info");
        // A directive string could re-enable TRACE for the SDK: only level names are taken.
        assert_eq!(directives(Some("aws_smithy_runtime=trace")), "info");
    }
}
