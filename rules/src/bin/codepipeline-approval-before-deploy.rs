//! Lambda entry point of `codepipeline-approval-before-deploy`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_approval_before_deploy::ApprovalBeforeDeploy>()
}
