//! Lambda entry point of the CloudFormation hook function.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda::run::<pipesec_hook::Function>()
}
