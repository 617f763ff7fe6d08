//! Lambda entry point of `codebuild-project-secrets-rotated`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_secrets_rotated::SecretsRotated>()
}
