//! Lambda entry point of `codebuild-project-logging-enabled`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_logging_enabled::LoggingEnabled>()
}
