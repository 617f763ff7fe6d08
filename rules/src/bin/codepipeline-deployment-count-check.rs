//! Lambda entry point of `codepipeline-deployment-count-check`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_deployment_count_check::DeploymentCountCheck>()
}
