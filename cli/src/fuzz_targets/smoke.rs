//! The short fuzzing run of CI, on stable inside `cargo test`: every target over its seed inputs
//! (the test fixtures, as `scripts/fuzz` seeds its corpora), a few thousand deterministic
//! mutations of them (byte flips, insertions, truncation, splicing), and every crash input
//! committed under `fuzz/regressions/<target>/`. Bounded in time: the real fuzzing is
//! `scripts/fuzz`, outside CI.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::TARGETS;

/// Mutations per target, at most.
const MUTATIONS: usize = 3_000;
/// Time per target, at most, for the mutations (seeds and regressions always run).
const BUDGET: Duration = Duration::from_millis(250);
/// Seeds larger than this are left out, here and in `scripts/fuzz`: they slow every run.
const MAX_SEED_BYTES: u64 = 32 * 1024;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn files(dir: &str, extension: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![root().join(dir)];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|ext| ext == extension)
                && entry.metadata().is_ok_and(|meta| meta.len() <= MAX_SEED_BYTES)
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The configuration items among the fixtures (rules' scenarios, the engine's history item).
fn fixture_items() -> Vec<Value> {
    let mut paths = files("rules/fixtures", "json");
    paths.push(root().join("shared/fixtures/history-item.json"));
    paths.iter().map(|path| json_file(path)).filter(|value| value.get("resourceType").is_some()).collect()
}

/// The seed inputs of a target, from the test fixtures.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let bytes = |value: &Value| serde_json::to_vec_pretty(value).unwrap();
    let read = |path: &PathBuf| std::fs::read(path).unwrap();
    match target {
        "event" => {
            let mut seeds: Vec<Vec<u8>> = ["change-event", "oversized-event", "scheduled-event"]
                .iter()
                .map(|name| read(&root().join(format!("shared/fixtures/{name}.json"))))
                .collect();
            seeds.extend(fixture_items().iter().map(|item| {
                let invoking = json!({"messageType": "ConfigurationItemChangeNotification", "configurationItem": item});
                bytes(&json!({
                    "invokingEvent": invoking.to_string(), "ruleParameters": "{}", "resultToken": "TESTMODE",
                    "eventLeftScope": false, "configRuleName": "fuzz", "accountId": "123456789012",
                    "executionRoleArn": "arn:aws:iam::123456789012:role/config-role",
                }))
            }));
            seeds
        }
        "item" => {
            let mut seeds = Vec::new();
            for item in fixture_items() {
                seeds.push(bytes(&item));
                // The API model: `configuration` as a JSON string.
                let mut api = item.clone();
                api["configuration"] = Value::String(item["configuration"].to_string());
                seeds.push(bytes(&api));
            }
            seeds.push(read(&root().join("shared/fixtures/select-row.json")));
            seeds.extend(files("cli/fixtures/snapshots", "json").iter().map(read));
            // A file as Config delivers it to S3.
            seeds.push(crate::input::tests::gzip(&read(&root().join("cli/fixtures/snapshots/concatenated.json"))));
            seeds
        }
        "params" => {
            let text = std::fs::read_to_string(root().join("fuzz/seeds/params.txt")).unwrap();
            text.lines().map(|line| line.as_bytes().to_vec()).collect()
        }
        "iam" => {
            let mut seeds = Vec::new();
            for path in files("rules/fixtures", "json").iter().filter(|path| path.ends_with("iam.json")) {
                let account = json_file(path);
                let attached: Vec<&str> = account["roles"]
                    .as_object()
                    .into_iter()
                    .flat_map(|roles| roles.values())
                    .flat_map(|role| role["attachedPolicies"].as_array().into_iter().flatten())
                    .filter_map(Value::as_str)
                    .collect();
                let inline = account["roles"]
                    .as_object()
                    .into_iter()
                    .flat_map(|roles| roles.values())
                    .flat_map(|role| role["inlinePolicies"].as_object().into_iter().flat_map(|map| map.values()));
                let managed =
                    account["policies"].as_object().into_iter().flat_map(|map| map.values()).map(|p| &p["document"]);
                for document in inline.chain(managed).filter_map(Value::as_str) {
                    seeds.push(document.as_bytes().to_vec());
                    let decoded = percent_decode(document);
                    seeds.push(decoded.clone().into_bytes());
                    if let Some(arn) = attached.first() {
                        seeds.push(format!("{arn}\n{decoded}").into_bytes());
                    }
                }
                seeds.extend(attached.iter().map(|arn| format!("{arn}\n{{}}").into_bytes()));
            }
            seeds
        }
        "secrets" => {
            let corpus = json_file(&root().join("rules/fixtures/secrets-corpus.json"));
            let corpus = corpus.as_array().unwrap().iter().map(|entry| (&entry["name"], &entry["value"]));
            let fixtures = fixture_items();
            let variables = fixtures
                .iter()
                .filter_map(|item| {
                    item.pointer("/configuration/environment/environmentVariables").and_then(Value::as_array)
                })
                .flatten()
                .map(|variable| (&variable["name"], &variable["value"]));
            corpus
                .chain(variables)
                .map(|(name, value)| {
                    format!("{}={}", name.as_str().unwrap_or_default(), value.as_str().unwrap_or_default()).into_bytes()
                })
                .collect()
        }
        "cfn" => {
            let mut seeds = Vec::new();
            let mut paths = files("cloudformation", "yaml");
            paths.extend(files("cli/fixtures/templates", "yaml"));
            paths.push(root().join("conformance-pack.yaml"));
            for path in paths.iter().filter(|path| path.metadata().is_ok_and(|meta| meta.len() <= MAX_SEED_BYTES)) {
                let text = std::fs::read_to_string(path).unwrap();
                // The same template as JSON, for the JSON half of the reader.
                if let Ok(document) = crate::input::template::parse(&text) {
                    seeds.push(serde_json::to_vec_pretty(&document).unwrap());
                }
                seeds.push(text.into_bytes());
            }
            seeds
        }
        "terraform" => files("cli/fixtures/terraform", "json").iter().map(read).collect(),
        other => panic!("no target {other}"),
    }
}

