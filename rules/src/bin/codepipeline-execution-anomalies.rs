//! Lambda entry point of `codepipeline-execution-anomalies`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_execution_anomalies::ExecutionAnomalies>()
}
