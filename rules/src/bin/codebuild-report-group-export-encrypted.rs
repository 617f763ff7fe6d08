//! Lambda entry point of `codebuild-report-group-export-encrypted`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_report_group_export_encrypted::ReportGroupExportEncrypted>()
}
