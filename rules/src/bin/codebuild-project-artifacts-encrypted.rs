//! Lambda entry point of `codebuild-project-artifacts-encrypted`.
fn main() -> std::process::ExitCode {
    pipesec_shared::lambda_main::<pipesec_rules::codebuild_project_artifacts_encrypted::ArtifactsEncrypted>()
}
