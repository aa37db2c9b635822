"""``ipd expect``: editing a trial's suite, each edit a commit.

Curators may also edit ``expectations/TRIAL.json`` by hand (it is GX's own
format); these commands add the checks ipd can make for them: the type is
known to GX, the columns exist, the arguments parse.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..repository import Repository, layout
from . import suite as suites


@dataclass(frozen=True)
class SuiteChange:
    trial: str
    action: str
    expectation: dict[str, Any] | None
    count: int  # expectations in the suite afterwards
    path: str = ""  # the suite's file, repository-relative


def suite_of(repo: Repository, trial: str, table: str | None) -> str:
    """The suite file of the trial, or of its other table ``table`` (which must be one of its tables)."""
    metadata = repo.dataset(trial).metadata() if table is not None else None
    if metadata is None or table == metadata.participant_table:
        return layout.trial(trial).suite
    tables = metadata.tables
    if table not in tables:
        raise InvalidInput(f"{trial} has no other table {table!r} (its other tables: {', '.join(tables) or 'none'})")
    return layout.trial(trial).table_suite(table)


def _columns(repo: Repository, trial: str, table: str | None) -> list[str]:
    version = repo.dataset(trial).version()
    return version.record.table(table or "").columns


def _edit(repo: Repository, trial: str, path: str, change: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Read the suite, ``change`` it and commit it, all under the lock, so concurrent edits all count.

    ``change`` edits the suite in place and returns the commit message.
    """
    with repo.writing([path]):
        suite = suites.load(repo.root / path)
        message = change(suite)
        suites.save(repo.root / path, suite)
        repo.scm.commit([path], f"{trial}: {message}")
    return suite


def baseline(repo: Repository, trial: str, replace: bool = False, table: str | None = None) -> SuiteChange:
    """Write the suite ipd proposes from the data dictionary of the latest version (of its table ``table``)."""
    dataset = repo.dataset(trial)
    relative = suite_of(repo, trial, table)
    with repo.writing([relative]):
        if (repo.root / relative).exists() and not replace:
            raise InvalidInput(f"{relative} already exists; use --replace to write the baseline over it")
        version = dataset.version().record.version
        metadata = dataset.metadata()
        if relative == layout.trial(trial).suite:
            suite = suites.baseline(trial, metadata, version)
        else:
            entry = metadata.tables[table]
            suite = suites.baseline(f"{trial}/{table}", {"key": entry["key"], "columns": entry.get("columns") or []},
                                    version)
        suites.save(repo.root / relative, suite)
        if not repo.scm.has_changes([relative]):
            return SuiteChange(trial, "unchanged", None, len(suite["expectations"]), relative)
        repo.scm.commit([relative], f"{trial}: baseline expectation suite from {version}"
                        + (f" for table {table}" if relative != layout.trial(trial).suite else ""))
    return SuiteChange(trial, "baseline", None, len(suite["expectations"]), relative)


def parse_arguments(pairs: list[str]) -> dict[str, Any]:
    """``name=value`` pairs; values are JSON where they parse as JSON (numbers, lists, null), else text."""
    kwargs: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name:
            raise InvalidInput(f"argument {pair!r} is not of the form name=value")
        try:
            kwargs[name] = json.loads(text)
        except json.JSONDecodeError:
            kwargs[name] = text
    return kwargs


def add(repo: Repository, trial: str, kind: str, kwargs: dict[str, Any], notes: str | None = None,
        table: str | None = None) -> SuiteChange:
    from . import gxsuite

    relative = suite_of(repo, trial, table)
    entry = suites.expectation(kind, **kwargs)
    if notes:
        entry["meta"]["notes"] = notes
    gxsuite.check_types([entry])
    gxsuite.check_arguments(entry)
    suites.check_columns({"expectations": [entry]}, _columns(repo, trial, table), relative)

    def append(suite: dict[str, Any]) -> str:
        suite["expectations"].append(entry)
        on = f" on table {table}" if relative != layout.trial(trial).suite else ""
        return f"expect {kind}({', '.join(suites.referenced_columns(entry))}){on}"

    suite = _edit(repo, trial, relative, append)
    return SuiteChange(trial, "add", entry, len(suite["expectations"]), relative)


def remove(repo: Repository, trial: str, number: int, table: str | None = None) -> SuiteChange:
    relative = suite_of(repo, trial, table)
    removed: list[dict[str, Any]] = []

    def pop(suite: dict[str, Any]) -> str:
        if not 1 <= number <= len(suite["expectations"]):
            raise InvalidInput(f"{relative} has no expectation {number} "
                               f"(it has {len(suite['expectations'])}; see `ipd expect list {trial}`)")
        removed.append(suite["expectations"].pop(number - 1))
        return f"remove expectation {number}, {removed[0]['type']}"

    suite = _edit(repo, trial, relative, pop)
    return SuiteChange(trial, "remove", removed[0], len(suite["expectations"]), relative)


def listing(repo: Repository, trial: str, table: str | None = None) -> list[dict[str, Any]]:
    suite = suites.load(repo.root / suite_of(repo, trial, table))
    return [{"number": n, **e} for n, e in enumerate(suite["expectations"], start=1)]
