"""``python -m bench [check|commit|diff|release|wide|all] [--rows N]``: run benchmarks on a synthetic trial.

``all`` runs check, commit and diff, which share one 10M-row workspace. The
release benchmark (1M rows by default, its own trial and scratch directory)
takes several minutes more, so it runs only when named; so does the wide-delivery
benchmark (2 × 5,000 and 100,000 × 2,000 columns).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

from .measure import CommandFailed
from .workspace import Workspace, default_scratch

BENCHMARKS = ("check", "commit", "diff", "release", "wide")
ALL = ("check", "commit", "diff")  # the benchmarks on the shared workspace; `all` runs these
OWN_WORKSPACE = {"release", "wide"}  # benchmarks that build their own trial (main(scratch=…, rows=…))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("which", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--rows", type=int, default=None,
                        help="rows of the synthetic trial (default 10M; 1M for release)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per measurement; the median is reported")
    parser.add_argument("--scratch", type=Path, default=default_scratch(),
                        help="scratch directory (default $TMPDIR/ipd-bench or /tmp/ipd-bench)")
    parser.add_argument("--gx-rows", type=int, default=0, metavar="N",
                        help="also run GX's pandas engine on the first N rows, for context (default: not run)")
    args = parser.parse_args(argv)

    chosen = ALL if args.which == "all" else (args.which,)
    start = time.perf_counter()
    try:
        shared = [name for name in chosen if name not in OWN_WORKSPACE]
        if shared:
            ws = Workspace(args.scratch, args.rows or 10_000_000)
            print(f"preparing {ws.rows:,} rows in {args.scratch} (load average {_load()}) …", flush=True)
            ws.ensure_repository()
            print("set-up: " + ", ".join(f"{k} {v:.1f} s" for k, v in ws.setup.items() if "bytes" not in k),
                  flush=True)
        else:
            print(f"load average {_load()}", flush=True)
        for name in chosen:
            print(flush=True)
            module = importlib.import_module(f"bench.{name}")
            if name in OWN_WORKSPACE:
                module.main(scratch=args.scratch, rows=args.rows, runs=args.runs)
            else:
                module.main(ws, runs=args.runs, gx_rows=args.gx_rows)
    except CommandFailed as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(f"\nwhole bench: {time.perf_counter() - start:.0f} s (load average now {_load()})")
    return 0


def _load() -> str:
    """Other work on the machine skews timings: the 1-, 5- and 15-minute load averages say how much."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
