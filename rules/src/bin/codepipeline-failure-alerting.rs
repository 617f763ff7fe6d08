//! Lambda entry point of `codepipeline-failure-alerting`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_failure_alerting::FailureAlerting>()
}
