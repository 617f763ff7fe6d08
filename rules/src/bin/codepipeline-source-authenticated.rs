//! Lambda entry point of `codepipeline-source-authenticated`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codepipeline_source_authenticated::SourceAuthenticated>()
}
