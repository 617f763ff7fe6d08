//! `pipesec demo`: the bundled AWS emulator (the Python test bed of `tests/`), seeded with good
//! and bad pipelines and projects by `tests/testbed/demo_account.py`, evaluated like an account.
//!
//! The seeding process starts the emulator, prints one JSON line (`endpoint`, `region`, rule
//! `parameters`) and keeps the emulator running until its standard input closes; this module
//! closes it when the evaluation is done (and kills the process by its id if it does not stop).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_config::config::Credentials;
use indicatif::ProgressBar;
use serde::Deserialize;

use crate::account::{evaluate_account, sdk_config};
use crate::args::{DemoArgs, Format, Source};
use crate::commands::{block_on, write_file};
use crate::error::{CliError, Result};
use crate::report::{Options, Report};
use crate::runner::Selection;

/// What the seeding process prints once the account is ready.
#[derive(Debug, Deserialize)]
struct Seeded {
    endpoint: String,
    region: String,
    /// Rule parameters the demo's team would set: `{rule id: {name: value}}`.
    #[serde(default)]
    parameters: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// The seeding process; stopped (by its id) when dropped.
struct SeedProcess(Child);

impl Drop for SeedProcess {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The source tree holding `tests/testbed` and `scripts/venv`.
fn repo_root(args: &DemoArgs) -> PathBuf {
    args.repo
        .clone()
        .or_else(|| std::env::var_os("PIPESEC_REPO").map(PathBuf::from))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// The Python to run the test bed with: `PIPESEC_PYTHON`, else the project's venv (made by
/// `scripts/venv` on first use, which takes minutes).
fn python(repo: &Path) -> Result<PathBuf> {
    if let Some(python) = std::env::var_os("PIPESEC_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let script = repo.join("scripts/venv");
    let output = Command::new("bash")
        .arg(&script)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|err| CliError::Runtime(format!("cannot run {} (bash is required): {err}", script.display())))?;
    if !output.status.success() {
        return Err(CliError::Runtime(format!(
            "cannot prepare the Python environment of the emulator ({} failed; python3 3.10 or newer with venv and pip is required)",
            script.display()
        )));
    }
    let venv = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    Ok(Path::new(&venv).join("bin/python"))
}

pub fn run(args: &DemoArgs) -> Result<bool> {
    let repo = repo_root(args);
    let tests = repo.join("tests");
    if !tests.join("testbed/demo_account.py").is_file() {
        return Err(CliError::Runtime(format!(
            "the demo needs the pipesec source tree: {} not found (pass --repo DIR or set PIPESEC_REPO)",
            tests.join("testbed/demo_account.py").display()
        )));
    }
    let python = python(&repo)?;
    eprintln!("pipesec demo: starting the AWS emulator and seeding it with pipelines and projects…");
    let child = Command::new(&python)
        .args(["-u", "-m", "testbed.demo_account"])
        .env("PYTHONPATH", &tests)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|err| CliError::Runtime(format!("cannot start {}: {err}", python.display())))?;
    let mut process = SeedProcess(child);
    let mut line = String::new();
    if let Some(stdout) = process.0.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|err| CliError::Runtime(format!("cannot read from the emulator process: {err}")))?;
    }
    let seeded: Seeded = serde_json::from_str(line.trim())
        .map_err(|_| CliError::Runtime("the emulator did not start (see the messages above)".to_owned()))?;
    eprintln!("pipesec demo: emulator at {}; evaluating every rule as Config would…\n", seeded.endpoint);

    let params: Vec<String> = seeded
        .parameters
        .iter()
        .flat_map(|(rule, values)| values.iter().map(move |(name, value)| format!("{rule}:{name}={value}")))
        .collect();
    let selection = Selection::new(&[], &params)?;
    let evaluated = block_on(async {
        let credentials = Credentials::new("demo", "demo", None, None, "pipesec-demo");
        let config = sdk_config(Some(&seeded.region), Some(&seeded.endpoint), Some(credentials)).await;
        // The emulator's Config records every type: its inventory is what Config's rules see.
        evaluate_account(&config, &selection, Source::Config, &ProgressBar::hidden()).await
    })?;
    drop(process);
    let (entries, run, _) = evaluated?;
    let (findings, unreadable) = run.into_parts();
    let report = Report::new("demo", selection.rules, &entries, findings);

    let options = Options { region: Some(seeded.region.clone()), ..Options::default() };
    print!("{}", report.render(Format::Table, &options)?);
    let html = args.html.clone().unwrap_or_else(|| std::env::temp_dir().join("pipesec-demo-report.html"));
    write_file(&html, &report.render(Format::Html, &options)?)?;
    println!("\nHTML report: {}", html.display());
    if !params.is_empty() {
        println!("Rule parameters used: {}", params.join(" "));
    }
    unreadable.map_or(Ok(true), Err)
}
