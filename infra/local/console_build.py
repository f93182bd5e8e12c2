"""Builds the console (console/dist) when its sources are newer than the last build.

`python -m infra.local.console_build` builds if stale (what `make run` and the browser tests run);
`--check` only says, exit 1 when stale. The sources: console's own files and docs/openapi.json (the
forms validate against its schemas).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "console"
DIST_INDEX = CONSOLE / "dist" / "index.html"
SOURCES = ["src", "public", "build-tools", "index.html", "vite.config.ts", "tsconfig.json", "package.json", "package-lock.json"]


def newest_source() -> float:
    paths = [ROOT / "docs" / "openapi.json"]
    for name in SOURCES:
        path = CONSOLE / name
        paths.extend(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else paths.append(path)
    return max(p.stat().st_mtime for p in paths if p.exists())


def is_stale() -> bool:
    return not DIST_INDEX.is_file() or DIST_INDEX.stat().st_mtime < newest_source()


def build() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm is not on PATH: the console needs Node 20+ and npm")
    if not (CONSOLE / "node_modules" / ".package-lock.json").is_file():
        subprocess.run([npm, "ci", "--prefix", str(CONSOLE), "--no-audit", "--no-fund"], check=True)
    subprocess.run([npm, "--prefix", str(CONSOLE), "run", "build"], check=True)


def ensure_built() -> bool:
    """Builds when stale; whether it built."""
    if not is_stale():
        return False
    build()
    return True


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = is_stale()
        print("console/dist is stale" if stale else "console/dist is up to date")
        return 1 if stale else 0
    built = ensure_built()
    print("console built" if built else "console/dist is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
