//! The detector measured on labelled sets of realistic build variables: precision and recall on
//! the corpus (`fixtures/secrets-corpus.json`) must stay at or above 0.95; three later batches
//! (`fixtures/secrets-heldout*.json`) are reported separately, the third one held out.
//!
//! Each entry is `{"name", "value", "secret", "note"}`. Notes tag the interesting entries:
//! `[tricky]` (not a secret, but with a secret-like name or a random-looking value),
//! `[innocent-name]` (a secret under a name that says nothing) and `[ambiguous]` (a judgement
//! call, explained in the note). The reports print names, labels and kinds, never values.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Deserialize;

use super::{SecretKind, detect};

const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    value: String,
    secret: bool,
    note: String,
}

fn load(file: &str) -> Vec<Entry> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn corpus() -> Vec<Entry> {
    load("secrets-corpus.json")
}

/// A ratio that is 1 when nothing was asked of it (no positives predicted or expected).
fn ratio(hits: usize, total: usize) -> f64 {
    #[allow(clippy::cast_precision_loss)] // corpus counts are tiny
    if total == 0 { 1.0 } else { hits as f64 / total as f64 }
}

/// The detector's answers on a labelled set, and its report (names, labels and kinds only).
struct Measurement {
    precision: f64,
    recall: f64,
    report: String,
}

fn measure(title: &str, entries: &[Entry]) -> Measurement {
    let tagged =
        |secret: bool, tag: &str| entries.iter().filter(|e| e.secret == secret && e.note.contains(tag)).count();
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let mut kinds: Vec<(SecretKind, usize)> = Vec::new();
    let mut misses = String::new();
    for entry in entries {
        let found = detect(&entry.name, Some(&entry.value));
        match (entry.secret, found) {
            (true, Some(kind)) => {
                tp += 1;
                match kinds.iter_mut().find(|(k, _)| *k == kind) {
                    Some((_, count)) => *count += 1,
                    None => kinds.push((kind, 1)),
                }
            }
            (true, None) => {
                fn_ += 1;
                writeln!(misses, "  FN  {:<36} expected secret, found nothing  ({})", entry.name, entry.note).unwrap();
            }
            (false, Some(kind)) => {
                fp += 1;
                writeln!(misses, "  FP  {:<36} expected no secret, found {kind}  ({})", entry.name, entry.note)
                    .unwrap();
            }
            (false, None) => tn += 1,
        }
    }
    let secrets = tp + fn_;
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, secrets);
    kinds.sort_by_key(|&(_, count)| std::cmp::Reverse(count));

    let mut report = String::new();
    writeln!(report, "{title}: {} variables", entries.len()).unwrap();
    writeln!(
        report,
        "  secret:     {secrets:>4} ({} with innocent names, {} ambiguous)",
        tagged(true, "[innocent-name]"),
        tagged(true, "[ambiguous]")
    )
    .unwrap();
    writeln!(
        report,
        "  not secret: {:>4} ({} tricky, {} ambiguous)",
        fp + tn,
        tagged(false, "[tricky]"),
        tagged(false, "[ambiguous]")
    )
    .unwrap();
    writeln!(report, "  TP {tp}  FP {fp}  FN {fn_}  TN {tn}").unwrap();
    writeln!(report, "  precision {precision:.3}  recall {recall:.3}").unwrap();
    writeln!(report, "  true positives by kind:").unwrap();
    for (kind, count) in &kinds {
        writeln!(report, "    {count:>4}  {kind}").unwrap();
    }
    if misses.is_empty() {
        writeln!(report, "  misclassified: none").unwrap();
    } else {
        writeln!(report, "  misclassified (names only):\n{misses}").unwrap();
    }
    for entry in entries.iter().filter(|e| e.secret && e.value.len() >= 8) {
        assert!(!report.contains(&entry.value), "the report repeats the value of {}", entry.name);
    }
    Measurement { precision, recall, report }
}

#[test]
fn the_anchor_prefilter_hides_no_format_in_the_corpus() {
    let corpus = corpus();
    // Each value as it is and inside a longer text, where formats must be found mid-string.
    for entry in &corpus {
        for value in [entry.value.clone(), format!("x={} y", entry.value), entry.value.to_lowercase()] {
            assert!(super::anchors_hide_no_format(&value), "{}: the prefilter hid a format", entry.name);
        }
    }
}

