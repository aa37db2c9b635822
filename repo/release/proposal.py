"""Proposed release rules: what a curator would start from, found in the dictionary and the data.

Names and labels say most of it (a ``surname`` is an identifier, ``site`` a
centre, ``wtkg`` anthropometry); the data say the rest: verbatim text is long
or mostly distinct, a second ID has a distinct value per participant, and a
categorical variable needs collapsing when some value is shared by fewer than
``min_cell`` participants of one race–sex cell. Every column gets one rule and
a rationale, so the curator reviews a complete proposal, not a blank page.
The proposal is a starting point: it is shown by ``ipd release plan`` and
saved into ``dataset.yaml`` only when asked.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..backends.columns import (
    BOOLEAN,
    DATE,
    DATETIME,
    INTEGER,
    STRING,
    quote,
    type_class,
)
from ..repository.metadata import participant_of, role_columns
from .exposure import rationale as found_rationale
from .outcomes import recognise as recognise_outcomes
from .recognise import cells as recognised_cells
from .rules import (
    DEFAULT_K,
    DEFAULT_MIN_CELL,
    DEFAULT_TOP_AGE,
    AgeRule,
    DateRule,
    Protection,
    ReleaseRules,
)
from .sensitive import SENSITIVE_LABEL, SENSITIVE_PARTS, SENSITIVE_TOKENS

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .content import Finding

NUMERIC = ("integer", "number", "decimal")
DESIGN_ROLES = ("arm", "status", "time", "death_flag")
IDENTIFIER_TOKENS = {"name", "fname", "lname", "surname", "forename", "firstname", "lastname", "fullname",
                     "initials", "inits", "address", "addr", "street", "city", "town", "zip", "zipcode",
                     "postcode", "postal", "phone", "telephone", "tel", "mobile", "fax", "email", "mail", "ssn",
                     "nhs", "nhsno", "mrn", "dob", "birth", "birthdate", "birthday", "birthplace", "dateofbirth",
                     "nino", "passport"}
IDENTIFIER_PARTS = ("surname", "firstname", "lastname", "forename", "fullname", "address", "postcode",
                    "zipcode", "phone", "email", "birthdate", "birthplace", "dateofbirth")
IDENTIFIER_LABEL = re.compile(r"\b(name|surname|initials|address|social security|(tele)?phone|e-?mail|"
                              r"date of birth|place of birth|birth ?date|medical record number|post ?code|"
                              r"zip ?code|nhs number)\b")
CENTRE_TOKENS = {"site", "siteid", "sitecode", "centre", "centreid", "center", "centerid", "clinic", "clinicid",
                 "hospital"}
CENTRE_LABEL = re.compile(r"\b(site|centre|center|clinic|hospital)\b")
TECHNICIAN_TOKENS = {"tech", "techid", "technician", "interviewer", "intid", "examiner", "rater"}
TECHNICIAN_LABEL = re.compile(r"\b(technician|interviewer|examiner|rater)\b")
MEASURE_TOKENS = {"height", "weight", "wt", "wtkg", "wtlb", "ht", "htcm", "bmi", "waist", "hip", "girth",
                  "income", "educ", "education", "edu", "household", "hhsize", "children", "nchild", "kids",
                  "siblings", "brothers", "sisters", "pregnancies", "preg", "gravida", "parity", "births",
                  "married", "marital", "occupation", "salary"}
MEASURE_LABEL = re.compile(r"\b(weight|height|body mass|bmi|waist|hip|girth|income|education|household|"
                           r"children|siblings|brothers|sisters|pregnanc\w*|births|married|marital|occupation)\b")
ID_TOKENS = {"id", "no", "num", "number", "row", "index", "code", "ref", "record"}
AGE_TOKENS = {"age", "ageyrs", "ageyr", "ageyears", "agebl", "agebase", "ageentry", "agerand"}
LONG_TEXT = 40  # mean characters: verbatim text rather than codes


def tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def _hit(name: str, label: str, words: set[str], pattern: re.Pattern | None = None,
         parts: tuple[str, ...] = ()) -> str | None:
    """The word of the name or label that marks the column, if any."""
    for token in tokens(name):
        if token in words:
            return token
    lowered = name.lower()
    for part in parts:
        if part in lowered:
            return part
    found = pattern.search(label.lower()) if pattern and label else None
    return found.group(0) if found else None


class Proposer:
    def __init__(self, metadata: dict[str, Any], con: Connection, relation: str,
                 schema: pa.Schema, findings: list[Finding] = (), k: int = DEFAULT_K) -> None:
        self.metadata, self.con, self.relation = metadata, con, relation
        self.k = k  # the risk targets' smallest class: a rarer value makes a variable a quasi-identifier
        self.names = list(schema.names)
        self.kinds = {f.name: type_class(f.type) for f in schema}
        entries = {c.get("name"): c for c in metadata.get("columns") or [] if isinstance(c, dict)}
        self.labels = {n: str(entries.get(n, {}).get("label") or entries.get(n, {}).get("description") or "")
                       for n in self.names}
        self.valued = {n for n in self.names if entries.get(n, {}).get("values")}
        self.roles = role_columns(metadata.get("roles") or {})
        self.min_cell = DEFAULT_MIN_CELL
        self.rule: dict[str, str] = {}  # column -> the rule proposed for it
        self.rare: list[str] = []  # dichotomous variables with a value rarer than k: deleted if the targets fail
        self.why: dict[str, str] = {}
        self.stats = self._stats()
        self.found: dict[str, Finding] = {}  # column -> the first thing its values hold (content.scan)
        for finding in findings:
            self.found.setdefault(finding.column, finding)
        self.recognised = recognised_cells(metadata, con, relation, schema)
        self.outcomes = recognise_outcomes(self.names, self.kinds, {n: s["distinct"] for n, s in self.stats.items()},
                                           self.roles)

    def _stats(self) -> dict[str, dict[str, Any]]:
        parts = ["count(*)"]
        for n in self.names:
            c = quote(n)
            text = self.kinds[n] == STRING
            parts += [f"count({c})", f"count(DISTINCT {c})",
                      f"avg(length({c}))" if text else "NULL",
                      f"avg(CASE WHEN {c} LIKE '% %' THEN 1.0 ELSE 0.0 END)" if text else "NULL",
                      f"min({c})" if self.kinds[n] == INTEGER else "NULL",
                      f"max({c})" if self.kinds[n] == INTEGER else "NULL"]
        row = self.con.sql(f"SELECT {', '.join(parts)} FROM {self.relation}").fetchall()[0]
        self.rows = int(row[0])
        out = {}
        for i, n in enumerate(self.names):
            present, distinct, length, spaced, low, high = row[1 + 6 * i: 7 + 6 * i]
            out[n] = {"present": int(present), "distinct": int(distinct), "length": length, "spaced": spaced,
                      "min": low, "max": high}
        return out

    def assign(self, name: str, rule: str, why: str) -> None:
        self.rule[name], self.why[name] = rule, why

    # -- the proposal ---------------------------------------------------------------------------------

    def propose(self) -> ReleaseRules:
        participant = participant_of(self.metadata.get("key"), self.metadata.get("participant"))
        pid = participant if participant in self.names else self.names[0]
        self.assign(pid, "participant_id", "the trial's key: replaced by release IDs (NHLBI IV.B.3.b)")
        race, sex = self._cell_column("race"), self._cell_column("sex")
        cells = [c for c in (race, sex) if c]
        self.in_cells = "in every race–sex cell" if cells else "in the trial (no race or sex column: one cell)"
        reference = self._reference()
        age_column = None
        protections: list[Protection] = []
        for name in self.names:
            if name in self.rule:
                continue
            if name in cells:
                protections.append(self._categorical(name, cells, "race–sex cell variable" + self._how(name)))
                continue
            self._direct(name, reference)
            if name in self.rule:
                continue
            if age_column is None and self._is_age(name):
                age_column = name
                self.assign(name, "age", f"age: {DEFAULT_TOP_AGE} and over become one category (HIPAA Safe "
                                         f"Harbor); extremes top- and bottom-coded so that at least "
                                         f"{self.min_cell} participants share them {self.in_cells}")
                protections.append(Protection(name, "trim"))
                continue
            if self.kinds[name] in NUMERIC and (word := _hit(name, self.labels[name], MEASURE_TOKENS,
                                                             MEASURE_LABEL)):
                self.assign(name, "quasi_identifiers",
                            f"anthropometric or socio-economic variable ({word}; NHLBI IV.B.6): top- and "
                            f"bottom-coded so that at least {self.min_cell} participants share the extreme "
                            f"values {self.in_cells}")
                protections.append(Protection(name, "trim"))
                continue
            if name in self.valued or self.kinds[name] in (BOOLEAN, STRING):
                protection = self._categorical(name, cells, "categorical variable")
                if self.rule[name] == "quasi_identifiers":
                    protections.append(protection)
                continue
            self.assign(name, "keep", "no identifying name, label or values: released as it is")
        return self._rules(pid, race, sex, reference, age_column, protections)

    def _rules(self, pid: str, race: str | None, sex: str | None, reference: str | None, age_column: str | None,
               protections: list[Protection]) -> ReleaseRules:
        def named(rule: str) -> list[str]:
            return [n for n in self.names if self.rule.get(n) == rule]

        return ReleaseRules(
            participant_id=pid, min_cell=self.min_cell, race=race, sex=sex, identifiers=named("identifiers"),
            centres={n: "recode" for n in named("centres")}, technicians={n: "recode" for n in named("technicians")},
            sensitive=named("sensitive"), free_text=named("free_text"),
            dates=DateRule("relative", reference if named("dates") else None, named("dates")),
            age=AgeRule(age_column, DEFAULT_TOP_AGE), quasi_identifiers=protections, keep=named("keep"),
            rationale={n: self.why[n] for n in self.names if n in self.why})

    def _direct(self, name: str, reference: str | None) -> None:
        """Rules that follow from the name, the label, the type or the role alone."""
        label, kind, stats = self.labels[name], self.kinds[name], self.stats[name]
        if word := _hit(name, label, IDENTIFIER_TOKENS, IDENTIFIER_LABEL, IDENTIFIER_PARTS):
            self.assign(name, "identifiers", f"direct identifier (its name or label says {word!r}): deleted "
                                             "(NHLBI IV.B.3.a)")
        elif word := _hit(name, label, CENTRE_TOKENS, CENTRE_LABEL):
            self.assign(name, "centres", f"clinical centre identifier ({word!r}): recoded to arbitrary codes; "
                                         "delete it instead if there are few centres with few participants "
                                         "(NHLBI IV.B.4.a)")
        elif word := _hit(name, label, TECHNICIAN_TOKENS, TECHNICIAN_LABEL):
            self.assign(name, "technicians", f"interviewer or technician identifier ({word!r}): recoded "
                                             "(NHLBI IV.B.4.b)")
        elif word := _hit(name, label, SENSITIVE_TOKENS, SENSITIVE_LABEL, SENSITIVE_PARTS):
            self.assign(name, "sensitive", f"sensitive variable ({word!r}): deleted (NHLBI IV.B.4.c)")
        elif finding := self.found.get(name):
            self.assign(name, finding.rule, found_rationale(finding))
        elif kind in (DATE, DATETIME):
            if name == reference:
                self.assign(name, "dates", "reference date: every other date is coded as days from it, and it "
                                           "is not released itself (NHLBI IV.B.5)")
            else:
                self.assign(name, "dates", f"date: coded as days relative to {reference} (NHLBI IV.B.5)")
        elif role := self._role(name):
            self.assign(name, "keep", f"the trial's {role} (role {role}): treatment and outcome data are "
                                      "released (NHLBI III.B.3.a)")
        elif outcome := self.outcomes.get(name):
            self.assign(name, "keep", outcome.rationale)
        elif kind == STRING and stats["present"] and name not in self.valued:
            self._text(name, stats)
        if name not in self.rule and self._second_id(name, stats):
            self.assign(name, "identifiers", "a distinct value for every participant, like an ID: a second "
                                             "participant identifier, deleted (NHLBI IV.B.3)")

    def _role(self, name: str) -> str | None:
        """The role (arm, status, time, death_flag …) that names ``name``: released as analysed, never coarsened
        by a proposal. Baseline covariates are named by a role too, and stay quasi-identifiers."""
        for role in (*DESIGN_ROLES, *self.roles):
            named = self.roles.get(role)
            if role != "baseline" and (named == name or (isinstance(named, list) and name in named)):
                return role
        return None

    def _text(self, name: str, stats: dict[str, Any]) -> None:
        share = stats["distinct"] / stats["present"]
        if (stats["length"] or 0) > LONG_TEXT or (share > 0.5 and (stats["spaced"] or 0) > 0.5):
            self.assign(name, "free_text", f"verbatim text ({stats['length']:.0f} characters on average, "
                                           f"{share:.0%} distinct): deleted (NHLBI IV.B.4.e)")
        elif share > 0.5 and stats["present"] > 1:
            self.assign(name, "identifiers", f"codes that are mostly distinct ({share:.0%}), like an identifier: "
                                             "deleted (NHLBI IV.B.3)")

    def _second_id(self, name: str, stats: dict[str, Any]) -> bool:
        if self.kinds[name] not in (INTEGER, STRING) or self.rows < 2:
            return False
        if not (stats["present"] == stats["distinct"] == self.rows):
            return False
        consecutive = stats["min"] is not None and stats["max"] - stats["min"] + 1 == self.rows
        return consecutive or bool(set(tokens(name)) & ID_TOKENS) or bool(
            re.search(r"\b(id|identifier|number|row)\b", self.labels[name].lower()))

    def _is_age(self, name: str) -> bool:
        if self.kinds[name] not in NUMERIC:
            return False
        return bool(set(tokens(name)) & AGE_TOKENS) or self.labels[name].lower().startswith("age ") \
            or self.labels[name].lower() == "age"

    def _cell_column(self, role: str) -> str | None:
        """The race (sex) column: by role, name, label, value labels or values (``recognise``)."""
        found = self.recognised[role]
        return found.column if found else None

    def _how(self, name: str) -> str:
        """How a race or sex column found by its label or values was recognised (the rationale says it)."""
        found = next((f for f in self.recognised.values() if f and f.column == name), None)
        return f" ({found.role}, recognised by {found.evidence})" if found and found.how not in ("role", "name") \
            else ""

    def _reference(self) -> str | None:
        dates = [n for n in self.names if self.kinds[n] in (DATE, DATETIME)
                 and not _hit(n, self.labels[n], IDENTIFIER_TOKENS, IDENTIFIER_LABEL, IDENTIFIER_PARTS)]
        randomised = self.roles.get("randomised")
        if randomised in dates:
            return randomised
        named = [n for n in dates if "rand" in n.lower()] or [n for n in dates if re.search(
            r"entry|enrol|consent|baseline", n.lower() + " " + self.labels[n].lower())]
        return (named or dates or [None])[0]

    def _categorical(self, name: str, cells: list[str], what: str) -> Protection:
        from .grouping import propose_groups

        proposal = propose_groups(self.con, self.relation, cells, name, self.min_cell)
        k = self.min_cell
        if proposal.smallest is None or proposal.smallest >= k:
            self.assign(name, "quasi_identifiers" if name in cells else "keep",
                        f"{what}: every value is shared by at least {k} participants {self.in_cells} "
                        f"(smallest {proposal.smallest})")
            return Protection(name, "keep")
        counted = "counts per value and race–sex cell" if cells else "values' counts"
        small = f"{proposal.small_cells} of its {counted} are below {k} (smallest {proposal.smallest})"
        self.rule[name] = "quasi_identifiers"
        if proposal.groups is None:
            kind = "dichotomous" if proposal.dichotomous else "no grouping of adjacent values meets the minimum"
            if proposal.smallest >= self.k:
                self.rule[name] = "keep"
                self.why[name] = (f"{what}: {small}; {kind}: kept rather than deleted (NHLBI IV.B.7.c), since every "
                                  f"count is at least the risk targets' k of {self.k}")
                return Protection(name, "keep")
            self.why[name] = (f"{what}: {small}; {kind}: a quasi-identifier rather than deleted (NHLBI IV.B.7.c), "
                              f"so that the risk targets decide (the few cells below k = {self.k} are suppressed)")
            self.rare.append(name)
            return Protection(name, "keep")
        self.why[name] = f"{what}: {small}; the rarest adjacent values collapsed until each group has at least " \
                         f"{k} {self.in_cells} (NHLBI IV.B.7.a)"
        return Protection(name, "collapse", proposal.groups)


def propose(metadata: dict[str, Any], con: Connection, relation: str,
            schema: pa.Schema, findings: list[Finding] = (), targets: dict | None = None) -> ReleaseRules:
    """Rules a curator would start from, found in the dictionary and the data (and in ``findings``: what the
    values hold, content.scan): with risk targets (``targets``, per tier, or the defaults), and each
    quasi-identifier at the level that meets them with the least information lost (``generalise``).

    A dichotomous variable with a value rarer than k in some race–sex cell is first offered to the search as a
    quasi-identifier (a few of its cells suppressed); when no level then meets the targets, such variables are
    deleted as NHLBI IV.B.7.c says, and the search runs again without them."""
    import dataclasses

    from .generalise import optimise

    k = max((t.k for t in (targets or {}).values()), default=DEFAULT_K)
    proposer = Proposer(metadata, con, relation, schema, findings, k)
    rules = dataclasses.replace(proposer.propose(), targets=dict(targets or {}))
    optimised, met = optimise(rules, con, relation, proposer.kinds)
    if met or not proposer.rare:
        return optimised
    why = dict(rules.rationale)
    for name in proposer.rare:
        why[name] += "; with it no level meets the risk targets: deleted (NHLBI IV.B.7.c)"
    deleted = [Protection(p.column, "delete") if p.column in proposer.rare else p for p in rules.quasi_identifiers]
    return optimise(dataclasses.replace(rules, quasi_identifiers=deleted, rationale=why), con, relation,
                    proposer.kinds)[0]
