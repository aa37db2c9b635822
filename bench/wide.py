"""Issue 11's wide deliveries: ``ipd ingest`` of clinical form exports with thousands of columns.

Two deliveries from ``bench/widedata.py``, each ingested into a fresh
repository (``ipd init`` is set-up, not timed):

- *narrow and wide*: 2 rows × 5,000 columns, target under 30 s and 1 GB peak;
- *long and wide*: 100,000 rows × 2,000 columns (1.3 GB of CSV), target peak
  under 4 GB.

The yardstick, measured in the same run, is DuckDB alone reading the same CSV
into Arrow (``read_csv`` with the whole file sampled for types, as ipd reads
it): the least any ingest must do. The ratio says what the rest of ipd's ingest
(dictionary statistics, the suite and its first check, parts, DVC, git) costs
on top. The long delivery is measured once by default (it takes minutes); pass
``--runs`` to repeat.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from . import widedata
from .measure import IPD, Run, Series, mib, run
from .report import save, table, verdict

GB = 10**9


@dataclass(frozen=True)
class Case:
    name: str
    rows: int
    columns: int
    seconds: float | None  # the time target, where the issue names one
    peak_bytes: int
    runs: int | None = None  # None: as many as --runs

    @property
    def label(self) -> str:
        return f"{self.rows:,} rows × {self.columns:,} columns"


CASES = (
    Case("narrow", 2, 5_000, seconds=30.0, peak_bytes=1 * GB),
    Case("long", 100_000, 2_000, seconds=None, peak_bytes=4 * GB, runs=1),
)

DUCKDB_READ = """
import sys, duckdb, pyarrow as pa
con = duckdb.connect()
con.execute("SET threads = 1")
reader = con.read_csv(sys.argv[1], sample_size=-1, header=True).to_arrow_reader(16384)
table = pa.Table.from_batches(reader, schema=reader.schema)
print(table.num_rows, table.num_columns)
"""


def _size(n: int) -> str:
    return mib(n) if n >= 2**20 else f"{n / 2**10:,.0f} KiB"


def _delivery(scratch: Path, case: Case) -> Path:
    path = scratch / f"wide-{case.rows}x{case.columns}-v{widedata.VERSION}.csv"
    if not path.exists():
        widedata.write(path, case.rows, case.columns)
    return path


def _ingest(scratch: Path, delivery: Path) -> Run:
    places = {name: scratch / name for name in ("repository", "remote", "release-remote")}
    for path in places.values():
        shutil.rmtree(path, ignore_errors=True)
    run([IPD, "init", str(places["repository"]), "--remote", str(places["remote"]),
         "--release-remote", str(places["release-remote"])])
    return run([IPD, "ingest", "wide", str(delivery), "--key", widedata.KEY, "-C", str(places["repository"])])


def measure(scratch: Path, case: Case, runs: int) -> dict:
    delivery = _delivery(scratch, case)
    ingest = Series(f"ipd ingest ({case.label})")
    yardstick = Series("DuckDB read_csv into Arrow")
    for _ in range(case.runs or runs):
        ingest.add(_ingest(scratch / case.name, delivery))
        yardstick.add(run([sys.executable, "-c", DUCKDB_READ, str(delivery)]))
    time_met = case.seconds is None or ingest.seconds <= case.seconds
    return {"rows": case.rows, "columns": case.columns, "delivery_bytes": delivery.stat().st_size,
            "measurements": [ingest.to_json(), yardstick.to_json()],
            "ratio_to_duckdb_read": round(ingest.seconds / yardstick.seconds, 2),
            "targets": {"seconds_at_most": case.seconds, "peak_bytes_at_most": case.peak_bytes,
                        "time_met": time_met, "peak_met": ingest.peak_bytes <= case.peak_bytes},
            "_series": (ingest, yardstick)}


def main(scratch: Path, rows: int | None = None, runs: int = 3, **_: object) -> dict:
    scratch = scratch / "wide"
    scratch.mkdir(parents=True, exist_ok=True)
    figures: dict[str, dict] = {}
    for case in CASES:
        print(f"wide: {case.label} in {scratch} …", flush=True)
        result = measure(scratch, case, runs)
        ingest, yardstick = result.pop("_series")
        figures[case.name] = result
        rows = [[s.name, f"{s.seconds:.2f}", " ".join(f"{r.seconds:.2f}" for r in s.runs), mib(s.peak_bytes)]
                for s in (ingest, yardstick)]
        print(table(f"wide: {case.label}, delivery {_size(result['delivery_bytes'])}",
                    ["measurement", "median s", "runs s", "peak RSS"], rows))
        targets = result["targets"]
        time_part = (f"{ingest.seconds:.1f} s (target < {case.seconds:.0f} s): {verdict(targets['time_met'])}; "
                     if case.seconds else f"{ingest.seconds:.1f} s; ")
        print(f"ingest {time_part}peak {ingest.peak_bytes / GB:.2f} GB (target < {case.peak_bytes / GB:.0f} GB): "
              f"{verdict(targets['peak_met'])}; {result['ratio_to_duckdb_read']}× DuckDB's read alone\n", flush=True)
    path = save("wide", figures)
    print(f"figures written to {path}")
    return figures
