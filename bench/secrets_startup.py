"""Secret detector start-up: the detector of a base revision against the working tree's, in one run.

The secrets rules pay for the detector once per Lambda process, on the first variable they judge
(its automata and regexes are built lazily). This script exports `rules/src/common/secrets*`
(and, where they exist, `rules/build.rs` with `rules/data/`) from each tree into a small crate
built with the workspace's release settings, and runs both binaries in alternating rounds:

  first call   the first `detect` in a fresh process, on one ordinary variable: the start-up cost
  first pass   the first pass over every value of the labelled corpus (435 variables), in a
               fresh process: start-up plus the formats a varied pipeline brings in
  warm pass    the same pass again in the same process

Medians over RUNS processes each. The target (issue 24) is start-up within 10% of the base's:
the first call. The first pass is reported beside it: the corpus is dense with vendor tokens, so
it compiles far more formats than one pipeline's variables do. `secrets_startup.py OUTPUT.json [BASE_REVISION]` (default: the commit before the
vendor-format table, 899b875). Needs the crates in cargo's local cache (the workspace's build
fetched them).
"""

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RUNS = 41
ROOT = Path(__file__).resolve().parent.parent
BASE = "899b875"

MAIN = r"""
#[allow(dead_code)]
mod secrets;
use std::time::Instant;
fn main() {
    let input = std::fs::read(std::env::args().nth(1).expect("input file")).expect("read input");
    let text = String::from_utf8(input).expect("utf-8");
    let fields: Vec<&str> = text.split('\0').collect();
    let pairs: Vec<(&str, &str)> = fields.chunks_exact(2).map(|p| (p[0], p[1])).collect();
    let mode = std::env::args().nth(2).expect("mode");
    let started = Instant::now();
    let mut found = 0usize;
    if mode == "first-call" {
        found += usize::from(secrets::detect("DEPLOY_BUCKET", Some("artifacts-prod-eu-west-1")).is_some());
        let first = started.elapsed();
        println!("{} {found}", first.as_nanos());
        return;
    }
    for (name, value) in &pairs {
        found += usize::from(secrets::detect(name, Some(value)).is_some());
    }
    let first = started.elapsed();
    let again = Instant::now();
    for (name, value) in &pairs {
        found += usize::from(secrets::detect(name, Some(value)).is_some());
    }
    println!("{} {} {found}", first.as_nanos(), again.elapsed().as_nanos());
}
"""

MANIFEST = """
[package]
name = "secrets-startup"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
regex = "1"
aho-corasick = "1.1"
smallvec = "1.15"

{build_dependencies}

[profile.release]
strip = true
lto = true
codegen-units = 1
opt-level = "z"
panic = "abort"
"""

BUILD_DEPENDENCIES = """[build-dependencies]
regex-syntax = { version = "0.8", default-features = false, features = ["std"] }
serde = { version = "1", features = ["derive"] }
serde_norway = "0.9"
"""


def export(revision: str | None, crate: Path) -> None:
    """The detector's files from `revision` (None: the working tree) into a crate at `crate`."""
    files = ["rules/src/common/secrets.rs", "rules/src/common/secrets/name.rs", "rules/src/common/secrets/value.rs"]
    optional = ["rules/build.rs", "rules/data/token-formats.yaml"]
    (crate / "src/secrets").mkdir(parents=True, exist_ok=True)
    (crate / "data").mkdir(exist_ok=True)
    def read(path: str) -> bytes | None:
        if revision is None:
            file = ROOT / path
            return file.read_bytes() if file.exists() else None
        shown = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True)
        return shown.stdout if shown.returncode == 0 else None
    for path in files + optional:
        content = read(path)
        if content is None:
            if path in files:
                raise SystemExit(f"{path} not in {revision or 'the working tree'}")
            continue
        destination = {"rules/build.rs": "build.rs", "rules/data/token-formats.yaml": "data/token-formats.yaml"}.get(
            path, "src/" + path.removeprefix("rules/src/common/"))
        if path == "rules/src/common/secrets.rs":
            # The corpus tests are not part of the detector.
            content = content.replace(b"#[cfg(test)]\nmod corpus;", b"")
        (crate / destination).write_bytes(content)
    has_build = (crate / "build.rs").exists()
    (crate / "Cargo.toml").write_text(MANIFEST.format(build_dependencies=BUILD_DEPENDENCIES if has_build else ""))
    (crate / "src/main.rs").write_text(MAIN)


def build(crate: Path, target: Path) -> Path:
    subprocess.run(["cargo", "build", "--release", "--offline", "--quiet", "--target-dir", str(target)],
                   cwd=crate, check=True)
    return target / "release/secrets-startup"


def main(output: Path, base: str) -> None:
    corpus = json.loads((ROOT / "rules/fixtures/secrets-corpus.json").read_text())
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        values = work / "values"
        values.write_bytes("\0".join(f"{e['name']}\0{e['value']}" for e in corpus).encode())
        binaries = {}
        for label, revision in (("base", base), ("tree", None)):
            crate = work / label
            export(revision, crate)
            built = build(crate, work / f"target-{label}")
            binaries[label] = work / f"secrets-startup-{label}"
            shutil.copy(built, binaries[label])
        samples = {label: {"first_call": [], "first_pass": [], "warm_pass": []} for label in binaries}
        for _ in range(RUNS):
            for label, binary in binaries.items():
                call = subprocess.run([binary, values, "first-call"], capture_output=True, text=True, check=True)
                samples[label]["first_call"].append(int(call.stdout.split()[0]) / 1e6)
                run = subprocess.run([binary, values, "pass"], capture_output=True, text=True, check=True)
                first, warm, _ = run.stdout.split()
                samples[label]["first_pass"].append(int(first) / 1e6)
                samples[label]["warm_pass"].append(int(warm) / 1e6)
    medians = {label: {k: statistics.median(v) for k, v in runs.items()} for label, runs in samples.items()}
    ratios = {k: medians["tree"][k] / medians["base"][k] for k in medians["base"]}
    print(f"secret detector start-up, medians of {RUNS} processes each (ms); base {base}, tree = working tree")
    print(f"  {'':<12}{'base':>10}{'tree':>10}{'tree/base':>11}")
    for key in ("first_call", "first_pass", "warm_pass"):
        print(f"  {key:<12}{medians['base'][key]:>10.3f}{medians['tree'][key]:>10.3f}{ratios[key]:>10.2f}x")
    output.write_text(json.dumps({"base": base, "runs": RUNS, "medians_ms": medians, "ratios": ratios}, indent=2))
    within = ratios["first_call"] <= 1.10
    print(f"  target: start-up (first call) within 10% of the base: {'met' if within else 'NOT met'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else BASE)
