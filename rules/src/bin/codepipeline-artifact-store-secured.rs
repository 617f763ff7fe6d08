//! Lambda entry point of `codepipeline-artifact-store-secured`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_artifact_store_secured::ArtifactStoreSecured>()
}
