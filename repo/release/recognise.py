"""The race and sex columns of a trial, recognised by role, name, label and values.

The NHLBI minimum cell size is counted within race–sex cells: a race column
that goes unrecognised does not fail loudly, it silently turns the rule into
a sex-only rule and lets cells of three or four participants through. Trials
name race every way (``race``, ``raceth``, ``race_eth``, ``racecat``,
``ethnic``, ``ETHNICITY``) and code sex as ``M``/``F``, ``male``/``female`` or
1/2 with value labels, so a column is recognised, in this order, by the
trial's role, by its name, by its label, by its value labels in the
dictionary, and by its values (a low-cardinality column whose values are
mostly race, or sex, words). When neither is found the plan says so
(``cell_warnings``): a reviewer must know that the cells are sex-only, or
that the whole trial is one cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.columns import STRING, quote, type_class
from ..repository.metadata import role_columns

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .rules import ReleaseRules

ROLES = ("race", "sex")
MAX_VALUES = 20  # more distinct values than this: not a race or sex code list
SHOWN = 4  # values quoted as evidence

# Race before ethnicity: a trial with both (US trials: race, and Hispanic or not) has race in ``race``.
RACE_NAMES = (re.compile(r"^race(s|th|eth|ethn|ethnic|ethnicity|cat|cd|code|grp|gp|group|n|c)?\d*$"),
              re.compile(r"^(ethnic|ethnicity|ethnicgroup|ethnicgrp|ethgrp|ethn|ethnicat)\d*$"))
SEX_NAME = re.compile(r"^(sex|gender|gend|sexe)(cat|cd|code|n|c)?\d*$")
SEX_WHOLE_NAME = re.compile(r"^(is)?(male|female)$")  # the whole name: ``female_partners`` is no sex column
NAME_TESTS: dict[str, tuple[Callable[[list[str]], bool], ...]] = {  # a name's words; first test first
    "race": tuple((lambda words, p=p: any(p.match(w) for w in words)) for p in RACE_NAMES),
    "sex": (lambda words: any(SEX_NAME.match(w) for w in words),
            lambda words: bool(SEX_WHOLE_NAME.match("".join(words)))),
}
LABELS = {"race": re.compile(r"\b(race|racial|ethnic\w*)\b"), "sex": re.compile(r"\b(sex|gender)\b")}
RACE_WORDS = re.compile(
    r"\b(white|caucasian|black|african(?: american)?|afro\w*|asian|oriental|hispanic|latino|latina|latinx|"
    r"native american|american indian|alaska(?:n)? native|indigenous|aboriginal|first nations|pacific islander|"
    r"native hawaiian|hawaiian|chinese|japanese|korean|filipino|vietnamese|indian|pakistani|bangladeshi|"
    r"arab|middle eastern|caribbean|mestizo|multiracial|biracial|mixed race|non white|nonwhite)\b")
NEUTRAL = re.compile(r"^(other|others|unknown|unk|not known|not reported|not stated|not specified|missing|"
                     r"refused|declined|prefer not to say|none|na|n a|nr|nk|mixed|multiple|more than one race|"
                     r"two or more races|multi|other race|u|x)$")
SEX_WORDS = {"m", "f", "male", "female", "males", "females", "man", "woman", "men", "women", "boy", "girl",
             "masculine", "feminine", "homme", "femme"}


@dataclass(frozen=True)
class Found:
    """A race (or sex) column, and why it was taken for one."""

    role: str
    column: str
    how: str  # "role", "name", "label", "value labels", "values"
    evidence: str  # in words, for the rationale and the plan

    def words(self) -> str:
        return f"{self.column} ({self.evidence})"


def _normal(value: Any) -> str:
    return " ".join(t for t in re.split(r"[^a-z0-9]+", str(value).casefold()) if t)


def _tokens(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def _shown(values: list[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:SHOWN])
    return shown + (", …" if len(values) > SHOWN else "")


def looks_like(role: str, values: list[Any]) -> bool:
    """Whether these distinct values (or value labels) are mostly race (sex) words.

    Race: at least two values name a race, and at most a fifth of them are neither a race nor "other",
    "unknown" and the like. Sex: every value is a sex word (or "unknown" …), two of them, or one written
    out (a trial of women only: "Female")."""
    normal = [n for n in (_normal(v) for v in values if v is not None) if n]
    if not normal or len(normal) > MAX_VALUES:
        return False
    if role == "race":
        named = [n for n in normal if RACE_WORDS.search(n)]
        strays = [n for n in normal if not RACE_WORDS.search(n) and not NEUTRAL.match(n)]
        return len(named) >= 2 and len(strays) <= len(normal) // 5
    named = [n for n in normal if n in SEX_WORDS]
    strays = [n for n in normal if n not in SEX_WORDS and not NEUTRAL.match(n)]
    return not strays and (len(named) >= 2 or any(len(n) > 1 for n in named))


class Recogniser:
    """What the dictionary and the data say of each column, read once for both roles."""

    def __init__(self, metadata: dict[str, Any], con: Connection, relation: str, schema: pa.Schema) -> None:
        self.names = list(schema.names)
        kinds = {f.name: type_class(f.type) for f in schema}
        entries = {c.get("name"): c for c in metadata.get("columns") or [] if isinstance(c, dict)}
        self.labels = {n: str(entries.get(n, {}).get("label") or entries.get(n, {}).get("description") or "")
                       for n in self.names}
        self.value_labels = {n: [v["label"] for v in entries[n]["values"] if isinstance(v, dict) and v.get("label")]
                             for n in self.names if isinstance(entries.get(n, {}).get("values"), list)}
        self.roles = role_columns(metadata.get("roles") or {})
        self.key = rowkey.columns(metadata.get("key") or [])
        self._texts = [n for n in self.names if kinds[n] == STRING and n not in self.key]
        self.con, self.relation = con, relation
        self._values: dict[str, list[Any]] | None = None

    @property
    def values(self) -> dict[str, list[Any]]:
        """Read only when neither role, name, label nor value labels tell (two scans of a million rows: 1 s)."""
        if self._values is None:
            self._values = _small_value_sets(self.con, self.relation, self._texts)
        return self._values

    def find(self, role: str, taken: tuple[str, ...] = ()) -> Found | None:
        """The ``role`` column: by the trial's role, else name, label, value labels, values (in that order)."""
        named = self.roles.get(role)
        if isinstance(named, str) and named in self.names:
            return Found(role, named, "role", f"the trial's {role} role")
        free = [n for n in self.names if n not in taken and n not in self.key]
        for test in NAME_TESTS[role]:
            for name in free:
                if test(_tokens(name)):
                    return Found(role, name, "name", f"its name says {role}")
        for name in free:
            label = self.labels[name].lower()
            if (hit := LABELS[role].search(label)) and not LABELS[_other(role)].search(label):
                return Found(role, name, "label", f"its label says {hit.group(0)!r}")
        for name in free:
            labels = self.value_labels.get(name)
            if labels and looks_like(role, labels):
                return Found(role, name, "value labels", f"its value labels: {_shown(labels)}")
        for name in free:
            values = self.values.get(name)
            if values and looks_like(role, values):
                return Found(role, name, "values", f"its values: {_shown(values)}")
        return None

    def cells(self) -> dict[str, Found | None]:
        """Race and sex, never the same column."""
        race = self.find("race")
        return {"race": race, "sex": self.find("sex", (race.column,) if race else ())}


