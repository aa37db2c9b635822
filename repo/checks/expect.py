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


def _edit(repo: Repository, trial: str, change: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Read the suite, ``change`` it and commit it, all under the lock, so concurrent edits all count.

    ``change`` edits the suite in place and returns the commit message.
    """
    path = layout.trial(trial).suite
    with repo.writing([path]):
        suite = suites.load(repo.root / path)
        message = change(suite)
        suites.save(repo.root / path, suite)
        repo.scm.commit([path], f"{trial}: {message}")
    return suite


def baseline(repo: Repository, trial: str, replace: bool = False) -> SuiteChange:
    """Write the suite ipd proposes from the data dictionary of the latest version."""
    dataset = repo.dataset(trial)
    relative = layout.trial(trial).suite
    with repo.writing([relative]):
        if suites.suite_path(repo.root, trial).exists() and not replace:
            raise InvalidInput(f"{relative} already exists; use --replace to write the baseline over it")
        version = dataset.version().record.version
        suite = suites.baseline(trial, dataset.metadata(), version)
        suites.save(repo.root / relative, suite)
        if not repo.scm.has_changes([relative]):
            return SuiteChange(trial, "unchanged", None, len(suite["expectations"]))
        repo.scm.commit([relative], f"{trial}: baseline expectation suite from {version}")
    return SuiteChange(trial, "baseline", None, len(suite["expectations"]))


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


def add(repo: Repository, trial: str, kind: str, kwargs: dict[str, Any], notes: str | None = None) -> SuiteChange:
    from . import gxsuite

    dataset = repo.dataset(trial)
    entry = suites.expectation(kind, **kwargs)
    if notes:
        entry["meta"]["notes"] = notes
    gxsuite.check_types([entry])
    gxsuite.check_arguments(entry)
    suites.check_columns({"expectations": [entry]}, dataset.version().record.columns, layout.trial(trial).suite)

    def append(suite: dict[str, Any]) -> str:
        suite["expectations"].append(entry)
        return f"expect {kind}({', '.join(suites.referenced_columns(entry))})"

    suite = _edit(repo, trial, append)
    return SuiteChange(trial, "add", entry, len(suite["expectations"]))


def remove(repo: Repository, trial: str, number: int) -> SuiteChange:
    repo.dataset(trial)
    removed: list[dict[str, Any]] = []

    def pop(suite: dict[str, Any]) -> str:
        if not 1 <= number <= len(suite["expectations"]):
            raise InvalidInput(f"{layout.trial(trial).suite} has no expectation {number} "
                               f"(it has {len(suite['expectations'])}; see `ipd expect list {trial}`)")
        removed.append(suite["expectations"].pop(number - 1))
        return f"remove expectation {number}, {removed[0]['type']}"

    suite = _edit(repo, trial, pop)
    return SuiteChange(trial, "remove", removed[0], len(suite["expectations"]))


def listing(repo: Repository, trial: str) -> list[dict[str, Any]]:
    repo.dataset(trial)
    suite = suites.load(suites.suite_path(repo.root, trial))
    return [{"number": n, **e} for n, e in enumerate(suite["expectations"], start=1)]
