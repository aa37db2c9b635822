"""Expectation suites on disk: ``expectations/TRIAL.json`` in GX's own JSON format.

The file is what ``ExpectationSuite.to_json_dict()`` writes and
``ExpectationSuite(**json)`` reads, so GX can load it directly. ipd reads it
as plain JSON (importing GX costs seconds) and checks its shape and column
names itself, naming the file and the expectation at fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..backends import rowkey
from ..backends.columns import DATE, DATETIME
from ..errors import InvalidInput, NotFound
from ..repository import layout

GX_VERSION = "1.24.1"  # the GX release whose JSON format the files follow
COLUMN_ARGUMENTS = ("column", "column_A", "column_B")
COLUMN_LIST_ARGUMENTS = ("column_list",)


def suite_path(root: Path, trial: str) -> Path:
    return root / layout.trial(trial).suite


def table_suite_path(root: Path, trial: str, table: str) -> Path:
    return root / layout.trial(trial).table_suite(table)


def load(path: Path) -> dict[str, Any]:
    label = _label(path)
    if not path.is_file():
        raise NotFound(f"{label}: no expectation suite (create one with `ipd expect baseline`)")
    try:
        suite = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{label}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    _check_shape(suite, label)
    return suite


def _label(path: Path) -> str:
    parts = path.parts
    return "/".join(parts[-2:]) if len(parts) >= 2 else str(path)


def _check_shape(suite: Any, label: str) -> None:
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise InvalidInput(f"{label}: not an expectation suite (expected an object with an \"expectations\" list)")
    for number, expectation in enumerate(suite["expectations"], start=1):
        if not isinstance(expectation, dict) or not isinstance(expectation.get("type"), str):
            raise InvalidInput(f"{label}: expectation {number} has no \"type\"")
        if not isinstance(expectation.get("kwargs", {}), dict):
            raise InvalidInput(f"{label}: expectation {number} ({expectation['type']}): \"kwargs\" must be an object")


def check_columns(suite: dict[str, Any], columns: list[str], label: str) -> None:
    """Every column an expectation names must exist in the data it is run on."""
    known = set(columns)
    for number, expectation in enumerate(suite["expectations"], start=1):
        for name in referenced_columns(expectation):
            if name not in known:
                raise InvalidInput(f"{label}: expectation {number} ({expectation['type']}) names unknown column {name!r}")


def referenced_columns(expectation: dict[str, Any]) -> list[str]:
    kwargs = expectation.get("kwargs", {})
    if expectation["type"] == "expect_column_to_exist":
        return []  # its whole point is that the column may be missing
    names = [kwargs[a] for a in COLUMN_ARGUMENTS if isinstance(kwargs.get(a), str)]
    for argument in COLUMN_LIST_ARGUMENTS:
        names += [n for n in kwargs.get(argument) or [] if isinstance(n, str)]
    return names


def save(path: Path, suite: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(suite, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


def expectation(kind: str, **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {}}


def baseline(trial: str, metadata: dict[str, Any], version: str) -> dict[str, Any]:
    """The suite ipd proposes from the data dictionary: key, columns, value sets, observed ranges."""
    key = rowkey.columns(metadata["key"])
    columns = metadata.get("columns", [])
    expectations = [
        expectation("expect_table_columns_to_match_set", column_set=[c["name"] for c in columns], exact_match=True),
        *(expectation("expect_column_values_to_not_be_null", column=name) for name in key),
        expectation("expect_column_values_to_be_unique", column=key[0]) if len(key) == 1 else
        expectation("expect_compound_columns_to_be_unique", column_list=key),
    ]
    for column in columns:
        if column["name"] in key:
            continue
        if "values" in column:
            expectation_set = [v["value"] for v in column["values"]]
            expectations.append(expectation("expect_column_values_to_be_in_set", column=column["name"],
                                            value_set=expectation_set))
        elif "min" in column:
            low, high = column["min"], column["max"]
            if column["type"] in (DATE, DATETIME):
                low, high = str(low), str(high)
            expectations.append(expectation("expect_column_values_to_be_between", column=column["name"],
                                            min_value=low, max_value=high))
    return {
        "name": trial,
        "expectations": expectations,
        "meta": {"great_expectations_version": GX_VERSION,
                 "ipd": {"generated_from": f"{trial}@{version}", "by": "ipd expect baseline"}},
        "notes": None,
    }
