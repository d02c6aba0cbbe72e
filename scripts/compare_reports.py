"""Write the JSON (and CSV) report of every pose track (and, optionally, video) into a folder.

Run it on two checkouts and compare the folders, to show a change kept the reports byte for
byte (a restructure, a refactor):

    PYTHONPATH=/path/to/base/src .venv/bin/python scripts/compare_reports.py /tmp/before
    .venv/bin/python scripts/compare_reports.py /tmp/after
    diff -r /tmp/before /tmp/after && echo identical

Each input is scored by the CLI in its own process (`formcheck X --json --csv`), with whatever
`formcheck` the running interpreter imports (PYTHONPATH picks the checkout). Tracks (.npz)
need no model; videos run the pose model and take a while.
"""

from __future__ import annotations

import argparse
import glob
import subprocess
import sys
from pathlib import Path

CLI = "from formcheck.cli import main; main()"


def score(src: Path, out: Path) -> int:
    """Write out/<stem>.json and .csv for one input; the CLI's exit code (0 and 6 are scored)."""
    cmd = [sys.executable, "-c", CLI, str(src), "--json", str(out / f"{src.stem}.json"),
           "--csv", str(out / f"{src.stem}.csv")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    (out / f"{src.stem}.exit").write_text(f"{proc.returncode}\n", encoding="utf-8")
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="folder for the reports (created)")
    ap.add_argument("--tracks", default="/tmp/tracks/*.npz", help="glob of pose tracks (default: %(default)s)")
    ap.add_argument("--videos", nargs="*", default=[], type=Path, help="videos to score as well (slow)")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    inputs = [Path(p) for p in sorted(glob.glob(args.tracks))] + list(args.videos)
    if not inputs:
        print(f"no inputs: nothing matches {args.tracks}", file=sys.stderr)
        return 2
    bad = 0
    for src in inputs:
        code = score(src, args.out)
        print(f"{code}  {src.name}")
        bad += code not in (0, 6)
    print(f"{len(inputs)} inputs, {bad} not scored -> {args.out}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
