//! Lambda entry point of `codepipeline-secrets-rotated`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_secrets_rotated::SecretsRotated>()
}
