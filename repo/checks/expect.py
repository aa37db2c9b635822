"""``ipd expect``: editing a trial's suite, each edit a commit.

Curators may also edit ``expectations/TRIAL.json`` by hand (it is GX's own
format); these commands add the checks ipd can make for them: the type is
known to GX, the columns exist, the arguments parse.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidInput
from ..repository import Repository
from . import suite as suites


@dataclass(frozen=True)
class SuiteChange:
    trial: str
    action: str
    expectation: dict[str, Any] | None
    count: int  # expectations in the suite afterwards


def _commit(repo: Repository, trial: str, suite: dict[str, Any], message: str) -> None:
    path = f"expectations/{trial}.json"
    with repo.writing([path]):
        suites.save(repo.root / path, suite)
        repo.scm.commit([path], f"{trial}: {message}")


def baseline(repo: Repository, trial: str, replace: bool = False) -> SuiteChange:
    """Write the suite ipd proposes from the data dictionary of the latest version."""
    dataset = repo.dataset(trial)
    path = suites.suite_path(repo.root, trial)
    if path.exists() and not replace:
        raise InvalidInput(f"expectations/{trial}.json already exists; use --replace to write the baseline over it")
    version = dataset.version().record.version
    suite = suites.baseline(trial, dataset.metadata(), version)
    _commit(repo, trial, suite, f"baseline expectation suite from {version}")
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
    suite = suites.load(suites.suite_path(repo.root, trial))
    entry = suites.expectation(kind, **kwargs)
    if notes:
        entry["meta"]["notes"] = notes
    gxsuite.check_types([entry])
    gxsuite.check_arguments(entry)
    suites.check_columns({"expectations": [entry]}, dataset.version().record.columns, f"expectations/{trial}.json")
    suite["expectations"].append(entry)
    columns = ", ".join(suites.referenced_columns(entry))
    _commit(repo, trial, suite, f"expect {kind}({columns})")
    return SuiteChange(trial, "add", entry, len(suite["expectations"]))


def remove(repo: Repository, trial: str, number: int) -> SuiteChange:
    repo.dataset(trial)
    suite = suites.load(suites.suite_path(repo.root, trial))
    if not 1 <= number <= len(suite["expectations"]):
        raise InvalidInput(f"expectations/{trial}.json has no expectation {number} "
                           f"(it has {len(suite['expectations'])}; see `ipd expect list {trial}`)")
    entry = suite["expectations"].pop(number - 1)
    _commit(repo, trial, suite, f"remove expectation {number}, {entry['type']}")
    return SuiteChange(trial, "remove", entry, len(suite["expectations"]))


def listing(repo: Repository, trial: str) -> list[dict[str, Any]]:
    repo.dataset(trial)
    suite = suites.load(suites.suite_path(repo.root, trial))
    return [{"number": n, **e} for n, e in enumerate(suite["expectations"], start=1)]
