"""Text a spreadsheet would run as a formula: the participants whose records hold it, and in which columns.

ipd's CSV files neutralise such text (``csvsafe``) and the stored values stay
as delivered, so nothing breaks; but ``=HYPERLINK(...)`` or ``=cmd|'/C calc'!A0``
in a trial's data is an attack or a slip in the delivery, and a curator must
see it. The check fails, naming the participants (so ``ipd check
--open-queries`` can ask the trialists), and shows per column how many cells
hold such text and the first of them.

One query reads every text column. A value beginning with one of the
characters sorts below "A", which lets DuckDB skip the row groups whose
statistics say no value does: most text columns (codes, categories) cost
next to nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ..columns import STRING, quote, type_class
from ..csvsafe import BELOW, STARTS
from .results import MAX_KEYS, CheckResult, Figure

if TYPE_CHECKING:
    from .integrity import Trial

NAME = "text: cells a spreadsheet would run as formulas"
CODES = ", ".join(str(ord(c)) for c in STARTS)


def columns(trial: Trial) -> list[str]:
    """The text columns, which the check reads (DuckDB cannot name a column whose name is empty)."""
    return [f.name for f in trial.schema if f.name and type_class(f.type) == STRING]


def check(trial: Trial) -> CheckResult:
    """Fails when any text cell begins with =, +, -, @, a tab, carriage return or line feed."""
    names = columns(trial)
    conditions = [_condition(name) for name in names]
    key = quote(trial.key)
    found = ", ".join(f"count(*) FILTER (WHERE {c}), min({key}) FILTER (WHERE {c}), "
                      f"arg_min({quote(n)}, {key}) FILTER (WHERE {c})" for n, c in zip(names, conditions))
    at_fault = " OR ".join(f"({c})" for c in conditions)
    counts = trial.con.sql(f"SELECT count(*), {found} FROM {trial.relation} WHERE {at_fault}").fetchall()[0]
    participants = counts[0]
    rows = [[name, *counts[1 + 3 * i:4 + 3 * i]] for i, name in enumerate(names)]
    rows = [[name, n, first, json.dumps(value, ensure_ascii=False)] for name, n, first, value in rows if n]
    keys = [] if not participants else [r[0] for r in trial.con.sql(
        f"SELECT {key} FROM {trial.relation} WHERE {at_fault} ORDER BY 1 LIMIT {MAX_KEYS}").fetchall()]
    return CheckResult(
        name=NAME, kind="integrity", success=participants == 0, unexpected_count=participants,
        unexpected_keys=keys, details={"cells": {row[0]: row[1] for row in rows}},
        figures=[Figure("Cells a spreadsheet would run as formulas, by column (ipd's CSV files give them a "
                        "leading ')", ["column", "cells", "first participant", "its value"], rows)] if rows else [])


def _condition(name: str) -> str:
    """SQL true for a value beginning with one of ``csvsafe.STARTS``; the comparison is the one statistics decide."""
    c = quote(name)
    return f"{c} < '{BELOW}' AND ascii({c}) IN ({CODES})"
