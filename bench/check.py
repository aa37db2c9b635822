"""Issue 3's target: ``ipd check`` with a six-expectation suite vs a plain DuckDB scan of the same Parquet.

Target: at most 2× the time of the DuckDB scan and at most 2 GB peak memory,
measured side by side in one run. Both sides run in their own process (Python
start-up and imports included on both sides), alternating, three times after
one warm-up each (the page cache holds the parts for both); the median time
and the largest peak are reported. ``ipd check`` also runs the integrity
checks that ``dataset.yaml``'s roles declare; they are counted in, and listed.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import duckscan
from .measure import IPD, Series, mib, python, run
from .report import save, table, verdict
from .workspace import KEY, SUITE, TRIAL, Workspace

TIME_RATIO = 2.0
PEAK_BYTES = 2 * 10**9


def main(ws: Workspace, runs: int = 3, gx_rows: int = 0, **_: object) -> dict:
    ws.ensure_repository()
    files = ws.scratch / "v1-parts.json"
    files.write_text(json.dumps([str(p) for p in ws.part_files("v1")]))
    whole = ws.scratch / "delivery.json"
    whole.write_text(json.dumps([str(ws.delivery)]))

    check_cmd = [IPD, "check", TRIAL, "--json", "--no-cache", "-C", str(ws.root)]  # every run checks
    scan_cmd = python("bench.duckscan", str(files))
    whole_cmd = python("bench.duckscan", str(whole))
    series = {name: Series(name) for name in ("ipd check", "duckdb scan (parts)", "duckdb scan (one file)")}
    commands = dict(zip(series, (check_cmd, scan_cmd, whole_cmd)))

    ok = {name: (0, 1) if name == "ipd check" else (0,) for name in commands}  # check exits 1 on a failure
    warm = {name: run(cmd, ok=ok[name]) for name, cmd in commands.items()}  # warm-up: page cache, .pyc files
    report = json.loads(warm["ipd check"].stdout)
    answers = json.loads(warm["duckdb scan (parts)"].stdout)["answers"]
    agreement = _agreement(report, answers)
    query_seconds = []
    for _ in range(runs):
        for name, cmd in commands.items():
            result = series[name].add(run(cmd, ok=ok[name]))
            if name == "duckdb scan (parts)":
                query_seconds.append(json.loads(result.stdout)["query_seconds"])
    startup = Series("ipd --version (start-up floor)")
    for _ in range(runs):
        startup.add(run([IPD, "--version"]))
    suite_only = _suite_only(ws, check_cmd, runs)
    gx = _gx(ws, gx_rows) if gx_rows else None

    check, scan = series["ipd check"], series["duckdb scan (parts)"]
    ratio = check.seconds / scan.seconds
    figures = {
        "rows": ws.rows, "parts": len(ws.part_files("v1")), "parquet_bytes": ws.parquet_bytes("v1"),
        "delivery_bytes": ws.delivery.stat().st_size, "runs": runs,
        "suite": SUITE, "baseline_sql": duckscan.query(["<the version's parts>"])[0],
        "measurements": [s.to_json() for s in [*series.values(), suite_only, startup]],
        "duckdb_query_seconds_median": round(sorted(query_seconds)[len(query_seconds) // 2], 3),
        "ratio_check_to_duckdb": round(ratio, 2),
        "ratio_suite_only_to_duckdb": round(suite_only.seconds / scan.seconds, 2),
        "targets": {"time_ratio_at_most": TIME_RATIO, "peak_bytes_at_most": PEAK_BYTES,
                    "time_met": ratio <= TIME_RATIO, "memory_met": check.peak_bytes <= PEAK_BYTES},
        "results": [{"name": r["name"], "kind": r["kind"], "success": r["success"],
                     "unexpected_count": r["unexpected_count"], "engine": r.get("engine"),
                     **({"skipped": r["details"]["skipped"]} if "skipped" in r.get("details", {}) else {})}
                    for r in report["results"]],
        "answers_agree": agreement, "duckdb_answers": answers, "setup_seconds": ws.setup,
        "gx_sample": gx,
    }
    path = save("check", figures)
    _print(ws, figures, [*series.values(), suite_only, startup], path)
    return figures


def _gx(ws: Workspace, rows: int) -> dict:
    """Context only: GX's pandas engine on the delivery's first ``rows`` rows, in its own process."""
    result = run(python("bench.gxrun", str(ws.delivery), str(rows)))
    return {**json.loads(result.stdout), "seconds": round(result.seconds, 3), "peak_bytes": result.peak_bytes}


def _suite_only(ws: Workspace, check_cmd: list[str], runs: int) -> Series:
    """Diagnostic: the same check with no roles declared, so only the suite runs (not the target's measure)."""
    import yaml

    path = ws.root / "datasets" / TRIAL / "dataset.yaml"
    original = path.read_text()
    series = Series("ipd check, suite only (diagnostic)")
    try:
        metadata = yaml.safe_load(original)
        metadata["roles"] = {}
        path.write_text(yaml.safe_dump(metadata, sort_keys=False))
        run(check_cmd, ok=(0, 1))
        for _ in range(runs):
            series.add(run(check_cmd, ok=(0, 1)))
    finally:
        path.write_text(original)
    return series


def _agreement(report: dict, answers: dict) -> bool:
    """The six expectations' verdicts and counts in ipd's report match the DuckDB answers.

    For uniqueness ipd counts every copy of a repeated key (as GX does) and the scan counts the extra
    copies, so only the verdict is compared there.
    """
    results = [r for r in report["results"] if r["kind"] == "expectation"]
    if len(results) != len(duckscan.ANSWERS):
        return False
    for result, (name, count) in zip(results, list(answers.items())[1:]):
        if result["success"] != (count == 0):
            return False
        if name != f"unique({KEY})" and result["unexpected_count"] != count:
            return False
    return True


def _state(result: dict) -> str:
    if "skipped" in result:
        return f"skipped: {result['skipped']}"
    return "ok" if result["success"] else f"FAIL {result['unexpected_count']}"


def _print(ws: Workspace, figures: dict, series: list[Series], path: Path) -> None:
    rows = [[s.name, f"{s.seconds:.2f}", " ".join(f"{r.seconds:.2f}" for r in s.runs), mib(s.peak_bytes)]
            for s in series]
    print(table(f"check: {ws.rows:,} rows, {figures['parts']} parts, "
                f"{figures['parquet_bytes'] / 2**20:.0f} MiB of Parquet (median of {figures['runs']})",
                ["measurement", "median s", "runs s", "peak RSS"], rows))
    targets = figures["targets"]
    check = series[0]
    print(f"duckdb query alone (in process): {figures['duckdb_query_seconds_median']:.2f} s")
    print(f"ipd check / duckdb scan = {figures['ratio_check_to_duckdb']:.2f}× (target ≤ {TIME_RATIO}×): "
          f"{verdict(targets['time_met'])}")
    print(f"ipd check peak = {check.peak_bytes / 1e9:.2f} GB (target ≤ 2 GB): {verdict(targets['memory_met'])}")
    print(f"diagnostic, suite only (no integrity checks) / duckdb scan = {figures['ratio_suite_only_to_duckdb']:.2f}×")
    print("checks run by ipd check: " + "; ".join(f"{r['name']} [{_state(r)}]" for r in figures["results"]))
    print(f"answers agree with the DuckDB scan: {figures['answers_agree']}")
    if figures["gx_sample"]:
        gx = figures["gx_sample"]
        print(f"context: GX pandas engine on the first {gx['rows']:,} rows: {gx['seconds']:.2f} s in all "
              f"(validation {gx['validate_seconds']:.2f} s, GX import {gx['import_seconds']:.2f} s), "
              f"peak {mib(gx['peak_bytes'])}; unexpected counts {gx['unexpected']}")
    print(f"figures written to {path}")
