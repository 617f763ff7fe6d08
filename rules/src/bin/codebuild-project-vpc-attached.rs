//! Lambda entry point of `codebuild-project-vpc-attached`.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda_main::<pipesec_rules::codebuild_project_vpc_attached::VpcAttached>()
}
