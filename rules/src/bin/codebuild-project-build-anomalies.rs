//! Lambda entry point of `codebuild-project-build-anomalies`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_build_anomalies::BuildAnomalies>()
}
