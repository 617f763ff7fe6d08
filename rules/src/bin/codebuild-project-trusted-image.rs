//! Lambda entry point of `codebuild-project-trusted-image`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_trusted_image::TrustedImage>()
}
