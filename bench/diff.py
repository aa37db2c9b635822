"""Issue 4's diff target: ``ipd diff TRIAL@v1 TRIAL@v2 --json`` in at most 1 s and 1 GB peak.

v2 is v1 with 100 cell corrections (the commit benchmark's version, or one cut
here untimed). The yardstick, timed in the same run, is a full DuckDB join of
the two versions' data: FULL OUTER JOIN on the key over every row of both,
comparing every column. Both run in their own process, alternating, three
times after one warm-up each.
"""

from __future__ import annotations

import json

from .measure import IPD, Series, mib, python, run
from .report import save, table, verdict
from .workspace import CORRECTIONS, TRIAL, Workspace

SECONDS = 1.0
PEAK_BYTES = 10**9


def main(ws: Workspace, runs: int = 3, **_: object) -> dict:
    ws.ensure_v2()
    lists = {}
    for version in ("v1", "v2"):
        lists[version] = ws.scratch / f"{version}-parts.json"
        lists[version].write_text(json.dumps([str(p) for p in ws.part_files(version)]))
    commands = {
        "ipd diff --json": [IPD, "diff", f"{TRIAL}@v1", f"{TRIAL}@v2", "--json", "-C", str(ws.root)],
        "duckdb full outer join": python("bench.duckjoin", str(lists["v1"]), str(lists["v2"])),
    }
    series = {name: Series(name) for name in commands}
    warm = {name: run(command) for name, command in commands.items()}
    found = json.loads(warm["ipd diff --json"].stdout)
    joined = json.loads(warm["duckdb full outer join"].stdout)
    for _ in range(runs):
        for name, command in commands.items():
            series[name].add(run(command))

    ipd = series["ipd diff --json"]
    yardstick = series["duckdb full outer join"]
    agree = len(found["cells"]) == joined["cells"] and not found["added"] and not found["removed"]
    figures = {
        "rows": ws.rows, "corrections": CORRECTIONS, "runs": runs,
        "measurements": [s.to_json() for s in series.values()],
        "ipd_diff": {"cells": len(found["cells"]), "added": len(found["added"]), "removed": len(found["removed"]),
                     "parts": found.get("parts"),
                     "explained": sum(c["correction"] is not None for c in found["cells"])},
        "duckdb_join": joined, "agree": agree,
        "ratio_ipd_to_join": round(ipd.seconds / yardstick.seconds, 3),
        "targets": {"seconds_at_most": SECONDS, "peak_bytes_at_most": PEAK_BYTES,
                    "time_met": ipd.seconds <= SECONDS, "memory_met": ipd.peak_bytes <= PEAK_BYTES},
    }
    path = save("diff", figures)
    rows = [[s.name, f"{s.seconds:.2f}", " ".join(f"{r.seconds:.2f}" for r in s.runs), mib(s.peak_bytes)]
            for s in series.values()]
    print(table(f"diff: {TRIAL}@v1 → v2 ({CORRECTIONS} corrections) on {ws.rows:,} rows, median of {runs}",
                ["measurement", "median s", "runs s", "peak RSS"], rows))
    parts = found.get("parts") or {}
    print(f"ipd diff: {len(found['cells'])} cells ({figures['ipd_diff']['explained']} explained by a correction), "
          f"parts read {parts.get('read')}, skipped {parts.get('skipped')}; "
          f"join query alone {joined['query_seconds']:.2f} s; same cells as the join: {agree}")
    print(f"ipd diff {ipd.seconds:.2f} s (target ≤ {SECONDS:.0f} s): {verdict(figures['targets']['time_met'])}; "
          f"peak {ipd.peak_bytes / 1e9:.2f} GB (target ≤ 1 GB): {verdict(figures['targets']['memory_met'])}")
    print(f"figures written to {path}")
    return figures
