//! Lambda entry point of `codebuild-project-not-public`.
fn main() -> std::process::ExitCode {
    pipesec_shared::lambda_main::<pipesec_rules::codebuild_project_not_public::NotPublic>()
}
