//! Lambda entry point of `codebuild-project-no-plaintext-secrets`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_no_plaintext_secrets::NoPlaintextSecrets>()
}
