//! Lambda entry point of `codepipeline-approval-notifications`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_approval_notifications::ApprovalNotifications>()
}