/// `%XX` escapes decoded (IAM's URL-encoded documents), without a dependency for it.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                i += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// The committed crash inputs of a target.
fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(root().join("fuzz/regressions").join(target)) else { return Vec::new() };
    let mut inputs: Vec<_> = entries.flatten().map(|entry| entry.path()).filter(|path| path.is_file()).collect();
    inputs.sort();
    inputs.into_iter().map(|path| (path.clone(), std::fs::read(&path).unwrap())).collect()
}

/// A tiny deterministic mutator (xorshift64).
struct Mutator(u64);

impl Mutator {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % (bound.max(1) as u64)).unwrap()
    }

    /// One to four edits of `input`, some taking bytes from `other`.
    fn mutate(&mut self, input: &[u8], other: &[u8]) -> Vec<u8> {
        const INTERESTING: &[&[u8]] = &[
            b"\"", b"{", b"}", b"[", b"]", b",", b":", b"null", b"-1", b"1e999", b"%", b"*", b"\\u0000", b"\xff",
            b"!Ref ",
        ];
        let mut data = input.to_vec();
        for _ in 0..=self.below(4) {
            let at = self.below(data.len() + 1);
            match self.below(6) {
                0 if !data.is_empty() => {
                    let at = at.min(data.len() - 1);
                    data[at] ^= 1 << self.below(8);
                }
                1 => data.truncate(at),
                2 => data.splice(at..at, INTERESTING[self.below(INTERESTING.len())].iter().copied()).for_each(drop),
                3 if !data.is_empty() => {
                    let end = (at + 1 + self.below(16)).min(data.len());
                    data.drain(at.min(end)..end);
                }
                4 => {
                    // Splice: the head of this input, the tail of another.
                    let from = self.below(other.len() + 1);
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                }
                _ => {
                    let start = self.below(data.len() + 1);
                    let end = (start + self.below(32)).min(data.len());
                    let copy = data[start..end].to_vec();
                    data.splice(at..at, copy).for_each(drop);
                }
            }
        }
        data
    }
}

#[test]
fn fuzz_targets_smoke() {
    for (index, (name, target)) in TARGETS.iter().enumerate() {
        let seeds = seeds(name);
        assert!(!seeds.is_empty(), "{name}: no seeds");
        for seed in &seeds {
            target(seed);
        }
        let regressions = regressions(name);
        for (path, input) in &regressions {
            let outcome = std::panic::catch_unwind(|| target(input));
            assert!(outcome.is_ok(), "{name}: regression {} fails again", path.display());
        }
        let mut mutator = Mutator(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1));
        let started = Instant::now();
        let mut runs = 0;
        while runs < MUTATIONS && started.elapsed() < BUDGET {
            let input = &seeds[mutator.below(seeds.len())];
            let other = &seeds[mutator.below(seeds.len())];
            let mutated = mutator.mutate(input, other);
            let outcome = std::panic::catch_unwind(|| target(&mutated));
            assert!(outcome.is_ok(), "{name}: panics on {:?}", String::from_utf8_lossy(&mutated));
            runs += 1;
        }
        println!("{name}: {} seeds, {} regressions, {runs} mutations", seeds.len(), regressions.len());
    }
}
