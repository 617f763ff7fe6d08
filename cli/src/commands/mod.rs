//! The `pipesec` commands, one module each, and what they share: the async runtime, writing the
//! report and the gate.

pub mod demo;
pub mod evaluate;
pub mod rules;
pub mod scan_template;
pub mod scan_terraform;

use std::io::{IsTerminal, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use crate::args::ReportArgs;
use crate::error::{CliError, Result};
use crate::report::{Options, Report};

pub(crate) fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| CliError::Runtime(format!("cannot start the async runtime: {err}")))?;
    Ok(runtime.block_on(future))
}

/// Renders the report where asked, then applies the gate: `Ok(true)` when it passes. A `failure`
/// (items that could not be read, resource types that could not be seen) fails the run (exit 2)
/// once the report of what was evaluated is written.
pub(crate) fn output(report: &Report, failure: Option<CliError>, args: &ReportArgs, options: &Options) -> Result<bool> {
    let text = report.render(args.format, options)?;
    if let Some(path) = &args.output {
        write_file(path, &text)?;
    } else {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|err| CliError::Runtime(format!("cannot write the report: {err}")))?;
    }
    if let Some(err) = failure {
        return Err(err);
    }
    Ok(!report.fails(args.fail_on, args.fail_under))
}

pub(crate) fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|err| CliError::Runtime(format!("cannot write {}: {err}", path.display())))
}

/// A progress bar on standard error, drawn only when it is a terminal.
pub(crate) fn progress_bar(length: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length);
    if let Ok(style) = ProgressStyle::with_template("{spinner} evaluating [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style);
    }
    bar
}