def _other(role: str) -> str:
    return "sex" if role == "race" else "race"


def _small_value_sets(con: Connection, relation: str, names: list[str]) -> dict[str, list[Any]]:
    """The distinct values (sorted) of each text column that has few, in two scans."""
    if not names:
        return {}
    counts = con.sql("SELECT " + ", ".join(f"approx_count_distinct({quote(n)})" for n in names)
                     + f" FROM {relation}").fetchall()[0]
    small = [n for n, k in zip(names, counts) if 0 < k <= 2 * MAX_VALUES]  # an estimate: the lists count exactly
    if not small:
        return {}
    parts = [f"list_sort(list(DISTINCT {quote(n)}) FILTER (WHERE {quote(n)} IS NOT NULL))" for n in small]
    row = con.sql(f"SELECT {', '.join(parts)} FROM {relation}").fetchall()[0]
    return {n: list(v) for n, v in zip(small, row) if v and len(v) <= MAX_VALUES}


def cells(metadata: dict[str, Any], con: Connection, relation: str, schema: pa.Schema) -> dict[str, Found | None]:
    """The race and sex columns the dictionary and the data show (None: not found)."""
    return Recogniser(metadata, con, relation, schema).cells()


def cell_warnings(rules: ReleaseRules, found: dict[str, Found | None]) -> list[str]:
    """What a reviewer must be told about the cells the minimum cell size is counted in: a role no rule names."""
    named = {"race": rules.race, "sex": rules.sex}
    missing = [role for role in ROLES if not named[role]]
    if not missing:
        return []
    kept = [named[r] for r in ROLES if named[r]]
    counted = (f"the minimum cell size is checked within {kept[0]} cells only" if kept
               else "the whole trial is one cell for the minimum cell size")
    out = []
    for role in missing:
        seen = found.get(role)
        if seen is not None and seen.column not in kept:
            out.append(f"release.{role} is not set, but {seen.words()} looks like {role}: {counted}; "
                       f"name it in release.{role}")
        else:
            out.append(f"no {role} column was found (by role, name, label, value labels or values): {counted}; "
                       f"if the trial records {role}, name its column in release.{role}")
    return out
