//! Lambda entry point of the Security Hub findings function.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda::run::<pipesec_securityhub::Function>()
}
