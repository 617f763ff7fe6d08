//! Lambda entry point of `codepipeline-artifacts-cmk-encrypted`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_artifacts_cmk_encrypted::ArtifactsCmkEncrypted>()
}
