"""Printing a benchmark's table and writing its figures, with the machine they were measured on."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
from pathlib import Path

from .measure import ROOT

RESULTS = ROOT / "bench" / "results"


def machine() -> dict:
    memory = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    return {"cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "cpu": cpu,
            "memory_gib": round(memory / 2**30, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def versions() -> dict:
    import duckdb
    import pyarrow

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    return {"duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__,
            "ipd_repo_commit": git("rev-parse", "--short", "HEAD"),
            "ipd_repo_dirty": bool(git("status", "--porcelain", "--", "repo"))}


def table(title: str, header: list[str], rows: list[list]) -> str:
    cells = [header, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    text = [title, line]
    for n, row in enumerate(cells):
        text.append("  ".join(c.rjust(w) if i and c[:1].isdigit() else c.ljust(w)
                              for i, (c, w) in enumerate(zip(row, widths))).rstrip())
        if n == 0:
            text.append(line)
    text.append(line)
    return "\n".join(text)


def save(name: str, figures: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    document = {"benchmark": name, "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "machine": machine(), "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
                "versions": versions(), **figures}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"
