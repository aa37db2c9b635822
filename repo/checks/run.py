"""``ipd check``: a version's rows against the trial's suite and the integrity checks.

The rows are read by DuckDB straight from the version's Parquet parts. Each
expectation of a supported type is evaluated as SQL (all of them in one pass);
the rest go through GX's own engine, which is imported only then. A version's
report is kept (``cache``), and a version cut by corrections is checked by
``recheck``: only the checks that read a corrected column run again.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import parquet, rowkey
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..progress import SILENT, Progress
from ..repository import Repository, layout
from ..repository.metadata import role_columns
from ..repository.refs import Ref
from . import cache as caches
from . import integrity, sqlsuite, tables
from . import suite as suites
from .results import MISSINGNESS, RECORDS, SCHEMA, CheckReport, CheckResult

# The version's parts, read directly. The checks run a statement per batch of aggregates, and binding
# the view ``data`` expands all its columns each time (0.2 s a statement at 5,000 columns); the table
# function binds only the columns a statement reads. GX's frame is read through the view.
PARTS = "read_parquet(getvariable('ipd_parts'), union_by_name = true)"

if TYPE_CHECKING:
    from ..corrections.log import Correction
    from ..repository.records import VersionRecord


def thresholds(repo: Repository) -> dict[str, Any]:
    return dict(repo.settings.get("thresholds", {}))


def check(repo: Repository, ref: Ref, progress: Progress = SILENT, cache: bool = True) -> CheckReport:
    """The version's report: kept from an earlier check unless ``cache`` is False, else computed and kept."""
    dataset = repo.dataset(ref.trial)
    version = dataset.version(ref.version)
    record = version.record
    suite = suites.load(suites.suite_path(repo.root, ref.trial))
    metadata = dataset.metadata()
    digest = caches.key(repo, record, suite, metadata)
    if cache and (kept := caches.load(repo, digest)) is not None:
        return kept
    with progress.step(f"reading {ref.trial}@{record.version}"):
        files = version.files()
        others = [(name, record.table(name), version.table(name).files()) for name in record.table_names[1:]]
    target = Target(ref.trial, record.version, record.fingerprint, record.key, files, metadata, others)
    return caches.store(repo, digest, _evaluate(repo, target, suite, progress))


def keep(repo: Repository, record: VersionRecord, metadata: dict[str, Any], report: CheckReport) -> CheckReport:
    """Keep the report of a version just cut, so that checking it later costs nothing."""
    suite = suites.load(suites.suite_path(repo.root, record.trial))
    return caches.store(repo, caches.key(repo, record, suite, metadata), report)


@dataclass(frozen=True)
class Target:
    """What to check: a version's parts, or the parts of one about to be cut."""

    trial: str
    version: str
    fingerprint: str
    key: Key
    files: list[Path]
    metadata: dict[str, Any]
    tables: list[tuple[str, VersionRecord, list[Path]]] = field(default_factory=list)  # the others: name, rows, parts


def check_files(repo: Repository, target: Target, progress: Progress = SILENT) -> CheckReport:
    return _evaluate(repo, target, suites.load(suites.suite_path(repo.root, target.trial)), progress)


def recheck(repo: Repository, target: Target, before: CheckReport, touched: set[str],
            progress: Progress = SILENT) -> CheckReport:
    """What ``check_files(repo, target)`` gives, computing again only the checks that read ``touched``.

    ``before`` is the report of the version the corrections were applied to,
    under the same suite and ``dataset.yaml`` (a column added to the suite's
    column set is the one change allowed: ``touched`` then holds ``SCHEMA``).
    ``touched`` names what the corrections changed (see ``touched_by``): a
    result of ``before`` none of whose inputs is touched is kept as it is.
    """
    suite = suites.load(suites.suite_path(repo.root, target.trial))
    expectations = suite["expectations"]
    was = [r for r in before.results if r.kind == "expectation"]
    if RECORDS in touched or [r.name for r in was] != [sqlsuite.result_name(e) for e in expectations]:
        return _evaluate(repo, target, suite, progress)  # every check reads the records; or another suite
    con, schema, label = _open(target, suite)
    report = CheckReport(target.trial, target.version, target.fingerprint)
    names = schema.names
    redo = [i for i, e in enumerate(expectations) if touched.intersection(_inputs(e, names))]
    with progress.step("running the expectations on corrected columns"):
        fresh = dict(zip(redo, _expectations(con, schema, target.key, suite, label, redo)))
    report.results += [fresh.get(i, result) for i, result in enumerate(was)]
    with progress.step("running the integrity checks on corrected columns"):
        report.results += _recheck_integrity(repo, con, schema, target.metadata, before, touched)
    report.results += _tables(repo, target, progress)  # a correction of theirs, or of who the participants are
    return report


def touched_by(entries: Iterable[Correction]) -> set[str]:
    """What applying ``entries`` changes, as ``recheck`` wants it: columns, and the markers of ``results``."""
    touched: set[str] = set()
    for entry in entries:
        if entry.action in ("add", "remove"):
            touched.add(RECORDS)
        elif entry.action == "add_column":
            touched |= {entry.column, SCHEMA}
        else:
            touched.add(entry.column)
            if _missing(entry.old) != _missing(entry.new):
                touched.add(MISSINGNESS)
    return touched


