"""Issue 4's commit target: ``ipd commit`` of 100 cell corrections vs the naive whole-file path.

Targets: the bytes ``ipd commit`` adds to the DVC cache at most 1/4 of the
dataset's Parquet size, and its time at most half the naive path's (read the
whole trial with pyarrow, apply the corrections, rewrite the whole file,
``dvc add`` it), measured side by side in one run. Each run starts from the
same state: the repository and its remote at v1 (restored from a copy taken
before the first run) and the naive repository with the file added once.
Staging (``ipd correct --file``) is timed too, but it is not part of the target.

``ipd commit`` compares the checks of the parent with those of the new version.
The parent's report is usually cached, because the curator ran ``ipd check``
to find what to correct: that is the "checked" series, and the target is judged
on it. The "cold" series deletes the check cache first, so the commit checks
the parent in full; both are reported.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from .measure import VENV_BIN, Series, du, mib, python, run
from .report import save, table, verdict
from .workspace import CORRECTIONS, TRIAL, Workspace

BYTES_SHARE = 0.25
TIME_SHARE = 0.5


def copy(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)


def naive_repository(ws: Workspace) -> Path:
    """A git + DVC repository tracking the whole trial as one file, added once (not timed)."""
    folder = ws.scratch / "naive-v1"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    dvc = str(VENV_BIN / "dvc") if (VENV_BIN / "dvc").exists() else "dvc"
    for command in (["git", "init", "-q"], [dvc, "init", "-q"]):
        subprocess.run(command, cwd=folder, check=True)
    shutil.copyfile(ws.delivery, folder / "data.parquet")
    subprocess.run([dvc, "add", "-q", "data.parquet"], cwd=folder, check=True)
    subprocess.run(["git", "add", "-A"], cwd=folder, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "v1"], cwd=folder, check=True)
    return folder


def main(ws: Workspace, runs: int = 3, **_: object) -> dict:
    ws.ensure_repository()
    if ws.has_version("v2"):
        raise RuntimeError("the commit benchmark needs a repository at v1")
    corrections = ws.write_corrections()
    pristine = ws.scratch / "pristine"
    pristine.mkdir(exist_ok=True)
    copy(ws.root, pristine / "repository")
    copy(ws.remote, pristine / "remote")
    naive_v1 = naive_repository(ws)
    naive = ws.scratch / "naive"
    dataset_bytes = ws.parquet_bytes("v1")
    file_bytes = (naive_v1 / "data.parquet").stat().st_size

    stage, commit, naive_series = Series("ipd correct --file (staging)"), Series("ipd commit (parent checked)"), \
        Series("naive path")
    cold = Series("ipd commit (cold: no cached check)")
    added, naive_added, steps, outputs = [], [], [], []
    for i in range(runs):
        for series in (cold, commit):
            copy(pristine / "repository", ws.root)
            copy(pristine / "remote", ws.remote)
            shutil.rmtree(ws.root / ".git" / "ipd" / "checks", ignore_errors=True)
            if series is commit:
                ws.ipd("check", TRIAL, "--json", ok=(0, 1))  # what the curator ran before correcting
            stage.add(ws.ipd("correct", TRIAL, "--file", str(corrections)))
            before = du(ws.cache)
            outputs.append(json.loads(series.add(ws.ipd("commit", TRIAL, "-m", "benchmark: 100 corrections",
                                                        "--json")).stdout))
            added.append(du(ws.cache) - before)
        copy(naive_v1, naive)
        before = du(naive / ".dvc" / "cache")
        steps.append(json.loads(naive_series.add(run(python("bench.naive", str(naive), str(corrections)))).stdout))
        naive_added.append(du(naive / ".dvc" / "cache") - before)

    out = outputs[-1]
    share = max(added) / dataset_bytes
    ratio = commit.seconds / naive_series.seconds
    cold_ratio = cold.seconds / naive_series.seconds
    figures = {
        "rows": ws.rows, "corrections": CORRECTIONS, "runs": runs,
        "parts": len(ws.part_files("v1")), "parts_rewritten": out["parts_rewritten"],
        "dataset_parquet_bytes": dataset_bytes, "naive_file_bytes": file_bytes,
        "measurements": [s.to_json() for s in (stage, commit, cold, naive_series)],
        "cache_bytes_added": added, "naive_cache_bytes_added": naive_added,
        "cache_share_of_dataset": round(share, 4),
        "naive_steps_seconds": [{k: round(v, 3) for k, v in s.items()} for s in steps],
        "ratio_commit_to_naive": round(ratio, 3),
        "ratio_cold_commit_to_naive": round(cold_ratio, 3),
        "commit_output": {k: out.get(k) for k in ("version", "rows", "changes", "parts_rewritten", "fixed",
                                                  "new_failures", "still_failing")},
        "targets": {"bytes_share_at_most": BYTES_SHARE, "time_share_at_most": TIME_SHARE,
                    "bytes_met": share <= BYTES_SHARE, "time_met": ratio <= TIME_SHARE},
    }
    path = save("commit", figures)
    rows = [[s.name, f"{s.seconds:.2f}", " ".join(f"{r.seconds:.2f}" for r in s.runs), mib(s.peak_bytes), extra]
            for s, extra in ((stage, "-"), (commit, mib(max(added))), (cold, mib(max(added))),
                             (naive_series, mib(max(naive_added))))]
    print(table(f"commit: {CORRECTIONS} cell corrections on {ws.rows:,} rows, {figures['parts']} parts "
                f"({mib(dataset_bytes)} of Parquet; naive file {mib(file_bytes)}), median of {runs}",
                ["measurement", "median s", "runs s", "peak RSS", "cache added"], rows))
    print(f"ipd commit rewrote {out['parts_rewritten']} of {figures['parts']} parts; changes {out.get('changes')}; "
          f"fixed {out.get('fixed')}")
    print("naive steps (s, last run): " + ", ".join(f"{k} {v:.2f}" for k, v in steps[-1].items()))
    print(f"DVC cache added by ipd commit = {share:.1%} of the dataset's Parquet (target ≤ 25%): "
          f"{verdict(figures['targets']['bytes_met'])}")
    print(f"ipd commit / naive path = {ratio:.2f} (target ≤ 0.5): {verdict(figures['targets']['time_met'])}; "
          f"cold, with the parent checked in full: {cold_ratio:.2f}")
    print(f"figures written to {path}")
    return figures
