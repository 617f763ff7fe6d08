#!/usr/bin/env bash
# Compares release opt-levels (3, s, z) for one rule as scripts/package builds it (arm64,
# glibc 2.34, strip, LTO, one codegen unit): stripped binary size, zipped size, and start-up
# time to the first Runtime API poll under qemu-user (relative figures only: emulated).
# Each level builds in its own target directory (a full release build each: slow on 2 cores).
#   bench/profiles.sh [RULE]      figures printed and written to target/bench/profiles.json
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
rule=${1:-codebuild-project-privileged-mode-disabled}
triple=aarch64-unknown-linux-gnu
venv=$(scripts/venv deploy/requirements.txt)
export PATH="$venv/bin:$PATH"
mkdir -p "$target/bench"
for level in 3 s z; do
  dir="$target/profiles/opt-$level"
  echo "==> opt-level $level: $rule (release, LTO)"
  start=$(date +%s)
  CARGO_PROFILE_RELEASE_OPT_LEVEL=$level CARGO_TARGET_DIR="$dir" \
    cargo zigbuild --release --locked --quiet --target "$triple.2.34" --bin "$rule"
  echo "    built in $(( $(date +%s) - start )) s"
done
tests_venv=$(scripts/venv)
PYTHONPATH="$root/tests:$root" "$tests_venv/bin/python" bench/profiles.py "$target" "$rule" "$target/bench/profiles.json"
