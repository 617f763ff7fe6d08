//! Lambda entry point of `codepipeline-build-isolation`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_build_isolation::BuildIsolation>()
}
