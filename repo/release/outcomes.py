"""The outcome and follow-up of a trial that declares no roles for them, recognised by name and values.

The arm, the outcomes and the follow-up are what a release is analysed for:
the NHLBI policy releases them (III.B.3.a), and the issue's rule is that they
are never coarsened unless the rules say so. A trial that declares them
(``roles: {status: …, time: …}`` in ``dataset.yaml``) is certain; one that
does not still names them the way survival data are named in R and SAS
(PBC's ``status`` 0/1/2 beside ``time`` in days; ``fustat``/``futime``,
``death``/``d.time``, ``event``/``etime``). Left unrecognised, a status of
three values looks like a categorical quasi-identifier and has its cells
suppressed. So a column is taken for the **event indicator** when its name
says status, event, death or censoring and it has a few values, and for the
**follow-up time** when its name says time, follow-up or days and it is a
number with many values; each only beside the other (declared or
recognised), since a ``status`` alone may be anything (marital status, ECOG
performance status). The proposal keeps both out of the quasi-identifier set
and releases them as they are, saying that declaring the roles makes it
certain.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

NUMERIC = ("integer", "number", "decimal")
STATUS_KINDS = (*NUMERIC, "boolean", "string")
MAX_STATUS_VALUES = 6  # an event indicator: censored, event, competing events …; more values is something else
PREFIX = r"(fu|d|e|r|t|ev|os|pfs|efs|dfs|rfs|ttp|surv|dth|death|rec|vital)?"  # follow-up, death, recurrence …
STATUS_NAME = re.compile(rf"^{PREFIX}(status|stat|event|events|evnt|death|dead|died|censor|censored|cens|fail|"
                         r"failure)$|^cens[a-z]{0,4}$")  # fustat, d.event, vital.status; censrec, censdead
TIME_NAME = re.compile(rf"^{PREFIX}(time|days|months|tm)$|^(follow|followup|followupdays|followuptime|surv|"
                       r"survival)$")  # time, futime, d.time, etime, rectime, survtime, os_months, fu_days
STATUS_ROLES = ("status", "death_flag")  # declared roles that are an event indicator
TIME_ROLES = ("time",)


@dataclass(frozen=True)
class Outcome:
    """A column taken for the outcome's event indicator (``status``) or its follow-up (``time``)."""

    column: str
    role: str  # "status" or "time": the role that would declare it
    partner: str  # the column it goes with (the follow-up of a status, the status of a follow-up)
    values: int  # distinct values

    @property
    def rationale(self) -> str:
        what = (f"the outcome's event indicator ({self.values} values, beside the follow-up {self.partner})"
                if self.role == "status" else f"the follow-up time (beside the event indicator {self.partner})")
        return (f"looks like {what}: released as analysed, never a quasi-identifier (NHLBI III.B.3.a); declare "
                f"it in dataset.yaml (roles: {{{self.role}: {self.column}}}) to make it certain")


def compact(name: str) -> str:
    """The name in lower case without separators: ``d.time`` -> ``dtime``, ``FU_Days`` -> ``fudays``."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def recognise(names: list[str], kinds: dict[str, str], distinct: dict[str, int],
              roles: dict[str, Any]) -> dict[str, Outcome]:
    """The columns, among ``names`` and not named by a role, that look like the outcome's event indicator or
    its follow-up: each only when the other is there too, declared (``roles``) or recognised."""
    named = {c for value in roles.values() for c in (value if isinstance(value, list) else [value])}
    free = [n for n in names if n not in named]
    statuses = [n for n in free if kinds.get(n) in STATUS_KINDS and 0 < distinct.get(n, 0) <= MAX_STATUS_VALUES
                and STATUS_NAME.match(compact(n))]
    times = [n for n in free if kinds.get(n) in NUMERIC and distinct.get(n, 0) > MAX_STATUS_VALUES
             and TIME_NAME.match(compact(n))]
    declared_status = [roles[r] for r in STATUS_ROLES if isinstance(roles.get(r), str) and roles[r] in names]
    declared_time = [roles[r] for r in TIME_ROLES if isinstance(roles.get(r), str) and roles[r] in names]
    out: dict[str, Outcome] = {}
    for found, partners, role in ((statuses, times + declared_time, "status"),
                                  (times, statuses + declared_status, "time")):
        for name in found:
            if partners:
                out[name] = Outcome(name, role, _nearest(names, name, partners), distinct.get(name, 0))
    return out


def _nearest(names: list[str], name: str, partners: list[str]) -> str:
    """The partner closest to ``name`` in the delivery's column order (the first of two as close)."""
    at = names.index(name)
    return min(partners, key=lambda p: (abs(names.index(p) - at), names.index(p)))


def with_follow_up(roles: dict[str, Any], table: Any) -> dict[str, Any]:
    """``roles``, with the follow-up time recognised in ``table`` (a pyarrow table) when no role declares it:
    a follow-up in days added to a shared calendar date gives randomisation dates back (``anchors``), declared
    or not."""
    import pyarrow.compute as pc

    from ..backends.columns import type_class

    if isinstance(roles.get("time"), str) and roles["time"] in table.column_names:
        return roles
    names = table.column_names
    kinds = {f.name: type_class(f.type) for f in table.schema}
    named = [n for n in names if STATUS_NAME.match(compact(n)) or TIME_NAME.match(compact(n))]
    distinct = {n: int(pc.count_distinct(table[n]).as_py()) for n in named}
    times = [o.column for o in recognise(names, kinds, distinct, roles).values() if o.role == "time"]
    return {**roles, "time": times[0]} if times else roles
