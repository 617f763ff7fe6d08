//! Lambda entry point of `codebuild-project-artifacts-encrypted`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_artifacts_encrypted::ArtifactsEncrypted>()
}
