"""`python -m deploy generate CATALOG_JSON ROOT`: writes the templates under ROOT.
`python -m deploy check CATALOG_JSON ROOT`: exits 1 if a committed template differs.

CATALOG_JSON is the output of the `pipesec-catalog` binary (`-` for standard input)."""

import json
import sys
from pathlib import Path

from deploy.generate import outputs
from deploy.catalog import Catalog


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("generate", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    command, catalog_path, root = argv[0], argv[1], Path(argv[2])
    text = sys.stdin.read() if catalog_path == "-" else Path(catalog_path).read_text()
    catalog = Catalog.from_json(json.loads(text))
    stale = []
    for relative, content in outputs(catalog).items():
        path = root / relative
        if command == "generate":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            print(f"wrote {relative} ({len(content.encode())} bytes)")
        elif not path.exists() or path.read_text() != content:
            stale.append(relative)
    if stale:
        print(f"out of date (run scripts/templates): {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
