//! The `pipesec` command: everything is in the library.

fn main() -> std::process::ExitCode {
    pipesec_cli::main()
}
