"""What happens to each column of a release, as SQL over the tier's rows (table ``base``).

A column goes exactly one way, the safest that applies: the participant ID is
replaced; identifiers, verbatim text and sensitive variables are deleted
whatever else the rules say of them; then centres and technicians, consent
records, dates (which never survive as calendar dates in the relative mode),
the age ceiling, and the quasi-identifier protections. A column no rule names
is released as it is (and ``scan`` looks at it before anything is written).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.columns import BOOLEAN, DATE, DATETIME, INTEGER, STRING, quote
from ..errors import InvalidInput
from . import anchors
from .cells import MISSING_NOTE, literal, plain
from .generalise import POOLED, band_sql, band_words, pool_sql
from .protect import (
    CODED,
    NUMERIC,
    Draft,
    age_cap_sql,
    age_text_sql,
    coded_draft,
    coded_sql,
    coded_words,
    collapse_draft,
    collapse_sql,
    collapse_words,
    find_thresholds,
    matches,
)
from .rules import Protection, ReleaseRules

if TYPE_CHECKING:
    from ..backends.sql import Connection

__all__ = ["ColumnPlan", "Draft", "Output", "matches"]

DELETED = {
    "identifier": "direct identifier (NHLBI): deleted",
    "free_text": "unedited verbatim text (NHLBI): deleted",
    "sensitive": "sensitive variable (NHLBI): deleted",
    "consent": "consent record: its refusals are applied as exclusions per tier; the column is not released",
    # as releases built so far say it (a rebuild gives their bytes): the curator's rationale says why
    "qi_delete": "dichotomous quasi-identifier (NHLBI): deleted rather than grouped",
}
SHIFT_DAYS = 365


@dataclass(frozen=True)
class Output:
    name: str
    sql: str
    recoding: str


class ColumnPlan:
    def __init__(self, con: Connection, rules: ReleaseRules, kinds: dict[str, str],
                 categorical: set[str], secret: bytes | None, random_codes: bool = False) -> None:
        self.con, self.rules, self.kinds, self.categorical, self.secret = con, rules, kinds, categorical, secret
        self.random_codes = random_codes  # base holds the codes themselves (``codes``), not ranks
        self.protections: dict[str, Protection] = {p.column: p for p in rules.quasi_identifiers}
        self.anchor_rules = {a.column: a for a in rules.dates.anchors}
        self.outputs: list[Output] = []
        self.drafts: list[Draft] = []

    def way(self, name: str) -> str:
        r = self.rules
        consent = {c.column for c in (r.no_sharing, r.no_commercial) if c is not None and c.column}
        protection = self.protections.get(name)
        for way, hit in (("id", name == r.participant_id), ("identifier", name in r.identifiers),
                         ("free_text", name in r.free_text), ("sensitive", name in r.sensitive),
                         ("centre", name in r.centres), ("technician", name in r.technicians),
                         ("consent", name in consent and name not in r.keep),
                         ("qi_delete", protection is not None and protection.action == "delete"),
                         ("date", self.kinds[name] in (DATE, DATETIME) or name in r.dates.columns),
                         ("age", name == r.age.column), ("qi", protection is not None)):
            if hit:
                return way
        return "keep"

    def recoded(self) -> list[str]:
        r = self.rules
        return [n for n in self.kinds if self.way(n) in ("centre", "technician")
                and {**r.centres, **r.technicians}[n] == "recode"]

    # -- building -------------------------------------------------------------------------------------

    def build(self) -> None:
        """Fill ``outputs`` (in the table's column order) and ``drafts`` (one per change)."""
        ways = {n: self.way(n) for n in self.kinds}
        cells = [self._cell_sql(c, ways) for c in (self.rules.race, self.rules.sex)]
        coded = {n: (self._pre(n, ways[n]), self.protections[n].action) for n in self.kinds
                 if ways[n] in ("qi", "age") and n in self.protections and self.protections[n].action in CODED}
        for name, (expr, action) in coded.items():
            if self.kinds[name] not in NUMERIC:
                raise InvalidInput(f"release.quasi_identifiers.{name}: {action} needs a numeric column, "
                                   f"not {self.kinds[name]}")
        self.limits = find_thresholds(self.con, "base", [c for c in cells if c], coded, self.rules.min_cell)
        for name, way in ways.items():
            self._column(name, way)

    def _cell_sql(self, name: str | None, ways: dict[str, str]) -> str | None:
        if not name or name not in ways or ways[name] not in ("qi", "keep", "age"):
            return None
        protection = self.protections.get(name)
        if protection and protection.action in ("collapse", "group"):
            return self._collapsed(name, self._pre(name, ways[name]), protection)
        return self._pre(name, ways[name])

    def _pre(self, name: str, way: str) -> str:
        """The column before protection (ages already capped, so thresholds see the ceiling)."""
        return age_cap_sql(quote(name), self.rules.age.top) if way == "age" else quote(name)

    def _collapsed(self, name: str, pre: str, protection: Protection) -> str:
        if not protection.groups:
            raise InvalidInput(f"release.quasi_identifiers.{name}: {protection.action} needs groups")
        otherwise = (age_text_sql(pre, self.rules.age.top) if name == self.rules.age.column
                     else f"CAST({pre} AS VARCHAR)")
        return collapse_sql(f"({pre})", self.kinds[name], protection.groups, otherwise)

    def _emit(self, name: str, sql: str, recoding: str) -> None:
        self.outputs.append(Output(name, sql, recoding))

    def _generalised(self, name: str, way: str) -> None:
        """Emit ``name`` at its level of ``rules.generalise``: a level of the column's hierarchy."""
        g = self.rules.generalise[name]
        kind, c = self.kinds[name], quote(name)
        age = way == "age"
        if g.pool is not None:
            self._identifier_column(name, way)
            out = self.outputs[-1]
            self.outputs[-1] = dataclasses.replace(out, sql=pool_sql(c, kind, g.pool, out.sql),
                                                   recoding=f"{out.recoding}; centres with few participants pooled "
                                                            f"into one code '{POOLED}' ({len(g.pool)} centres)")
            self.drafts.append(Draft(name, "generalise", {"pool": [plain(v) for v in g.pool], "as": POOLED},
                                     f"count(*) FILTER (WHERE {matches(c, kind, list(g.pool))})",
                                     "centres with few participants pooled into one code, the level of the centre "
                                     "hierarchy that meets the risk targets with the least information lost"))
            return
        if g.groups is not None:
            sql = collapse_sql(c, kind, g.groups, f"CAST({c} AS VARCHAR)")
            self._emit(name, sql, "generalised: " + collapse_words(g.groups))
            self.drafts.append(Draft(name, "generalise", {"groups": {k: [plain(v) for v in vs]
                                                                     for k, vs in g.groups.items()}},
                                     f"count(*) FILTER (WHERE NOT {matches(c, kind, [])} AND ({sql}) IS DISTINCT FROM "
                                     f"CAST({c} AS VARCHAR))",
                                     "categories grouped: the level of the variable's hierarchy that meets the risk "
                                     "targets with the least information lost"))
            return
        if kind not in NUMERIC:
            from ..errors import InvalidInput

            raise InvalidInput(f"release.generalise.{name}: bands need a numeric column, not {kind}")
        pre = c
        if age:
            top = self.rules.age.top
            pre = age_cap_sql(c, top)
            self.drafts.append(Draft(name, "age_top", {"top": top, "category": f"{top}+"},
                                     f"count(*) FILTER (WHERE {c} >= {top})",
                                     f"HIPAA Safe Harbor: ages of {top} and over are never released apart"))
            if g.top is None or g.top > top:
                g = dataclasses.replace(g, top=top)
        integral = age or kind == INTEGER
        self._emit(name, band_sql(pre, g, integral), band_words(g, integral))
        w = int(g.width or 1)
        exact = f"({c}) = floor({c})" if w == 1 else "FALSE"
        beyond = " OR ".join([f"({c}) < {literal(g.bottom)}"] * (g.bottom is not None) +
                             [f"({c}) >= {literal(g.top)}"] * (g.top is not None)) or "FALSE"
        self.drafts.append(Draft(name, "generalise", g.to_yaml(),
                                 f"count(*) FILTER (WHERE {c} IS NOT NULL AND (NOT ({exact}) OR {beyond}))",
                                 f"{band_words(g, integral)}: the level of the variable's hierarchy that meets the "
                                 "risk targets with the least information lost"))

    def _column(self, name: str, way: str) -> None:
        c = quote(name)
        if name in self.rules.generalise and way in ("age", "centre", "qi", "keep"):
            self._generalised(name, way)
        elif way == "id":
            self.drafts.append(Draft(name, "replace", {"by": "release_id"}, "count(*)",
                                     "participant IDs replaced by release IDs (NHLBI); the linkage stays in "
                                     "restricted storage"))
        elif way in DELETED:
            self.drafts.append(Draft(name, "delete", {}, f"count({c})", DELETED[way]))
        elif way in ("centre", "technician"):
            self._identifier_column(name, way)
        elif way == "date":
            self._date(name)
        elif way == "age":
            self._age(name)
        elif way == "qi":
            self._protect(name, quote(name), False)
        elif name in self.anchor_rules:  # days released as they are, but the rules remedy a shared date
            fix = self._anchor(name, c)
            self._emit(name, fix.apply(c), fix.words or "none")
            self.drafts.append(fix.draft)
        else:
            self._emit(name, c, "none")

    def _identifier_column(self, name: str, way: str) -> None:
        c = quote(name)
        what = "clinical centre" if way == "centre" else "interviewer or technician"
        action = (self.rules.centres if way == "centre" else self.rules.technicians)[name]
        if action != "recode":
            self.drafts.append(Draft(name, "delete", {}, f"count({c})", f"{what} identifier (NHLBI): deleted"))
            return
        prefix = "C" if way == "centre" else "T"
        n = self.con.sql(f"SELECT count(DISTINCT {c}) FROM src").fetchall()[0][0]
        width = max(2, len(str(n)))
        code = quote("__code_" + name)
        sql = f"CASE WHEN {code} IS NULL THEN NULL ELSE '{prefix}' || lpad(CAST({code} AS VARCHAR), {width}, '0') END"
        first, last = f"{prefix}{1:0{width}d}", f"{prefix}{n:0{width}d}"
        if self.random_codes:
            low, high = self.con.sql(f"SELECT min({code}), max({code}) FROM base").fetchall()[0]
            self._emit(name, code, f"{what} identifiers replaced by codes drawn at random ({low}…{high}), not in the "
                                   f"order of the original values; a {what} keeps its code in every release of this "
                                   "tier, and the other tier has codes of its own")
        else:
            self._emit(name, sql, f"{what} identifiers replaced by arbitrary codes {first}…{last} "
                                  "(numbered in the order of the original values; the same in every tier)")
        self.drafts.append(Draft(name, "recode", {"codes": int(n), "first": first, "last": last}, f"count({c})",
                                 f"{what} identifier (NHLBI): recoded to arbitrary stable codes"))

    def _date(self, name: str) -> None:
        c, kind, dates = quote(name), self.kinds[name], self.rules.dates
        if kind not in (DATE, DATETIME):
            raise InvalidInput(f"release.dates.columns: {name} is not a date column ({kind})")
        if dates.mode == "shift":
            offset = self.offset_sql()
            fix = self._anchor(name, c)
            if fix is not None and fix.delta is not None:
                offset = f"({offset} + {fix.shift()})"
            sql = f"CAST({c} + {offset} AS DATE)" if kind == DATE else f"{c} + to_days({offset})"
            self._emit(name, sql, f"shifted by a per-participant number of days (between -{SHIFT_DAYS} and "
                                  f"{SHIFT_DAYS}, never 0), the same for every date of a participant, so "
                                  "intervals are kept")
            self.drafts.append(Draft(name, "shift", {"offset_days": [-SHIFT_DAYS, SHIFT_DAYS],
                                                     "keyed_by": "secret" if self.secret else "linkage"},
                                     f"count({c})",
                                     "PhUSE/CDISC date shifting: every date of a participant moves by one "
                                     "offset derived from a keyed hash of the release ID, keeping intervals; "
                                     "shifted calendar dates are released by design"))
            if fix is not None:
                self.drafts.append(fix.draft)
            return
        ref = dates.reference
        if not ref or ref not in self.kinds or self.kinds[ref] not in (DATE, DATETIME):
            raise InvalidInput("release.dates.reference: dates are coded relative to a reference date; "
                               f"name a date column (now {ref!r})")
        if name == ref:
            self.drafts.append(Draft(name, "delete", {}, f"count({c})",
                                     "reference date of the relative dates (NHLBI): every other date counts "
                                     "days from it, so it is not released"))
            return
        r = quote(ref)
        days = f"CAST(date_diff('day', CAST({r} AS DATE), CAST({c} AS DATE)) AS INTEGER)"
        fix = self._anchor(name, days)
        self._emit(name, fix.apply(days) if fix else days,
                   _join(f"days from {ref} (negative: before it); no calendar dates", fix.words if fix else ""))
        self.drafts.append(Draft(name, "relative", {"reference": ref, "unit": "days"}, f"count({c})",
                                 f"dates coded relative to {ref} (NHLBI): days since {ref}; "
                                 "no calendar date is released"))
        if fix is not None:
            self.drafts.append(fix.draft)

    def _anchor(self, name: str, value: str) -> anchors.Remedied | None:
        """The remedy the rules give the shared calendar dates of ``name`` (None: no rule for it)."""
        rule = self.anchor_rules.get(name)
        if rule is None:
            return None
        return anchors.remedied(self.con, rule, self.rules, anchors.calendar(self.rules, self.kinds, name), value,
                                self._key())

    def offset_sql(self) -> str:
        """Per participant, a nonzero number of days in ±SHIFT_DAYS from a keyed hash of the release ID.

        Release IDs are per tier (``ids``), so the tiers' offsets differ and shifted dates cannot link a
        participant's records across tiers; a legacy ID, shared by the tiers, keeps its one offset."""
        h = f"CAST(md5_number({literal(self._key())} || CAST(__rid AS VARCHAR)) % {2 * SHIFT_DAYS} AS INTEGER)"
        return f"(CASE WHEN {h} < {SHIFT_DAYS} THEN {h} - {SHIFT_DAYS} ELSE {h} - {SHIFT_DAYS - 1} END)"

    def _key(self) -> str:
        """The key of per-participant offsets: the trial's secret, or (without it, as in a plan) the linkage."""
        if self.secret is not None:
            return self.secret.hex()
        return self.con.sql("SELECT md5(coalesce(string_agg(key || chr(31) || CAST(release_id AS VARCHAR), "
                            "chr(30) ORDER BY key), '')) FROM ids").fetchall()[0][0]

    def _age(self, name: str) -> None:
        c, top, kind = quote(name), self.rules.age.top, self.kinds[name]
        if kind not in NUMERIC:
            raise InvalidInput(f"release.age.column: {name} is not numeric ({kind})")
        self.drafts.append(Draft(name, "age_top", {"top": top, "category": f"{top}+"},
                                 f"count(*) FILTER (WHERE {c} >= {top})",
                                 f"HIPAA Safe Harbor: ages of {top} and over form one category '{top}+'; the "
                                 "column becomes text, other ages whole years"))
        self._protect(name, age_cap_sql(c, top), True)

    def _protect(self, name: str, pre: str, age: bool) -> None:
        c, k = quote(name), self.rules.min_cell
        protection = self.protections.get(name) or Protection(name, "keep")
        top = self.rules.age.top
        as_text = (lambda e: age_text_sql(e, top)) if age else (lambda e: e)
        words = f"ages of {top} and over recorded as '{top}+', other ages as whole years (text)" if age else ""
        action = protection.action
        if action in ("collapse", "group"):
            sql = self._collapsed(name, pre, protection)
            affected = f"count(*) FILTER (WHERE ({sql}) IS DISTINCT FROM CAST({c} AS VARCHAR))"
            self._emit(name, sql, _join("collapsed: " + collapse_words(protection.groups), words))
            self.drafts.append(collapse_draft(name, action, protection.groups, affected, k))
        elif action in CODED:
            limits = self.limits[name]
            self._emit(name, as_text(coded_sql(pre, limits.top, limits.bottom)),
                       _join(coded_words(limits), words))
            self.drafts.append(coded_draft(name, action, limits, pre, k))
        else:
            self._emit(name, as_text(pre), words or "none")
            if name in self.protections:
                check = "values" if self._categorical(name) and not age else "extremes"
                self.drafts.append(Draft(name, "keep", {}, "0",
                                         f"quasi-identifier reviewed and released as it is; its cell counts are "
                                         f"checked against the minimum of {k}; {MISSING_NOTE}", check=check))

    def _categorical(self, name: str) -> bool:
        return name in self.categorical or self.kinds[name] in (STRING, BOOLEAN) or name in (
            self.rules.race, self.rules.sex)


def _join(*parts: Any) -> str:
    return "; ".join(p for p in parts if p)
