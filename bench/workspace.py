"""The scratch area every benchmark works in: the synthetic delivery and a real ipd repository.

The delivery is deterministic, so it is kept between runs (keyed by rows and
seed). The repository is built afresh on every run with the real commands
(``ipd init`` with a local directory remote, ``ipd ingest``), because the
benchmarks change it (``ipd commit`` cuts v2) and must not measure leftovers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import synthetic
from .measure import IPD, Run, run

CORRECTIONS = 100  # cell corrections of issue 4's commit benchmark

TRIAL = "trial"
KEY = "pid"
ARM = "arm"

# The six simple expectations of issue 3's comparison, and the same answers as one DuckDB aggregate.
SUITE = [
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "pid"}, "meta": {}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "pid"}, "meta": {}},
    {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 18, "max_value": 90},
     "meta": {}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "arm", "value_set": ["A", "B"]}, "meta": {}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "sex", "value_set": ["F", "M"]}, "meta": {}},
    {"type": "expect_column_values_to_be_between",
     "kwargs": {"column": "weight", "min_value": 30, "max_value": 200}, "meta": {}},
]


def default_scratch() -> Path:
    return Path(os.environ.get("TMPDIR") or "/tmp") / "ipd-bench"


@dataclass
class Workspace:
    scratch: Path
    rows: int
    seed: int = synthetic.SEED
    setup: dict[str, float] = field(default_factory=dict)  # seconds spent preparing, by step
    _built: bool = False

    @property
    def delivery(self) -> Path:
        return self.scratch / f"trial-{self.rows}-{self.seed}-v{synthetic.VERSION}.parquet"

    @property
    def root(self) -> Path:
        return self.scratch / "repository"

    @property
    def remote(self) -> Path:
        return self.scratch / "remote"

    @property
    def cache(self) -> Path:
        return self.root / ".dvc" / "cache"

    def ipd(self, *args: str, ok: tuple[int, ...] = (0,)) -> Run:
        return run([IPD, *args, "-C", str(self.root)], ok=ok)

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.root), *args], check=True, capture_output=True,
                              text=True).stdout

    def ensure_delivery(self) -> Path:
        if not self.delivery.exists():
            start = time.perf_counter()
            synthetic.write(self.delivery, self.rows, self.seed)
            self.setup["generate delivery"] = time.perf_counter() - start
        return self.delivery

    def ensure_repository(self) -> Path:
        """A fresh repository holding trial@v1 (the delivery) and the six-expectation suite."""
        if self._built:
            return self.root
        self.ensure_delivery()
        for path in (self.root, self.remote):
            shutil.rmtree(path, ignore_errors=True)
        self.scratch.mkdir(parents=True, exist_ok=True)
        run([IPD, "init", str(self.root), "--remote", str(self.remote)])
        ingest = self.ipd("ingest", TRIAL, str(self.delivery), "--key", KEY, "--arm", ARM,
                          "-m", f"synthetic trial, {self.rows} rows")
        self.setup["ipd ingest"] = ingest.seconds
        self.setup["ipd ingest peak bytes"] = ingest.peak_bytes
        self._write_suite()
        self._built = True
        return self.root

    def _write_suite(self) -> None:
        path = self.root / "expectations" / f"{TRIAL}.json"
        suite = json.loads(path.read_text())
        suite["expectations"] = SUITE
        suite["meta"].setdefault("ipd", {})["by"] = "bench"
        path.write_text(json.dumps(suite, indent=2) + "\n")
        self.git("add", str(path))
        self.git("commit", "-q", "-m", f"{TRIAL}: the six-expectation benchmark suite")

    def record(self, version: str) -> dict:
        return json.loads((self.root / "datasets" / TRIAL / "versions" / f"{version}.json").read_text())

    def part_files(self, version: str) -> list[Path]:
        """The version's parts in the DVC cache: the files ``ipd check`` reads."""
        return [self.cache / "files" / "md5" / p["md5"][:2] / p["md5"][2:] for p in self.record(version)["parts"]]

    def parquet_bytes(self, version: str) -> int:
        return sum(p.stat().st_size for p in self.part_files(version))

    # --- issue 4: a corrected version ----------------------------------------------------------

    @property
    def corrections(self) -> Path:
        return self.scratch / f"corrections-{self.rows}.csv"

    def write_corrections(self) -> Path:
        """100 cell corrections of random participants, as a curator's CSV (key,column,value,reason).

        The participants with a planted age of 999 get a plausible age (the answer to a data
        query); the rest, drawn at random, get their weight changed by 1.5 kg. Old values come
        from the delivery, so every correction changes its cell.
        """
        import numpy as np
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        table = pq.read_table(self.ensure_delivery(), columns=[KEY, "age", "weight"])
        bad = table.filter(pc.equal(table["age"], synthetic.BAD_AGE))[KEY].to_pylist()[:CORRECTIONS]
        rng = np.random.default_rng([self.seed, 4])
        pool = np.setdiff1d(rng.choice(self.rows, size=2 * CORRECTIONS, replace=False) + 1, bad)
        others = [int(k) for k in rng.permutation(pool)[:CORRECTIONS - len(bad)]]
        weights = _values_of(table, others, "weight")
        lines = ["key,column,value,reason"]
        lines += [f"{k},age,61,benchmark: age confirmed by the site (query answered)" for k in bad]
        for k in others:
            old = weights[k]
            new = 70.0 if old is None else round(old + 1.5, 1)
            lines.append(f"{k},weight,{new},benchmark: weight re-read from the CRF")
        self.corrections.write_text("\n".join(lines) + "\n")
        return self.corrections

    def has_version(self, version: str) -> bool:
        return (self.root / "datasets" / TRIAL / "versions" / f"{version}.json").exists()

    def ensure_v2(self) -> None:
        """trial@v2, cut from v1 by the 100 corrections (not timed: for benchmarks that need two versions)."""
        self.ensure_repository()
        if not self.has_version("v2"):
            self.ipd("correct", TRIAL, "--file", str(self.write_corrections()))
            self.ipd("commit", TRIAL, "-m", "benchmark: 100 corrections")


def _values_of(table, keys: list[int], column: str) -> dict:
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = table.filter(pc.is_in(table[KEY], value_set=pa.array(keys, type=table.schema.field(KEY).type)))
    return dict(zip(rows[KEY].to_pylist(), rows[column].to_pylist()))
