"""Queries from a check: one per participant a failing row-level check names.

``ipd check --open-queries`` turns a report into questions for the trialists.
Each query names the check, the column the check is about (when it is about
one) and the participant's value there, so the trialists can answer without
the repository. A check run twice does not ask twice: a query still open or
answered for the same check, key and column is not raised again.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.values import to_json
from ..corrections.queries import Ask, Query, open_queries
from . import suite as suites
from .results import CheckResult

if TYPE_CHECKING:
    from ..repository import Repository
    from .results import CheckReport

ARGUMENTS_NOT_SHOWN = ("column", "column_A", "column_B", "column_list", "result_format", "catch_exceptions", "meta")


def row_level(result: CheckResult) -> bool:
    """A failing check that names the participants at fault.

    A check decided by a statistic (a p-value) may list keys for information (the weekday
    check lists weekend randomisations), but no one participant is wrong: it raises nothing.
    """
    return not result.success and bool(result.unexpected_keys) and "p_value" not in result.details


def open_for_report(repo: Repository, report: CheckReport) -> list[Query]:
    """Open one query per key of each failing row-level check, all in one commit; returns the new ones."""
    failing = [r for r in report.results if row_level(r)]
    if not failing:
        return []
    expectations = _expectations_by_name(repo, report.trial)
    about = {r.name: _about(expectations.get(r.name, [])) for r in failing}
    values = _values(repo, report, [k for r in failing if about[r.name][0] for k in r.unexpected_keys])
    asks = []
    for result in failing:
        columns, arguments = about[result.name]
        for key in result.unexpected_keys:
            key = to_json(key)
            seen = ", ".join(_value(c, values.get(key, {}).get(c)) for c in columns)
            text = f"{seen}: fails {result.name}{arguments}" if seen else f"fails {result.name}{arguments}"
            table = result.name.split(": ", 1)[0] if result.kind == "table" else None  # "episodes: check"
            asks.append(Ask(key, columns[0] if len(columns) == 1 else None, text, result.name, table))
    return open_queries(repo, report.trial, asks, report.version, "{count} queries opened by ipd check")


def _value(column: str, value: Any) -> str:
    return f"{column} is missing" if value is None else f"{column} is {json.dumps(value, ensure_ascii=False)}"


def _expectations_by_name(repo: Repository, trial: str) -> dict[str, list[dict[str, Any]]]:
    """The suite's expectations by the name their results carry."""
    from .sqlsuite import result_name

    path = suites.suite_path(repo.root, trial)
    found: dict[str, list[dict[str, Any]]] = {}
    if path.is_file():
        for expectation in suites.load(path)["expectations"]:
            found.setdefault(result_name(expectation), []).append(expectation)
    return found


def _about(expectations: list[dict[str, Any]]) -> tuple[list[str], str]:
    """The columns a check is about (its name says them), and its arguments when only one expectation has that name."""
    if not expectations:
        return [], ""  # an integrity check
    columns = suites.referenced_columns(expectations[0])
    if len(expectations) > 1:
        return columns, ""
    expectation = expectations[0]
    kwargs = {k: v for k, v in (expectation.get("kwargs") or {}).items()
              if k not in ARGUMENTS_NOT_SHOWN and v is not None}
    shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in kwargs.items())
    return columns, f" ({shown})" if shown else ""


def _values(repo: Repository, report: CheckReport, keys: list[Any]) -> dict[Any, dict[str, Any]]:
    """The records of ``keys`` in the checked version, read only from the parts that hold them."""
    from ..versions.lookup import records

    if not keys:
        return {}
    version = repo.dataset(report.trial).version(report.version)
    record = version.record
    return records(version.part_files(), record.key, record.participant_column, record.nparts,
                   list(dict.fromkeys(rowkey.hashable(k) for k in keys)))
