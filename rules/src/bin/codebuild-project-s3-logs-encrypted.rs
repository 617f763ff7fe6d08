//! Lambda entry point of `codebuild-project-s3-logs-encrypted`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_s3_logs_encrypted::S3LogsEncrypted>()
}
