//! Prints the rule catalog as JSON: what deployment artifacts (templates, packages, the
//! conformance pack) and documentation are generated from, so that every rule that lands in
//! `catalog()` appears in them without a hand edit.
//!
//! `{"engineActions": [...], "rules": [RuleInfo, ...]}`
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let export = serde_json::json!({
        "engineActions": pipesec_engine::engine::ENGINE_ACTIONS,
        "rules": pipesec_rules::catalog(),
    });
    let mut stdout = std::io::stdout().lock();
    match serde_json::to_writer_pretty(&mut stdout, &export)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(stdout))
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pipesec-catalog: cannot write the catalog: {err}");
            ExitCode::FAILURE
        }
    }
}
