"""Shared calendar anchors: when released days give the calendar back.

Dates are released as days from randomisation (NHLBI IV.B.5) so that no
calendar date leaves. That holds only while the reference date is unknown.
When many participants share one calendar date in a released column (an
administrative end of follow-up, a database lock, a common visit day),
anyone who knows that date recovers each such participant's randomisation
date as the date minus the released days, and with it every other date of
theirs: 108 of 170 UDCA participants were censored on 1993-06-30. Shifted
dates leak the same way (the shifted anchor minus the anchor is the
participant's offset), and so does a follow-up time in days (the ``time``
role) added to the randomisation date.

This module finds such anchors in the source, counts per tier who is
exposed, and applies the remedy ``release.dates.anchors`` chooses to the
values at the anchor only (the others carry no shared date): ``coarsen``
rounds their days to a unit, ``jitter`` adds a per-participant offset within
±N days keyed by the trial's secret (never 0, the same in every tier and
every build, so a rebuild gives the same bytes and two tiers cannot be
averaged), ``none`` accepts the exposure with a reason. The plan states what
each remedy costs and how many participants an attacker still recovers,
found by running the attack on the released rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.columns import DATE, DATETIME, quote, type_class
from ..backends.sql import connect
from ..errors import InvalidInput
from .cells import literal
from .protect import NUMERIC, Draft
from .rules import AnchorRule, ReleaseRules

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection

# A calendar date is an anchor when this share of the participants (and at least ANCHOR_MIN of them) have it
# in one released column. Participants recruited over months rarely share a date by chance (UDCA's most
# common entry date has 3 of 170); a date shared by 1 in 20 is an event of the trial's calendar (a cut-off,
# a lock, a visit day), the kind of date an outsider can know.
ANCHOR_SHARE = 0.05
ANCHOR_MIN = 5


def threshold(participants: int) -> int:
    return max(ANCHOR_MIN, math.ceil(ANCHOR_SHARE * participants))


def calendar(rules: ReleaseRules, kinds: dict[str, str], column: str) -> str | None:
    """SQL over the source's columns: the calendar date a released value of ``column`` stands for."""
    c, ref = quote(column), rules.dates.reference
    if kinds.get(column) in (DATE, DATETIME):
        return f"CAST({c} AS DATE)"
    if kinds.get(column) in NUMERIC and ref and kinds.get(ref) in (DATE, DATETIME):
        return f"(CASE WHEN {c} = floor({c}) THEN CAST({quote(ref)} AS DATE) + TRY_CAST({c} AS INTEGER) END)"
    return None


def anchor_dates(con: Connection, relation: str, expression: str) -> list[tuple[Any, int]]:
    """The calendar dates shared by enough of ``relation``'s participants to be anchors, with their counts."""
    rows = con.sql(f"SELECT count(*) FROM {relation}").fetchall()[0][0]
    return [(d, int(n)) for d, n in con.sql(
        f"SELECT x, count(*) FROM (SELECT {expression} AS x FROM {relation}) WHERE x IS NOT NULL GROUP BY x "
        f"HAVING count(*) >= {threshold(rows)} ORDER BY count(*) DESC, x").fetchall()]


def anchored_sql(expression: str, dates: list) -> str:
    return f"({expression}) IN ({', '.join(literal(d) for d in dates)})" if dates else "FALSE"


# -- the remedy, as the release applies it -----------------------------------------------------------------

@dataclass(frozen=True)
class Remedied:
    """A remedy over the rows of one column: where it applies, the days it adds there, and its log entry."""

    anchored: str  # SQL: the row's value is at an anchor
    delta: str | None  # SQL: days added at the anchor (None: accepted, nothing changes)
    words: str  # for the dictionary's recoding
    draft: Draft

    def apply(self, value: str) -> str:
        if self.delta is None:
            return value
        return f"CASE WHEN {self.anchored} THEN {value} + {self.delta} ELSE {value} END"

    def shift(self) -> str:
        """The days added to a shifted date's offset."""
        return "0" if self.delta is None else f"(CASE WHEN {self.anchored} THEN {self.delta} ELSE 0 END)"


