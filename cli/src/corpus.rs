//! The real-world corpus (`shared/corpus` beside the checkout; its SOURCES.md says where each file
//! comes from): every template and checker case through the template scan, every file of
//! configuration items and API responses through the snapshot reader, then every catalog rule,
//! offline, over what they hold.
//!
//! Asserted: no panic; no error, except for the inputs in [`REFUSED`], whose error must name the
//! problem; no item a rule's view cannot read; every CodeBuild project, report group and
//! pipeline judged exactly once by every catalog rule of its type. Printed: the share of
//! NOT_APPLICABLE verdicts, in all and per rule (`scripts/test` runs this test with
//! `--nocapture`). Without the corpus the test says so and passes.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use pipesec_engine::Compliance;

use crate::commands::block_on;
use crate::input::template::{self, Context};
use crate::input::{Entry, snapshot};
use crate::runner::{Finding, Mode, Selection, run_rules};

/// Inputs that are refused, by file name, with what their error must say: not something pipesec
/// evaluates.
const REFUSED: &[(&str, &str)] = &[(
    "cloud-custodian__cloud-custodian__tests__data__placebo__test_codebuild_get_source_credentials__codebuild.ListSourceCredentials_1.json",
    "ListSourceCredentials output: source credentials are not a resource pipesec evaluates",
)];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
}

/// NOT_APPLICABLE verdicts and all verdicts.
#[derive(Debug, Default, Clone, Copy)]
struct Share {
    not_applicable: usize,
    total: usize,
}

impl Share {
    fn add(&mut self, finding: &Finding) {
        self.total += 1;
        self.not_applicable += usize::from(finding.compliance == Compliance::NotApplicable);
    }

    fn percent(self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let share = self.not_applicable as f64 * 100.0 / self.total as f64;
        share
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:>4} of {:>4} ({:>5.1}%)", self.not_applicable, self.total, self.percent())
    }
}

/// What the corpus gave: verdicts per source and per rule, and what went wrong.
#[derive(Debug, Default)]
struct Tally {
    files: usize,
    resources: usize,
    by_source: BTreeMap<&'static str, Share>,
    by_rule: BTreeMap<&'static str, Share>,
    problems: Vec<String>,
}

impl Tally {
    /// One file: read it, run every rule over it, check and count the verdicts.
    fn file(&mut self, path: &Path, source: &'static str, read: impl Fn(&Path) -> crate::error::Result<Vec<Entry>>) {
        self.files += 1;
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let refused = REFUSED.iter().find(|(file, _)| *file == name).map(|(_, reason)| *reason);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let entries = read(path)?;
            let mode = Mode::offline(source);
            let run = block_on(run_rules(&Selection::new(&[], &[])?, &mode, &entries))??;
            Ok::<_, crate::error::CliError>((entries, run))
        }));
        let (entries, run) = match (outcome, refused) {
            (Err(_), _) => return self.problems.push(format!("{name}: panicked")),
            (Ok(Err(err)), Some(reason)) if err.to_string().contains(reason) => return,
            (Ok(Err(err)), _) => return self.problems.push(format!("{name}: {err}")),
            (Ok(Ok(_)), Some(reason)) => {
                return self.problems.push(format!("{name}: read, but should be refused: {reason}"));
            }
            (Ok(Ok(found)), None) => found,
        };
        for err in &run.unreadable {
            self.problems.push(format!("{name}: an item no rule could read: {err}"));
        }
        // Exactly one verdict of every catalog rule of its type for each resource.
        let mut expected: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
        for entry in &entries {
            for rule in pipesec_rules::catalog().iter().filter(|rule| rule.resource_type == entry.item.resource_type) {
                *expected.entry((rule.id, &entry.item.resource_type, &entry.item.resource_id)).or_default() += 1;
            }
        }
        let mut judged: BTreeMap<(&str, &str, &str), usize> = BTreeMap::new();
        for finding in &run.findings {
            *judged.entry((finding.rule, &finding.resource_type, &finding.resource_id)).or_default() += 1;
            self.by_source.entry(source).or_default().add(finding);
            self.by_rule.entry(finding.rule).or_default().add(finding);
        }
        if judged != expected {
            let differ: Vec<String> = expected
                .iter()
                .filter(|(key, count)| judged.get(*key) != Some(count))
                .map(|(key, count)| {
                    let (rule, _, id) = key;
                    format!("{rule} on {id}: {} verdicts, not {count}", judged.get(key).copied().unwrap_or(0))
                })
                .chain(
                    judged
                        .keys()
                        .filter(|key| !expected.contains_key(*key))
                        .map(|(rule, _, id)| format!("{rule} judged {id}, not a resource of its type")),
                )
                .collect();
            self.problems.push(format!("{name}: {}", differ.join("; ")));
        }
        if entries.is_empty() {
            self.problems.push(format!("{name}: no CodeBuild project, report group or pipeline read"));
        }
        self.resources += entries.len();
    }

    fn print(&self) {
        let sum = |shares: &mut dyn Iterator<Item = &Share>| {
            shares.fold(Share::default(), |sum, share| Share {
                not_applicable: sum.not_applicable + share.not_applicable,
                total: sum.total + share.total,
            })
        };
        let all = sum(&mut self.by_source.values());
        let catalog = pipesec_rules::catalog();
        let offline_rules = catalog.iter().filter(|rule| rule.reads.is_empty());
        let offline = sum(&mut offline_rules.filter_map(|rule| self.by_rule.get(rule.id)));
        println!("corpus: {} files, {} resources, {} verdicts", self.files, self.resources, all.total);
        println!("NOT_APPLICABLE share: {all}");
        for (source, share) in &self.by_source {
            println!("  {:<48} {share}", format!("{source} inputs"));
        }
        println!("  {:<48} {offline}", "rules that make no live read");
        println!("NOT_APPLICABLE share per rule (* reads live: always NOT_APPLICABLE offline when it must read):");
        for rule in &catalog {
            let share = self.by_rule.get(rule.id).copied().unwrap_or_default();
            let live = if rule.reads.is_empty() { ' ' } else { '*' };
            println!("  {live}{:<47} {share}", rule.id);
        }
    }
}

/// Every input of the corpus at `root`, or `None` when there is none.
fn check(root: &Path) -> Option<Tally> {
    if !root.is_dir() {
        return None;
    }
    let mut tally = Tally::default();
    let context = Context::default();
    for dir in ["templates", "cases"] {
        for path in files(&root.join(dir)) {
            tally.file(&path, "template", |path| template::load(path, &context));
        }
    }
    for path in files(&root.join("items")) {
        tally.file(&path, "snapshot", snapshot::load);
    }
    Some(tally)
}

#[test]
fn every_corpus_input_is_read_and_every_resource_judged_once_by_every_rule() {
    let Some(tally) = check(&corpus()) else {
        println!("corpus test skipped: {} is absent", corpus().display());
        return;
    };
    tally.print();
    assert!(tally.files >= 40 && tally.resources > 0, "the corpus is there but nearly empty: {tally:?}");
    assert!(tally.problems.is_empty(), "{}", tally.problems.join("\n"));
}

#[test]
fn without_the_corpus_the_test_is_skipped() {
    assert!(check(&corpus().join("no-such-directory")).is_none());
}
