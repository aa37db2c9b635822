"""Text a spreadsheet would run as a formula: the participants whose records hold it, and in which columns.

ipd's CSV files neutralise such text (``csvsafe``) and the stored values stay
as delivered, so nothing breaks; but ``=HYPERLINK(...)`` or ``=cmd|'/C calc'!A0``
in a trial's data is an attack or a slip in the delivery, and a curator must
see it. The check fails, naming the participants (so ``ipd check
--open-queries`` can ask the trialists), and shows per column how many cells
hold such text and the first of them.

A few queries read the text columns, a batch of columns each, unpivoted. A value beginning with one of the
characters sorts below "A" (bytewise, as DuckDB compares text), so a column whose Parquet statistics give a
smallest value of "A" or more in every row group holds none, and is not read at all: most text columns
(codes, categories) cost only their parts' footers.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..backends import rowkey
from ..backends.columns import STRING, quote, type_class
from ..backends.csvsafe import BELOW, STARTS
from .results import MAX_KEYS, CheckResult, Figure

if TYPE_CHECKING:
    from .trial import Trial

NAME = "text: cells a spreadsheet would run as formulas"
PARTS = "getvariable('ipd_parts')"  # how a check run reads the version's parts (``run.PARTS``)
CODES = ", ".join(str(ord(c)) for c in STARTS)
BATCH = 100  # text columns a statement


def columns(trial: Trial) -> list[str]:
    """The text columns, which the check reads (DuckDB cannot name a column whose name is empty)."""
    return [f.name for f in trial.schema if f.name and type_class(f.type) == STRING]


def check(trial: Trial) -> CheckResult:
    """Fails when any text cell begins with =, +, -, @, a tab, carriage return or line feed."""
    names = _may_hold(trial, columns(trial))
    rows = [row for start in range(0, len(names), BATCH) for row in _by_column(trial, names[start:start + BATCH])]
    held = [row[0] for row in rows]  # only the columns that hold such text are read again
    participants, keys = 0, []
    if held:
        cells = _cells(trial, held)
        participants = trial.con.sql(f"SELECT count(DISTINCT k) FROM {cells}").fetchall()[0][0]
        keys = [r[0] for r in trial.con.sql(f"SELECT DISTINCT k FROM {cells} ORDER BY 1 LIMIT {MAX_KEYS}").fetchall()]
    return CheckResult(
        name=NAME, kind="integrity", success=participants == 0, unexpected_count=participants,
        unexpected_keys=keys, details={"cells": {row[0]: row[1] for row in rows}},
        figures=[Figure("Cells a spreadsheet would run as formulas, by column (ipd's CSV files give them a "
                        "leading ')", ["column", "cells", "first participant", "its value"], rows)] if rows else [])


def _may_hold(trial: Trial, names: list[str]) -> list[str]:
    """Those of ``names`` whose parts' statistics do not rule such text out (all of them when the trial is not
    read from the version's parts, whose footers say it)."""
    if not names or PARTS not in (trial.rows or trial.relation):
        return names
    low = dict(trial.con.sql(
        f"SELECT path_in_schema, bool_and(coalesce(stats_min_value >= '{BELOW}', false)) "
        f"FROM parquet_metadata(getvariable('ipd_parts')) GROUP BY 1").fetchall())
    return [name for name in names if not low.get(name, False)]


def _by_column(trial: Trial, names: list[str]) -> list[list]:
    """[column, cells, first participant, its value] of each of ``names`` that holds such text."""
    if not names:
        return []
    found = trial.con.sql(f"SELECT name, count(*), min(k), arg_min(value, k) FROM {_cells(trial, names)} "
                          "GROUP BY name").fetchall()
    by_alias = {alias: (n, first, value) for alias, n, first, value in found}
    return [[name, *by_alias[f"c{i}"][:2], json.dumps(by_alias[f"c{i}"][2], ensure_ascii=False)]
            for i, name in enumerate(names) if f"c{i}" in by_alias]


def _cells(trial: Trial, names: list[str]) -> str:
    """The cells of ``names`` that begin with a formula character, as rows (k: the key, name: c0, c1, … in the
    order of ``names``, value).

    The columns are unpivoted into one column of values, so the condition is written once, whatever
    the number of columns: a form export has thousands of text columns, and a condition per column
    in one statement costs DuckDB seconds to plan. The comparison with "A" lets DuckDB skip the row
    groups whose statistics say no value sorts that low.
    """
    aliases = ", ".join(f"c{i}" for i in range(len(names)))
    select = ", ".join(f"{quote(n)} AS c{i}" for i, n in enumerate(names))
    key, relation = (rowkey.sql(trial.row_key), trial.rows) if trial.rows else (quote(trial.key), trial.relation)
    return (f"(SELECT k, name, value FROM (UNPIVOT (SELECT {key} AS k, {select} FROM "
            f"{relation}) ON {aliases} INTO NAME name VALUE value) "
            f"WHERE value < '{BELOW}' AND ascii(value) IN ({CODES}))")
