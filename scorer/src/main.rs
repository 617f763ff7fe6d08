//! Lambda entry point of the organization scorer.
fn main() -> std::process::ExitCode {
    pipesec_engine::lambda::run::<pipesec_scorer::Function>()
}
