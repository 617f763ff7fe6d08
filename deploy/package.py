"""Lambda packages: `<target>/lambda/<name>/bootstrap` and `bootstrap.zip` per function (the
layout cargo-lambda uses), checked (arm64 ELF, no glibc symbol newer than the floor), and
`<target>/lambda/manifest.json`. Standard library only: scripts/package runs it with python3.

    python3 -m deploy.package TARGET_DIR RELEASE_DIR GLIBC_FLOOR --expected N1,N2,... NAME...

The manifest maps each package name (rule id, pipesec-securityhub, pipesec-scorer or pipesec-hook) to
its zip path (relative to the manifest), sha256 and size; `complete` says whether every expected package is in it.
"""

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

EM_AARCH64 = 183
# A fixed timestamp and mode: the same binary always gives the same zip, and the same sha256.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
BOOTSTRAP_MODE = 0o100755


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if header[:4] != b"\x7fELF":
        raise ValueError(f"{path} is not an ELF file")
    byteorder = "little" if header[5] == 1 else "big"
    return int.from_bytes(header[18:20], byteorder)


def glibc_versions(path: Path) -> list[tuple[int, ...]]:
    """The GLIBC_x.y symbol versions the binary needs, from `readelf --version-info`."""
    output = subprocess.run(["readelf", "--version-info", "--wide", str(path)], check=True, capture_output=True,
                            text=True).stdout
    return sorted({tuple(int(part) for part in version.split(".")) for version in re.findall(r"GLIBC_([0-9.]+)", output)})


def max_glibc(path: Path) -> str:
    versions = glibc_versions(path)
    return ".".join(map(str, versions[-1])) if versions else "none"


def check(path: Path, floor: str) -> str:
    """Fails unless `path` is an arm64 ELF needing no glibc newer than `floor`; returns its maximum."""
    if elf_machine(path) != EM_AARCH64:
        raise ValueError(f"{path}: not an aarch64 ELF (e_machine {elf_machine(path)})")
    highest = max_glibc(path)
    limit = tuple(int(part) for part in floor.split("."))
    if highest != "none" and tuple(int(part) for part in highest.split(".")) > limit:
        raise ValueError(f"{path}: needs GLIBC_{highest}, newer than the floor GLIBC_{floor}")
    return highest


def write_zip(bootstrap: Path, archive: Path) -> None:
    info = zipfile.ZipInfo("bootstrap", date_time=ZIP_DATE)
    info.external_attr = BOOTSTRAP_MODE << 16
    info.create_system = 3  # Unix: the mode above is honoured
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(archive, "w") as zip_file:
        zip_file.writestr(info, bootstrap.read_bytes(), compresslevel=9)


def package(lambda_dir: Path, binary: Path, name: str, floor: str) -> dict:
    directory = lambda_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    bootstrap = directory / "bootstrap"
    shutil.copyfile(binary, bootstrap)
    bootstrap.chmod(0o755)
    highest = check(bootstrap, floor)
    archive = directory / "bootstrap.zip"
    write_zip(bootstrap, archive)
    data = archive.read_bytes()
    return {
        "zip": f"{name}/bootstrap.zip",
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "bootstrapSize": bootstrap.stat().st_size,
        "maxGlibc": highest,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target_dir", type=Path)
    parser.add_argument("release_dir", type=Path)
    parser.add_argument("glibc_floor")
    parser.add_argument("--expected", required=True, help="every package name, comma-separated")
    parser.add_argument("names", nargs="+")
    args = parser.parse_args(argv)
    lambda_dir = args.target_dir / "lambda"
    lambda_dir.mkdir(parents=True, exist_ok=True)
    expected = args.expected.split(",")
    packages = {}
    for name in args.names:
        try:
            packages[name] = package(lambda_dir, args.release_dir / name, name, args.glibc_floor)
        except (OSError, ValueError, subprocess.CalledProcessError) as problem:
            print(f"scripts/package: {name}: {problem}", file=sys.stderr)
            return 1
    manifest = {
        "target": "aarch64-unknown-linux-gnu",
        "runtime": "provided.al2023",
        "glibcFloor": args.glibc_floor,
        "complete": set(expected) <= set(packages),
        "packages": dict(sorted(packages.items())),
    }
    (lambda_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    width = max(map(len, packages))
    print(f"{'package':<{width}}  {'bootstrap':>10}  {'zip':>10}  max glibc")
    for name, entry in manifest["packages"].items():
        print(f"{name:<{width}}  {entry['bootstrapSize']:>10,}  {entry['size']:>10,}  {entry['maxGlibc']}")
    print(f"wrote {lambda_dir / 'manifest.json'} ({len(packages)} of {len(expected)} packages)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
