//! Structured JSON logs, one object per line, for CloudWatch Logs Insights. Logged fields are
//! names, ids and verdicts; never a configuration value.

use tracing::Level;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// The crates whose TRACE events may be logged.
const OWN_CRATES: [&str; 3] = ["pipesec_engine", "pipesec_rules", "pipesec_securityhub"];

/// Installs the JSON subscriber. The level comes from `PIPESEC_LOG`, else Lambda's
/// `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn init() {
    let level = std::env::var("PIPESEC_LOG").or_else(|_| std::env::var("AWS_LAMBDA_LOG_LEVEL")).ok();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false)
        // The builder's own maximum is INFO; the filter below decides.
        .with_max_level(LevelFilter::TRACE)
        .finish();
    let _ = subscriber.with(filter(level.as_deref())).try_init();
}

/// The filter for a level name; anything but a level name is `info`. TRACE applies to pipesec's
/// own code only: at TRACE the Lambda runtime and the SDK log whole events and response bodies,
/// configuration values (and so secrets) included. A fixed filter, not `EnvFilter`: its directive
/// parser links a regex engine into every binary (bench/README.md, package size).
fn filter(level: Option<&str>) -> Targets {
    let level = match level.map(|level| level.trim().to_lowercase()).as_deref() {
        Some("off") => LevelFilter::OFF,
        Some("error") => LevelFilter::ERROR,
        Some("warn") => LevelFilter::WARN,
        Some("debug") => LevelFilter::DEBUG,
        Some("trace") => {
            return Targets::new().with_default(Level::DEBUG).with_targets(OWN_CRATES.map(|name| (name, Level::TRACE)));
        }
        _ => LevelFilter::INFO,
    };
    Targets::new().with_default(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_crates_never_log_below_debug() {
        let trace = filter(Some("TRACE"));
        assert!(trace.would_enable("pipesec_rules::common", &Level::TRACE));
        assert!(trace.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!trace.would_enable("aws_smithy_runtime::client", &Level::TRACE));
        assert!(!trace.would_enable("lambda_runtime", &Level::TRACE));
        let debug = filter(Some(" Debug "));
        assert!(
            debug.would_enable("lambda_runtime", &Level::DEBUG) && !debug.would_enable("pipesec_engine", &Level::TRACE)
        );
        assert!(!filter(None).would_enable("pipesec_engine", &Level::DEBUG));
        assert!(filter(None).would_enable("pipesec_engine", &Level::INFO));
        assert!(!filter(Some("off")).would_enable("pipesec_engine", &Level::ERROR));
        // A directive string could re-enable TRACE for the SDK: only level names are taken.
        let directive = filter(Some("aws_smithy_runtime=trace"));
        assert!(!directive.would_enable("aws_smithy_runtime", &Level::TRACE));
        assert!(!directive.would_enable("aws_smithy_runtime", &Level::DEBUG));
    }
}
