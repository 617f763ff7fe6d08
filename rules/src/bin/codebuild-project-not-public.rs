//! Lambda entry point of `codebuild-project-not-public`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_not_public::NotPublic>()
}
