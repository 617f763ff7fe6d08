//! Lambda entry point of `codepipeline-region-fanout-check`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_region_fanout_check::RegionFanoutCheck>()
}
