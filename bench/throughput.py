"""Evaluation throughput against real competitors (part 3 of scripts/bench, after the cargo bench).

The cargo bench (cli/benches/evaluate.rs) measures pipesec's item JSON -> verdict per rule beside
a floor, parsing the same JSON into a `serde_json::Value`: the least any rule must do, not a
competitor. This script times, in the same run and the same way (the best of the bench's rounds),
the Python rules that make the same check on the same item: the rdklib and boto3 privileged-mode
rules of the start-up benchmark (bench/rdklib_rule.py, bench/baseline_rule.py), each given the
item JSON and answering with its verdict, no AWS call. Every competitor's verdict must equal
the fixture's expected one, or the run fails. Rules without a competitor are listed as such.

Run with the bench venv's Python (rdklib), from the repository root:

    "$(scripts/venv bench/requirements.txt)/bin/python" bench/throughput.py target/bench/evaluate.json

It adds the competitors to that JSON and prints one table per item.
"""

import json
import sys
import time
from pathlib import Path
from typing import Callable

import baseline_rule
import rdklib_rule

REPO = Path(__file__).resolve().parent.parent
# Calls per round, as in the cargo bench.
PER_ROUND = 20_000


# Built once, as the rdklib Lambda handler builds it.
RDKLIB_RULE = rdklib_rule.PrivilegedModeDisabled()


def _rdklib_evaluate(item_json: str) -> str:
    evaluations = RDKLIB_RULE.evaluate_change(None, None, json.loads(item_json), {})
    return evaluations[0].complianceType


def _boto3_evaluate(item_json: str) -> str:
    return baseline_rule.evaluate(json.loads(item_json))[0]


def _json_loads(item_json: str) -> str:
    json.loads(item_json)
    return "-"


# Per rule: (name, function of the item JSON returning the verdict) of each competitor.
COMPETITORS: dict[str, list[tuple[str, Callable[[str], str]]]] = {
    "codebuild-project-privileged-mode-disabled": [
        ("rdklib rule evaluate (json.loads + ConfigRule.evaluate_change)", _rdklib_evaluate),
        ("boto3 rule evaluate (json.loads + evaluate)", _boto3_evaluate),
    ],
}
PYTHON_FLOOR = ("floor (Python json.loads)", _json_loads)


def rate(rounds: int, work: Callable[[], object]) -> float:
    """Calls per second: the best of `rounds` rounds of PER_ROUND calls, as the cargo bench."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(PER_ROUND):
            work()
        best = min(best, time.perf_counter() - started)
    return PER_ROUND / best


def item_json(fixture: Path, expected_bytes: int) -> str:
    """The fixture's item as compact JSON, as the cargo bench reads it (checked by its size)."""
    text = json.dumps(json.loads(fixture.read_text()), separators=(",", ":"), ensure_ascii=False)
    if len(text.encode()) != expected_bytes:
        sys.exit(f"{fixture}: {len(text.encode())} bytes compact, the cargo bench read {expected_bytes}")
    return text


def expected_verdict(fixture: Path) -> str:
    """The verdict the rule's fixture expects, from its scenario name (compliant-*, non-compliant-*)."""
    return "NON_COMPLIANT" if fixture.stem.startswith("non-compliant") else "COMPLIANT"


def measure(row: dict, rounds: int) -> list[dict]:
    """The competitors of one cargo bench row, each checked against the fixture's verdict."""
    rule_id = row["figure"].split(":")[0]
    fixture = REPO / row["fixture"]
    text = item_json(fixture, row["bytes"])
    measured = []
    for name, evaluate in COMPETITORS.get(rule_id, []):
        verdict = evaluate(text)
        if verdict != expected_verdict(fixture):
            sys.exit(f"{name} on {row['fixture']}: {verdict}, expected {expected_verdict(fixture)}")
        measured.append({"name": name, "rate": round(rate(rounds, lambda: evaluate(text)))})
    if measured:
        measured.append({"name": PYTHON_FLOOR[0], "rate": round(rate(rounds, lambda: PYTHON_FLOOR[1](text)))})
    return measured


def print_row(row: dict) -> None:
    pipesec = row["rate"]
    print(f"\n{row['figure']}, {row['fixture']} ({row['bytes']} bytes), one core")
    print(f"{'':<70} {'items/s':>10} {'pipesec is':>11}")
    lines = [(f"floor ({row['floor']})", row["floor_rate"]), ("pipesec", pipesec)]
    lines += [(competitor["name"], competitor["rate"]) for competitor in row["competitors"]]
    for name, value in lines:
        ratio = "" if name == "pipesec" else f"{pipesec / value:.1f}x"
        print(f"{name:<70} {value:>10,.0f} {ratio:>11}")
    if len(row["competitors"]) == 0:
        print(f"{'(no competitor: no Python rule of this check in bench/)':<70}")


def main(path: Path) -> None:
    document = json.loads(path.read_text())
    rounds = document["rounds"]
    for row in document["evaluation_throughput"]:
        if row.get("fixture"):
            row["competitors"] = measure(row, rounds)
            print_row(row)
    document["python_competitors_per_round"] = PER_ROUND
    document["python"] = sys.version.split()[0]
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: throughput.py EVALUATE_JSON")
    main(Path(sys.argv[1]))
