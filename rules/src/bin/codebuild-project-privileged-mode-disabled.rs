//! Lambda entry point of `codebuild-project-privileged-mode-disabled`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_privileged_mode_disabled::PrivilegedModeDisabled>()
}
