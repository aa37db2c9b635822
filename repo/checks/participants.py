"""Trials of several rows a participant (episodes, visits, events), as the integrity checks see them.

The checks count participants, so they read one row a participant (``one_row_each``); what describes a
participant rather than one of their rows (arm, randomisation, death, last contact, baseline) must then be
the same on all their rows, which ``participants`` checks, naming those whose rows disagree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..backends.columns import quote
from .results import MAX_KEYS, CheckResult

if TYPE_CHECKING:
    from .trial import Trial

VIEW = "participants"  # the view of one row a participant
ROW_NUMBER = "__ipd_n"
PARTICIPANT_ROLES = ("arm", "randomised", "death", "last_contact", "baseline")  # what describes the participant
NAME = "participants: the same arm, dates and baseline on every row"


def one_row_each(con, relation: str, key: list[str], participant: str, time: str | None) -> str:
    """A view of ``relation`` with one row a participant: the one of latest follow-up (``time``), else
    the first by key. Its name is returned."""
    latest = f"{quote(time)} DESC NULLS LAST, " if time else ""
    order = latest + ", ".join(quote(c) for c in key)
    con.sql(f"SELECT * EXCLUDE ({ROW_NUMBER}) FROM (SELECT *, row_number() OVER (PARTITION BY {quote(participant)} "
            f"ORDER BY {order}) AS {ROW_NUMBER} FROM {relation}) WHERE {ROW_NUMBER} = 1").create_view(VIEW)
    return VIEW


def participant_columns(trial: Trial) -> list[str]:
    """The columns of roles that describe a participant, not one of their rows."""
    found: list[str] = []
    for role in PARTICIPANT_ROLES:
        named = trial.roles.get(role)
        found += [c for c in (named if isinstance(named, list) else [named] if named else []) if c not in found]
    return found


def participants(trial: Trial) -> CheckResult:
    """Each participant's arm, dates and baseline are the same on all their rows: the checks read one row."""
    columns = participant_columns(trial)
    p = quote(trial.key)
    differ = ", ".join(f"count(DISTINCT {quote(c)}) > 1 AS {quote(c)}" for c in columns)
    con = trial.con
    con.sql(f"SELECT {p} AS k, {differ} FROM {trial.rows} GROUP BY {p}").create_view("participant_differs")
    at_fault = " OR ".join(quote(c) for c in columns)
    counts = con.sql(f"SELECT count(*) FILTER (WHERE {at_fault}), "
                     + ", ".join(f"count(*) FILTER (WHERE {quote(c)})" for c in columns)
                     + " FROM participant_differs").fetchall()[0]
    keys = [k for (k,) in con.sql(f"SELECT k FROM participant_differs WHERE {at_fault} ORDER BY k "
                                  f"LIMIT {MAX_KEYS}").fetchall()] if counts[0] else []
    details = {"differs": {c: n for c, n in zip(columns, counts[1:]) if n}} if counts[0] else {}
    return CheckResult(name=NAME, kind="integrity", success=counts[0] == 0, unexpected_count=counts[0],
                       unexpected_keys=keys, details=details)