#[test]
fn the_name_gate_hides_no_secret_name_in_the_corpus() {
    for entry in &corpus() {
        for name in [entry.name.clone(), entry.name.to_lowercase(), format!("APP_{}_PROD", entry.name)] {
            assert!(super::name::gate_hides_no_secret_class(&name), "{name}: the gate hid a secret class");
        }
    }
}

#[test]
fn precision_and_recall_on_the_labelled_corpus() {
    let measured = measure("secrets corpus", &corpus());
    println!("{}  targets: precision {MIN_PRECISION}, recall {MIN_RECALL}\n", measured.report);
    assert!(measured.precision >= MIN_PRECISION && measured.recall >= MIN_RECALL, "below target\n{}", measured.report);
}

/// A batch measured against the floor it must not fall below: its report is printed beside the
/// floor (`floor_name` says when the floor was recorded), and the test fails only if the
/// detector does worse on the batch than that.
fn batch_not_worse_than(title: &str, file: &str, floor: (f64, f64), floor_name: &str) {
    let measured = measure(title, &load(file));
    let (precision_floor, recall_floor) = floor;
    println!("{}  {floor_name}: precision {precision_floor:.3}, recall {recall_floor:.3}\n", measured.report);
    assert!(
        measured.precision >= precision_floor && measured.recall >= recall_floor,
        "worse than {floor_name}\n{}",
        measured.report
    );
}

/// What the detector scored on the held-out batch when the batch was written, before the
/// vendor-format table: 20 of 44 secrets found, 6 false positives among the 44 look-alikes.
const HELD_OUT_BEFORE: (f64, f64) = (20.0 / 26.0, 20.0 / 44.0);

/// The first held-out batch: vendor tokens with documented prefixes under neutral names, and
/// values that look like them but are not secrets (public keys, identifiers, placeholders). It
/// was written before the vendor-format table, but its misses were known when the table was
/// written, so since then it is no longer held out for the table: the second batch is. Its
/// numbers are reported, not targets: the test fails only if the detector does worse on it than
/// it did before ([`HELD_OUT_BEFORE`]).
#[test]
fn precision_and_recall_on_the_held_out_batch() {
    batch_not_worse_than(
        "secrets held-out batch",
        "secrets-heldout.json",
        HELD_OUT_BEFORE,
        "before the vendor-format table",
    );
}

/// What the detector scored on the second batch (`secrets-heldout-2.json`) with the formats it
/// had before the vendor-format table: the floor for the test below.
const SECOND_HELD_OUT_BEFORE: (f64, f64) = (51.0 / 64.0, 51.0 / 60.0);

/// The second batch: written by a separate session from the vendors' own documentation, without
/// seeing the detector or its format table, before the table was written (commit `899b875`). It
/// was held out for the table (precision 0.809, recall 0.917); the detector was then tuned on it
/// (commit `7400886`), so it is a development set now, and the third batch is held out. Reported,
/// not a target; fails only if the detector does worse than before the table
/// ([`SECOND_HELD_OUT_BEFORE`]).
#[test]
fn precision_and_recall_on_the_second_held_out_batch() {
    batch_not_worse_than(
        "secrets batch 2 (tuned on since)",
        "secrets-heldout-2.json",
        SECOND_HELD_OUT_BEFORE,
        "before the vendor-format table",
    );
}

/// What the detector scored on the third held-out batch when the batch arrived, untuned: the floor
/// for the test below.
const THIRD_HELD_OUT_FIRST: (f64, f64) = (49.0 / 56.0, 49.0 / 62.0);

/// The third held-out batch (`secrets-heldout-3.json`, commit `4e79e40`): written by a separate
/// session without seeing the detector, after the detector was tuned on the second batch. It is
/// the held-out figure now; never tuned against. Fails only if the detector does worse on it than
/// when it arrived ([`THIRD_HELD_OUT_FIRST`]).
#[test]
fn precision_and_recall_on_the_third_held_out_batch() {
    batch_not_worse_than(
        "secrets held-out batch 3",
        "secrets-heldout-3.json",
        THIRD_HELD_OUT_FIRST,
        "when the batch arrived",
    );
}
