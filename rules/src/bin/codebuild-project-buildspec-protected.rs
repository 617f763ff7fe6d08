//! Lambda entry point of `codebuild-project-buildspec-protected`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_buildspec_protected::BuildspecProtected>()
}
