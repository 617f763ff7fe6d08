//! Evaluation throughput of the pure rules: configuration item JSON in, verdict out, on one core.
//! Baseline in the same run: parsing the same JSON into a generic `serde_json::Value`, the least
//! any rule must do with an item.
//!
//! Run with `cargo bench -p pipesec-cli --bench evaluate`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use pipesec_rules::codebuild_project_no_plaintext_secrets::{self as secrets, LiveVariables, NoPlaintextSecrets};
use pipesec_rules::codebuild_project_privileged_mode_disabled::{self as privileged, PrivilegedModeDisabled};
use pipesec_shared::resources::CodeBuildProject;
use pipesec_shared::rule::Subject;
use pipesec_shared::{ConfigurationItem, Rule};

const ROUNDS: usize = 5;
const ITEMS_PER_ROUND: u32 = 20_000;

fn fixture(rule_id: &str, scenario: &str) -> String {
    let path = format!("{}/../rules/fixtures/{rule_id}/{scenario}.json", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn subject(json: &str) -> Subject<CodeBuildProject> {
    let value: serde_json::Value = serde_json::from_str(json).expect("fixture is JSON");
    Subject::from_item(ConfigurationItem::from_value(&value).expect("fixture is an item"))
        .expect("fixture is a project")
}

/// Items per second: the best of `ROUNDS` rounds.
fn throughput(work: impl Fn()) -> f64 {
    let mut best = Duration::MAX;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..ITEMS_PER_ROUND {
            work();
        }
        best = best.min(start.elapsed());
    }
    f64::from(ITEMS_PER_ROUND) / best.as_secs_f64()
}

fn main() {
    let privileged_item = fixture(privileged::ID, "non-compliant-privileged");
    let secrets_item = fixture(secrets::ID, "non-compliant-secret-name");
    let privileged_params = pipesec_rules::exemptions::ExemptedProjects::default();
    let secrets_params = secrets::Params::default();

    let baseline = throughput(|| {
        black_box(serde_json::from_str::<serde_json::Value>(black_box(&privileged_item)).unwrap());
    });
    let rows = [
        (
            privileged::ID,
            privileged_item.len(),
            throughput(|| {
                let subject = subject(black_box(&privileged_item));
                black_box(PrivilegedModeDisabled::evaluate(&subject, &(), &privileged_params));
            }),
        ),
        (
            secrets::ID,
            secrets_item.len(),
            throughput(|| {
                let subject = subject(black_box(&secrets_item));
                black_box(NoPlaintextSecrets::evaluate(&subject, &LiveVariables::NotNeeded, &secrets_params));
            }),
        ),
    ];
    println!("{:<46} {:>8} {:>14} {:>16}", "item JSON -> verdict, one core", "bytes", "items/s", "vs JSON parse");
    println!(
        "{:<46} {:>8} {:>14.0} {:>15.2}x",
        "baseline: serde_json::Value parse only",
        privileged_item.len(),
        baseline,
        1.0
    );
    for (rule, bytes, rate) in rows {
        println!("{rule:<46} {bytes:>8} {rate:>14.0} {:>15.2}x", rate / baseline);
    }
}
