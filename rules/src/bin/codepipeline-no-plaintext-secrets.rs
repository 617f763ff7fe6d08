//! Lambda entry point of `codepipeline-no-plaintext-secrets`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_no_plaintext_secrets::NoPlaintextSecrets>()
}
