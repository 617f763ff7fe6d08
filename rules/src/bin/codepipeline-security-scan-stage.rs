//! Lambda entry point of `codepipeline-security-scan-stage`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_security_scan_stage::SecurityScanStage>()
}
