"""``ipd check``: a version's rows against the trial's suite and the integrity checks.

The rows are read by DuckDB straight from the version's Parquet parts. Each
expectation of a supported type is evaluated as SQL (all of them in one pass);
the rest go through GX's own engine, which is imported only then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..progress import SILENT, Progress
from ..refs import Ref
from ..repository import Repository
from . import integrity, sqlsuite, suite as suites
from .results import CheckResult


@dataclass
class CheckReport:
    trial: str
    version: str
    fingerprint: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(r.success for r in self.results)

    def to_json(self) -> dict[str, Any]:
        return {"trial": self.trial, "version": self.version, "fingerprint": self.fingerprint,
                "success": self.success, "results": [r.to_json() for r in self.results]}


def thresholds(repo: Repository) -> dict[str, Any]:
    return dict(repo.settings.get("thresholds", {}))


def check(repo: Repository, ref: Ref, progress: Progress = SILENT) -> CheckReport:
    dataset = repo.dataset(ref.trial)
    version = dataset.version(ref.version)
    record = version.record
    with progress.step(f"reading {ref.trial}@{record.version}"):
        files = version.files()
    return check_files(repo, Target(ref.trial, record.version, record.fingerprint, record.key, files,
                                    dataset.metadata()), progress)


@dataclass(frozen=True)
class Target:
    """What to check: a version's parts, or the parts of one about to be cut."""

    trial: str
    version: str
    fingerprint: str
    key: str
    files: list[Path]
    metadata: dict[str, Any]


def check_files(repo: Repository, target: Target, progress: Progress = SILENT) -> CheckReport:
    import duckdb
    import pyarrow.parquet as pq

    path = suites.suite_path(repo.root, target.trial)
    suite = suites.load(path)
    schema = pq.read_schema(target.files[0])
    label = f"expectations/{target.trial}.json"
    suites.check_columns(suite, schema.names, label)

    con = duckdb.connect()
    con.sql("SELECT * FROM read_parquet($files, union_by_name = true)",
            params={"files": [str(f) for f in target.files]}).create_view("data")
    report = CheckReport(target.trial, target.version, target.fingerprint)
    with progress.step("running the expectation suite"):
        report.results += _expectations(con, schema, target.key, suite, label)
    with progress.step("running the integrity checks"):
        report.results += integrity.run(con, "data", schema, target.metadata, thresholds(repo))
    return report


def _expectations(con, schema, key: str, suite: dict, label: str) -> list[CheckResult]:
    from ..errors import InvalidInput

    expectations = suite["expectations"]
    try:
        fast = sqlsuite.evaluate(con, "data", schema, key, expectations)
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc}") from exc
    numbers = [n for n, result in enumerate(fast, start=1) if result is None]
    rest = [expectations[n - 1] for n in numbers]
    if rest:
        from . import gxsuite

        try:
            gxsuite.check_types(rest, numbers)
        except InvalidInput as exc:
            raise InvalidInput(f"{label}: {exc}") from exc
        slow = iter(gxsuite.run(_frame_for(con, key, rest), key, rest, suite.get("name", "suite")))
        fast = [r if r is not None else next(slow) for r in fast]
    return fast


def _frame_for(con, key: str, expectations: list[dict]):
    """Only the columns GX needs, as pandas: GX's engine holds everything in memory."""
    from ..columns import quote

    needed = [suites.referenced_columns(e) for e in expectations]
    if any(not names for names in needed):  # a table-level expectation sees every column
        return con.sql("SELECT * FROM data").to_arrow_table().to_pandas()
    columns = sorted({key, *(c for names in needed for c in names)})
    return con.sql(f"SELECT {', '.join(quote(c) for c in columns)} FROM data").to_arrow_table().to_pandas()
