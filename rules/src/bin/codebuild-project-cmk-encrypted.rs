//! Lambda entry point of `codebuild-project-cmk-encrypted`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_cmk_encrypted::CmkEncrypted>()
}
