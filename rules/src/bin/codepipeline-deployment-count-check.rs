//! Lambda entry point of `codepipeline-deployment-count-check`.
fn main() -> std::process::ExitCode {
    pipesec_shared::lambda_main::<pipesec_rules::codepipeline_deployment_count_check::DeploymentCountCheck>()
}
