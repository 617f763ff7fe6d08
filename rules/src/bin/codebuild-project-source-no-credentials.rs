//! Lambda entry point of `codebuild-project-source-no-credentials`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_source_no_credentials::SourceNoCredentials>()
}
