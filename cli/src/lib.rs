//! The `pipesec` command line: the catalog's rules against an account, Config snapshot files,
//! CloudFormation templates or Terraform plans and state, with a score per pipeline, five report
//! formats and a CI gate.
//!
//! Layers, each using only those below it (a test checks there is no import circle):
//! [`commands`] (one module per command) → [`account`] and [`report`] → [`pipelines`] and
//! [`score`] → [`aggregator`] (an organization through an AWS Config aggregator) → [`runner`] (the rules over entries, through the engine's evaluation core) →
//! [`sources`] (where an account's resources are read: Config's inventory or the services) →
//! [`input`] (snapshot files, templates and service answers as entries) → [`args`] and
//! [`error`].
//!
//! Every rule is reached through `pipesec_rules::catalog()` and `with_rule` (a [`RuleVisitor`]
//! per operation), never a list kept here: a rule added to the catalog is run by the CLI.
//!
//! [`RuleVisitor`]: pipesec_engine::RuleVisitor

pub mod account;
pub mod aggregator;
pub mod args;
pub mod commands;
pub mod error;
pub mod fuzz_targets;
pub mod input;
pub mod pipelines;
pub mod report;
pub mod runner;
pub mod score;
pub mod sources;

#[cfg(test)]
mod architecture;
#[cfg(test)]
mod corpus;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::error::Result;

/// Runs the command line; exit code 0 clean, 1 gate failed, 2 usage or runtime error.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(err) => {
            let message = err.to_string().replace('\n', " ");
            eprintln!("pipesec: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `Ok(true)` when the gate passes.
pub fn run(cli: Cli) -> Result<bool> {
    match cli.command {
        Command::Evaluate(args) => commands::evaluate::run(&args),
        Command::ScanTemplate(args) => commands::scan_template::run(&args),
        Command::ScanTerraform(args) => commands::scan_terraform::run(&args),
        Command::Rules(args) => {
            print!("{}", commands::rules::listing(&args));
            Ok(true)
        }
        Command::Demo(args) => commands::demo::run(&args),
    }
}