def jitter_sql(key: str, pid: str, days: int) -> str:
    """A nonzero number of days within ±days from a keyed hash of the participant's key (not the release ID:
    the same in both tiers, so holding both releases narrows nothing)."""
    h = (f"CAST(md5_number({literal(key)} || chr(31) || 'anchor' || chr(31) || CAST({quote(pid)} AS VARCHAR)) "
         f"% {2 * days} AS INTEGER)")
    return f"(CASE WHEN {h} < {days} THEN {h} - {days} ELSE {h} - {days - 1} END)"


def coarsen_sql(value: str, unit: int) -> str:
    """Days added to round ``value`` to the nearest multiple of ``unit`` (halves up)."""
    return f"CAST({unit} * floor(({value} + {unit // 2}) / {unit}) - ({value}) AS INTEGER)"


def remedied(con: Connection, rule: AnchorRule, rules: ReleaseRules, expression: str, value: str,
             key: str) -> Remedied:
    """The remedy of ``rule`` over table ``base``, the anchors found in ``src`` (every participant, so both
    tiers treat the same dates). ``value`` is the SQL of the released days (or of the shifted date)."""
    dates = [d for d, _ in anchor_dates(con, "src", expression)]
    anchored = anchored_sql(expression, dates)
    shown = [str(d) for d in dates]
    ref = rules.dates.reference or "the reference date"
    how = ("their date-shift offset as the shifted date minus the anchor, and so every date of theirs"
           if rules.dates.mode == "shift" and rule.column in rules.dates.columns
           else f"their {ref} as the anchor minus the released days")
    leak = f"{', '.join(shown) or 'no date'} shared by many participants (a calendar anchor): whoever knows it recovers {how}"
    if rule.remedy == "coarsen":
        delta = coarsen_sql(value, rule.unit)
        draft = Draft(rule.column, "anchor_coarsen", {"anchors": shown, "unit_days": rule.unit,
                                                      "at_most_days": rule.unit // 2},
                      f"count(*) FILTER (WHERE {anchored} AND {delta} <> 0)",
                      f"{leak}; the days at the anchor are rounded to the nearest {rule.unit}, so each is one of "
                      f"{rule.unit} dates")
        words = f"at the shared date(s) {', '.join(shown)}: rounded to the nearest {rule.unit} days"
    elif rule.remedy == "jitter":
        delta = jitter_sql(key, rules.participant_id, rule.days)
        draft = Draft(rule.column, "anchor_jitter", {"anchors": shown, "days": rule.days},
                      f"count(*) FILTER (WHERE {anchored})",
                      f"{leak}; the values at the anchor move by a per-participant number of days within "
                      f"±{rule.days} (never 0), derived from the trial's secret, the same in every tier and build")
        words = f"at the shared date(s) {', '.join(shown)}: moved by up to ±{rule.days} days per participant"
    else:
        delta = None
        exposed = con.sql(f"SELECT count(*) FILTER (WHERE {anchored}) FROM base").fetchall()[0][0]
        draft = Draft(rule.column, "anchor_accepted", {"anchors": shown, "exposed": int(exposed),
                                                       "reason": rule.reason},
                      "0", f"{leak}; accepted by the rules: {rule.reason}")
        words = ""
    return Remedied(anchored, delta, words, draft)


# -- the finding, as the plan reports it ---------------------------------------------------------------------

@dataclass(frozen=True)
class Exposure:
    """One anchor in one tier: who is exposed, the remedy, what it cost, and who is still recoverable."""

    column: str
    anchor: str  # the shared calendar date, ISO
    reference: str | None  # whose date is recovered
    exposed: int  # the tier's participants at the anchor
    remedy: str | None  # from the rules; None: no rule yet
    values_changed: int  # at the anchor, by the remedy
    max_change_days: int
    recoverable: int  # after the remedy: reference date recovered exactly by anchor minus released days
    within_days: int  # how far the attacker's guess may be off after the remedy (0: exact)
    reason: str | None = None  # remedy none: why it is accepted


def exposures(source: pa.Table, released: pa.Table, release_ids: dict, rules: ReleaseRules,
              roles: dict[str, Any]) -> list[Exposure]:
    """The anchors of ``source`` in a tier's ``released`` rows (``release_ids``: key -> release ID), each
    with the attack run on the released values: true reference + released days == anchor."""
    import pyarrow as pa

    con = connect()
    con.register("src", source)
    con.register("rel", released)
    con.register("ids", pa.table({"key": pa.array([str(k) for k in release_ids], pa.string()),
                                  "rid": pa.array([str(v) for v in release_ids.values()], pa.string())}))
    kinds = {f.name: type_class(f.type) for f in source.schema}
    rules_by = {a.column: a for a in rules.dates.anchors}
    out = []
    for column in candidates(rules, kinds, released.column_names, roles):
        expression = calendar(rules, kinds, column)
        for day, _ in anchor_dates(con, "src", expression):
            out.append(_exposure(con, rules, kinds, column, expression, day, rules_by.get(column)))
    return out


def candidates(rules: ReleaseRules, kinds: dict[str, str], released: list[str], roles: dict[str, Any]) -> list[str]:
    """Released columns that place a participant on the calendar: dates, and days from the reference."""
    dates, out = rules.dates, []
    for name in dates.columns:
        if name in released and name in kinds and (dates.mode == "shift" or dates.reference):
            out.append(name)
    days = [roles.get("time")] + [a.column for a in dates.anchors]
    for name in days:
        if name and name in released and name not in out and calendar(rules, kinds, name) \
                and kinds.get(name) in NUMERIC:
            out.append(name)
    return out


def _exposure(con: Connection, rules: ReleaseRules, kinds: dict[str, str], column: str, expression: str,
              day: Any, rule: AnchorRule | None) -> Exposure:
    c, ref = quote(column), rules.dates.reference
    r = f"CAST(s.{quote(ref)} AS DATE)" if ref else None
    if kinds[column] in NUMERIC:
        true, back = f"s.{c}", f"r.{c}"
    elif rules.dates.mode == "relative":
        true, back = f"date_diff('day', {r}, CAST(s.{c} AS DATE))", f"r.{c}"
    elif ref and ref in con.sql("SELECT * FROM rel LIMIT 0").columns:  # shifted: days from the true reference
        offset = f"date_diff('day', {r}, CAST(r.{quote(ref)} AS DATE))"
        true = f"date_diff('day', {r}, CAST(s.{c} AS DATE))"
        back = f"(date_diff('day', {r}, CAST(r.{c} AS DATE)) - {offset})"
    else:  # shifted, and no reference to measure the offset by: every exposed participant counts as recoverable
        true = back = "0"
    exposed, changed, most, exact = con.sql(
        f"SELECT count(*), count(*) FILTER (WHERE {back} IS DISTINCT FROM {true}), "
        f"coalesce(max(abs({back} - {true})), 0), count(*) FILTER (WHERE {back} = {true}) "
        f"FROM (SELECT *, {expression} AS __anchor FROM src) s "
        f"JOIN ids i ON CAST(s.{quote(rules.participant_id)} AS VARCHAR) = i.key "
        f"JOIN rel r ON CAST(r.release_id AS VARCHAR) = i.rid WHERE s.__anchor = {literal(day)}").fetchall()[0]
    remedy = rule.remedy if rule else None
    within = 0
    if rule is not None and rule.remedy == "coarsen":  # a rounded value is one of `unit` dates, even where it
        exact, within = 0, rule.unit // 2              # happens to be the true one
    elif rule is not None and rule.remedy == "jitter":
        within = rule.days
    return Exposure(column, str(day), ref, int(exposed), remedy, int(changed), int(most), int(exact), within,
                    rule.reason if rule else None)


def require_remedies(where: str, label: str, tiers: list) -> None:
    """Refuse to approve a plan that releases a shared calendar anchor no rule deals with: the finding alone
    protects nobody. ``tiers``: the plan's tiers, each with its ``anchors``."""
    for tier in tiers:
        for e in tier.anchors:
            if e.remedy is None:
                raise InvalidInput(
                    f"{label}: {e.column} holds {e.anchor} for {e.exposed} participants ({tier.tier} tier): whoever "
                    f"knows that date recovers their {e.reference or 'reference date'}; choose a remedy under "
                    f"release.dates.anchors.{e.column} in {where} (coarsen with unit, jitter with days, or none "
                    "with a reason)")
