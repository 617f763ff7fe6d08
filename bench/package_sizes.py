"""Package sizes for the performance suite: the zipped arm64 bootstrap of every package in
scripts/package's manifest, against the 2.5 MB target of issue 24 (it was 3 MB). Standard
library only.

    package_sizes.py MANIFEST.json OUTPUT.json
"""

import json
import sys
from pathlib import Path

TARGET_BYTES = 2_500_000


def main(manifest_path: Path, output: Path) -> int:
    packages = json.loads(manifest_path.read_text())["packages"]
    rows = {name: {"zip_bytes": entry["size"], "bootstrap_bytes": entry["bootstrapSize"],
                   "within_target": entry["size"] <= TARGET_BYTES} for name, entry in packages.items()}
    output.write_text(json.dumps({"target_zip_bytes": TARGET_BYTES, "packages": rows}, indent=2) + "\n")
    width = max(map(len, rows))
    print(f"{'package (arm64, provided.al2023)':<{width}}  {'bootstrap MB':>12}  {'zip MB':>7}  {'of 2.5 MB':>9}")
    for name, row in sorted(rows.items(), key=lambda item: item[1]["zip_bytes"]):
        print(f"{name:<{width}}  {row['bootstrap_bytes'] / 1e6:>12.2f}  {row['zip_bytes'] / 1e6:>7.2f}  "
              f"{row['zip_bytes'] / TARGET_BYTES:>8.0%}{'' if row['within_target'] else '  OVER'}")
    over = [name for name, row in rows.items() if not row["within_target"]]
    print(f"{len(rows) - len(over)} of {len(rows)} packages within 2.5 MB zipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