def _missing(value: Any) -> bool:
    """Missing as the missing-data check counts it: null, NaN, or a blank string."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or \
        (isinstance(value, str) and not value.strip())


def _recheck_integrity(repo: Repository, con, schema, metadata: dict, before: CheckReport,
                       touched: set[str]) -> list[CheckResult]:
    was = [r for r in before.results if r.kind == "integrity"]
    stale = {r.name for r in was if touched.intersection(r.inputs)}
    if not stale and not touched & _role_columns(metadata):
        return was
    # A touched role column is read again even when no check needs it: its values must still parse.
    fresh = integrity.run(con, PARTS, schema, metadata, thresholds(repo), only=lambda inputs: bool(inputs & touched))
    if {r.name for r in fresh} != stale:  # before was checked with other roles or design
        return integrity.run(con, PARTS, schema, metadata, thresholds(repo))
    by_name = {r.name: r for r in fresh}
    return [by_name.get(r.name, r) for r in was]


def _role_columns(metadata: dict) -> set[str]:
    roles = role_columns(metadata.get("roles") or {})
    return {name for value in roles.values() for name in (value if isinstance(value, list) else [value])
            if isinstance(name, str)}


def _evaluate(repo: Repository, target: Target, suite: dict, progress: Progress) -> CheckReport:
    con, schema, label = _open(target, suite)
    report = CheckReport(target.trial, target.version, target.fingerprint)
    with progress.step("running the expectation suite"):
        report.results += _expectations(con, schema, target.key, suite, label, range(len(suite["expectations"])))
    with progress.step("running the integrity checks"):
        report.results += integrity.run(con, PARTS, schema, target.metadata, thresholds(repo))
    report.results += _tables(repo, target, progress)
    return report


def _tables(repo: Repository, target: Target, progress: Progress) -> list[CheckResult]:
    found = []
    for name, table, files in target.tables:
        with progress.step(f"checking table {name}"):
            found += _table(repo, target, name, table, files)
    return found


def _table(repo: Repository, target: Target, name: str, table: VersionRecord, files: list[Path]) -> list[CheckResult]:
    """Another table's suite, then the checks across tables; each result named ``TABLE: check``."""
    path = suites.table_suite_path(repo.root, target.trial, name)
    suite = suites.load(path) if path.exists() else {"expectations": []}
    at = Target(target.trial, target.version, table.fingerprint, table.key, files, {})
    con, schema, label = _open(at, suite, layout.trial(target.trial).table_suite(name))
    found = _expectations(con, schema, table.key, suite, label, range(len(suite["expectations"])))
    found += tables.across(con, schema, target.files, name, table.participant_column, table.key, target.metadata)
    for result in found:
        result.name, result.kind = f"{name}: {result.name}", "table"
    return found


def _open(target: Target, suite: dict, label: str | None = None):
    """A connection with the view ``data`` over the parts, their schema, and the suite's label."""
    schema = parquet.read_schema(target.files[0])
    label = label or layout.trial(target.trial).suite
    suites.check_columns(suite, schema.names, label)
    # DuckDB draws its progress bar on stdout, into --json's output. Every query binds the view
    # again, reading all the parts' footers; parts never change.
    con = connect(progress_bar=False, parquet_metadata_cache=True)
    con.sql("SET VARIABLE ipd_parts = $files", params={"files": [str(f) for f in target.files]})
    con.sql(f"SELECT * FROM {PARTS}").create_view("data")
    return con, schema, label


def _inputs(expectation: dict, columns: list[str]) -> list[str]:
    """The columns an expectation reads; one naming no column reads the table's set of columns.

    A ``row_condition`` (GX evaluates those) is text in pandas' or GX's own
    syntax: every column whose name occurs in it counts as read.
    """
    condition = (expectation.get("kwargs") or {}).get("row_condition")
    named = [c for c in columns if c and c in condition] if isinstance(condition, str) else []
    return sorted({*suites.referenced_columns(expectation), *named}) or [SCHEMA]


def _expectations(con, schema, key: Key, suite: dict, label: str, positions: Iterable[int]) -> list[CheckResult]:
    """The results of the suite's expectations at ``positions`` (0-based), in that order."""
    from ..errors import InvalidInput

    positions = list(positions)
    expectations = [suite["expectations"][i] for i in positions]
    try:
        fast = sqlsuite.evaluate(con, PARTS, schema, key, expectations)
    except InvalidInput as exc:
        raise InvalidInput(f"{label}: {exc}") from exc
    rest = [j for j, result in enumerate(fast) if result is None]
    if rest:
        from . import gxsuite

        chosen = [expectations[j] for j in rest]
        try:
            gxsuite.check_types(chosen, [positions[j] + 1 for j in rest])
        except InvalidInput as exc:
            raise InvalidInput(f"{label}: {exc}") from exc
        slow = iter(gxsuite.run(_frame_for(con, key, chosen), key, chosen, suite.get("name", "suite")))
        fast = [r if r is not None else next(slow) for r in fast]
    names = schema.names  # a new list on every access: once, not once per expectation
    for result, expectation in zip(fast, expectations):
        result.inputs = _inputs(expectation, names)
    return fast


def _frame_for(con, key: Key, expectations: list[dict]):
    """Only the columns GX needs, as pandas: GX's engine holds everything in memory."""
    from ..backends.columns import quote

    needed = [suites.referenced_columns(e) for e in expectations]
    if any(not names for names in needed):  # a table-level expectation sees every column
        return con.sql("SELECT * FROM data").to_arrow_table().to_pandas()
    columns = sorted({*rowkey.columns(key), *(c for names in needed for c in names)})
    return con.sql(f"SELECT {', '.join(quote(c) for c in columns)} FROM data").to_arrow_table().to_pandas()
