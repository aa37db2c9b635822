"""Reading and checking the ``release:`` rules of ``dataset.yaml``.

Every rule is checked before anything is computed: a misspelt column, an
unknown action or a column given two rules would otherwise be ignored or
applied half-way, and the release would expose what the curator meant to
protect. Each refusal is one line naming the file and the rule
(``datasets/T/dataset.yaml: release.quasi_identifiers.wtkg: …``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, NoReturn

from ..errors import InvalidInput
from ..repository import layout
from ..repository.metadata import participant_of, role_columns
from .rules import (
    ACTIONS,
    ANCHOR_REMEDIES,
    CODED,
    CONSENT,
    CONSENT_SETTINGS,
    DATE_MODES,
    DATE_TYPES,
    DEFAULT_MIN_CELL,
    DEFAULT_TOP_AGE,
    GROUPED,
    IDENTIFIER_ACTIONS,
    KEYS,
    NUMERIC_TYPES,
    TIERS,
    AgeRule,
    AnchorRule,
    ConsentRule,
    DateRule,
    Generalisation,
    Protection,
    ReleaseRules,
    Targets,
)

REMEDY_SETTING = {"coarsen": "unit", "jitter": "days", "none": "reason"}  # the setting each remedy needs
TARGET_SETTINGS = ("k", "average_risk", "suppression")


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class Loader:
    def __init__(self, metadata: dict[str, Any], columns: list[str]) -> None:
        self.where = layout.trial(str(metadata.get("trial", "?"))).metadata
        self.names = list(columns)
        dictionary = metadata.get("columns") or []
        self.types = {c.get("name"): c.get("type") for c in dictionary if isinstance(c, dict)}
        self.values = {c["name"]: [v.get("value") for v in c["values"]] for c in dictionary
                       if isinstance(c, dict) and c.get("values")}
        self.roles = role_columns(metadata.get("roles") or {})
        self.key = participant_of(metadata.get("key"), metadata.get("participant"))  # the participant column
        self.raw = metadata.get("release")
        self.claimed: dict[str, str] = {}  # column -> the rule that has it

    def fail(self, item: str, message: str) -> NoReturn:
        raise InvalidInput(f"{self.where}: release{'.' + item if item else ''}: {message}")

    # -- pieces -----------------------------------------------------------------------------------------

    def column(self, item: str, value: Any) -> str:
        if not isinstance(value, str) or not value:
            self.fail(item, f"expected a column name, not {_shown(value)}")
        if value not in self.names:
            self.fail(item, f"no column {value!r} in the data")
        return value

    def claim(self, item: str, column: str, rule: str | None = None) -> None:
        rule = rule or item.split(".")[0]
        other = self.claimed.get(column)
        if other is not None and other != rule:
            self.fail(item, f"{column} is also in release.{other}; a column takes one rule")
        self.claimed[column] = rule

    def column_list(self, item: str) -> list[str]:
        value = self.raw.get(item)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(item, "expected a list of columns")
        out = []
        for entry in value:
            name = self.column(item, entry)
            self.claim(item, name)
            if name not in out:
                out.append(name)
        return out

    def mapping(self, item: str, value: Any, what: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(item, f"expected a mapping of {what}")
        return value

    def identifier_rules(self, item: str) -> dict[str, str]:
        out = {}
        for name, action in self.mapping(item, self.raw.get(item), "column: delete or recode").items():
            self.column(f"{item}.{name}", name)
            if action not in IDENTIFIER_ACTIONS:
                self.fail(f"{item}.{name}", f"unknown action {_shown(action)} (delete or recode)")
            self.claim(f"{item}.{name}", name, item)
            out[name] = action
        return out

    def is_date(self, name: str) -> bool:
        return self.types.get(name) in DATE_TYPES

    # -- rules ------------------------------------------------------------------------------------------

    def load(self) -> ReleaseRules:
        if not isinstance(self.raw, dict):
            self.fail("", "expected a mapping of rules")
        for key in self.raw:
            if key not in KEYS:
                self.fail(str(key), f"unknown rule (the rules are: {', '.join(KEYS)})")
        min_cell = self.raw.get("min_cell", DEFAULT_MIN_CELL)
        if not _positive(min_cell):
            self.fail("min_cell", f"must be a positive integer, not {_shown(min_cell)}")
        race = self.column("race", self.raw["race"]) if self.raw.get("race") is not None else None
        sex = self.column("sex", self.raw["sex"]) if self.raw.get("sex") is not None else None
        pid = self.raw.get("participant_id", self.key)
        participant_id = self.column("participant_id", pid)
        self.claim("participant_id", participant_id)
        lists = {item: self.column_list(item) for item in ("identifiers",)}
        centres, technicians = self.identifier_rules("centres"), self.identifier_rules("technicians")
        lists.update({item: self.column_list(item) for item in ("sensitive", "free_text")})
        dates = self.dates()
        age = self.age()
        protections = self.protections(age)
        no_sharing, no_commercial = self.consent()
        keep = self.column_list("keep")
        for name in keep:
            if self.is_date(name):
                self.fail("keep", f"{name} is a date column: dates are released only relative to "
                                  "release.dates.reference (or shifted), never as they are")
        rationale = {str(k): str(v) for k, v in self.mapping("rationale", self.raw.get("rationale"),
                                                             "column: why").items()}
        exceptions = self.exceptions()
        dates = replace(dates, anchors=self.anchors(dates))  # last: the other rules have claimed their columns
        targets = self.targets()
        generalise = self.generalisations()
        for protection in protections:
            if protection.column in generalise:
                self.fail(f"generalise.{protection.column}", f"{protection.column} is also in "
                                                             "release.quasi_identifiers; a column takes one rule")
        return ReleaseRules(
            participant_id=participant_id, min_cell=min_cell, race=race, sex=sex,
            identifiers=lists["identifiers"], centres=centres, technicians=technicians,
            sensitive=lists["sensitive"], free_text=lists["free_text"], dates=dates, age=age,
            quasi_identifiers=protections, no_sharing=no_sharing, no_commercial=no_commercial, keep=keep,
            rationale=rationale, exceptions=exceptions, targets=targets, generalise=generalise)

    def exceptions(self) -> dict[str, str]:
        """Columns released although the content scan finds identifiers or sensitive data in them, each with
        the reason the curator gives (it is approved with the plan)."""
        out = {}
        for name, reason in self.mapping("exceptions", self.raw.get("exceptions"), "column: reason").items():
            self.column(f"exceptions.{name}", name)
            if not isinstance(reason, str) or not reason.strip():
                self.fail(f"exceptions.{name}", f"say why {name} may be released (text), not {_shown(reason)}")
            out[name] = reason.strip()
        return out

    def targets(self) -> dict[str, Targets]:
        raw = self.mapping("targets", self.raw.get("targets"), f"risk targets ({', '.join(TARGET_SETTINGS)}, "
                                                                 "or per tier)")
        if not raw:
            return {}
        for key in raw:
            if key not in (*TARGET_SETTINGS, *TIERS):
                self.fail(f"targets.{key}", f"unknown setting ({', '.join(TARGET_SETTINGS)}, or a tier: "
                                            f"{', '.join(TIERS)})")
        shared = self.target("targets", raw, Targets())
        out = {}
        for tier in TIERS:
            own = self.mapping(f"targets.{tier}", raw.get(tier), f"risk targets ({', '.join(TARGET_SETTINGS)})")
            for key in own:
                if key not in TARGET_SETTINGS:
                    self.fail(f"targets.{tier}.{key}", f"unknown setting ({', '.join(TARGET_SETTINGS)})")
            out[tier] = self.target(f"targets.{tier}", own, shared)
        return out

    def target(self, item: str, raw: dict, base: Targets) -> Targets:
        k = raw.get("k", base.k)
        if not _positive(k):
            self.fail(f"{item}.k", f"must be a positive integer, not {_shown(k)}")
        shares = {}
        for name, low_open in (("average_risk", True), ("suppression", False)):
            value = raw.get(name, getattr(base, name))
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                    (0 < value if low_open else 0 <= value) and value <= 1):
                self.fail(f"{item}.{name}", f"must be a share {'above 0' if low_open else 'from 0'} up to 1, "
                                            f"not {_shown(value)}")
            shares[name] = value
        return Targets(k, shares["average_risk"], shares["suppression"])

    def generalisations(self) -> dict[str, Generalisation]:
        out = {}
        for name, raw in self.mapping("generalise", self.raw.get("generalise"), "column: level").items():
            item = f"generalise.{name}"
            self.column(item, name)
            raw = self.mapping(item, raw, "width (with bottom and top), groups or pool")
            for key in raw:
                if key not in ("width", "bottom", "top", "groups", "pool"):
                    self.fail(f"{item}.{key}", "unknown setting (width, bottom, top, groups, pool)")
            kinds = [k for k in ("width", "groups", "pool") if raw.get(k) is not None]
            if len(kinds) != 1:
                self.fail(item, "give one of width (bands of numbers), groups (categories) or pool (centres)")
            owner = self.claimed.get(name)
            if owner not in (None, "age", "centres") or (owner == "centres" and kinds != ["pool"]) or (
                    kinds == ["pool"] and owner != "centres"):
                where = f"it is in release.{owner}" if owner else "pool is for recoded centre columns"
                self.fail(item, f"{name} cannot be generalised this way: {where}")
            if owner == "centres" and self.raw.get("centres", {}).get(name) != "recode":
                self.fail(item, f"{name} is deleted (release.centres): there is nothing to pool")
            width = raw.get("width")
            bounds = {}
            if width is not None:
                if not _positive(width):
                    self.fail(f"{item}.width", f"must be a positive integer, not {_shown(width)}")
                if self.types.get(name) not in (*NUMERIC_TYPES, None):
                    self.fail(item, f"bands need a numeric column, not {self.types[name]}")
                for end in ("bottom", "top"):
                    value = raw.get(end)
                    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                        self.fail(f"{item}.{end}", f"must be a number, not {_shown(value)}")
                    bounds[end] = value
                if None not in bounds.values() and bounds["bottom"] >= bounds["top"]:
                    self.fail(item, f"bottom ({bounds['bottom']}) must be below top ({bounds['top']})")
            elif any(raw.get(end) is not None for end in ("bottom", "top")):
                self.fail(item, "bottom and top go with width")
            groups = self.groups(item, name, "collapse", raw["groups"]) if raw.get("groups") is not None else None
            pool = raw.get("pool")
            if pool is not None and (not isinstance(pool, list) or not pool):
                self.fail(f"{item}.pool", "expected a list of the centres pooled into one code")
            if name not in self.claimed:
                self.claimed[name] = "generalise"
            out[name] = Generalisation(name, width, bounds.get("bottom"), bounds.get("top"), groups, pool)
        return out

    def dates(self) -> DateRule:
        raw = self.mapping("dates", self.raw.get("dates"), "date settings (mode, reference, columns)")
        for key in raw:
            if key not in ("mode", "reference", "columns", "anchors", "anchor"):
                self.fail(f"dates.{key}", "unknown setting (mode, reference, columns, anchors)")
        mode = raw.get("mode", "relative")
        if mode not in DATE_MODES:
            self.fail("dates.mode", f"unknown mode {_shown(mode)} (relative or shift)")
        reference = raw["reference"] if "reference" in raw else self.roles.get("randomised")
        whence = "" if "reference" in raw else " (the trial's randomised role)"
        if reference is not None:
            reference = self.column("dates.reference", reference)
            if not self.is_date(reference):
                self.fail("dates.reference", f"{reference}{whence} is not a date column "
                                             f"({self.types.get(reference) or 'type unknown'})")
        if "columns" in raw and raw["columns"] is not None:
            if not isinstance(raw["columns"], list):
                self.fail("dates.columns", "expected a list of columns")
            columns = []
            for entry in raw["columns"]:
                name = self.column("dates.columns", entry)
                if not self.is_date(name):
                    self.fail("dates.columns", f"{name} is not a date column "
                                               f"({self.types.get(name) or 'type unknown'})")
                self.claim("dates.columns", name, "dates")
                columns.append(name)
        else:
            columns = [n for n in self.names if self.is_date(n) and n not in self.claimed]
            for name in columns:
                self.claimed[name] = "dates"
        if mode == "relative" and reference is None and columns:
            self.fail("dates.reference", "dates are coded relative to a reference date: name a date column "
                                         "here, or give the trial a randomised role")
        return DateRule(mode, reference, columns)

    def anchors(self, dates: DateRule) -> list[AnchorRule]:
        """Remedies for shared calendar anchors, per released column (``anchor: {column: …}`` is one of them)."""
        raw = self.raw.get("dates") or {}
        one = raw.get("anchor")
        if one is not None:
            if "anchors" in raw:
                self.fail("dates.anchor", "give anchors or anchor (one), not both")
            one = self.mapping("dates.anchor", one, "anchor settings (column, remedy, …)")
            if "column" not in one:
                self.fail("dates.anchor.column", "name the column whose shared date the remedy is for")
            raw = {"anchors": {one["column"]: {k: v for k, v in one.items() if k != "column"}}}
        out = []
        for name, entry in self.mapping("dates.anchors", raw.get("anchors"), "column: remedy").items():
            item = f"dates.anchors.{name}"
            self.anchor_column(item, name, dates)
            if isinstance(entry, str):
                entry = {"remedy": entry}
            entry = self.mapping(item, entry, "anchor settings (remedy, unit, days, reason)")
            out.append(self.anchor(item, name, entry, dates))
        return out

    def anchor_column(self, item: str, name: Any, dates: DateRule) -> None:
        self.column(item, name)
        if self.is_date(name):
            if name not in dates.columns:
                self.fail(item, f"{name} is not released as a date (release.{self.claimed.get(name, 'dates')})")
            if dates.mode == "relative" and name == dates.reference:
                self.fail(item, f"{name} is the reference date: it is not released")
            return
        if self.types.get(name) not in NUMERIC_TYPES:
            self.fail(item, f"{name} is neither a date nor a number of days "
                            f"({self.types.get(name) or 'type unknown'})")
        if self.claimed.get(name, "keep") != "keep":
            self.fail(item, f"{name} is in release.{self.claimed[name]}; a remedy goes on days released as they are")
        if dates.reference is None:
            self.fail(item, f"{name} counts days from release.dates.reference: name the reference date")

    def anchor(self, item: str, name: str, raw: dict, dates: DateRule) -> AnchorRule:
        for key in raw:
            if key not in ("remedy", "unit", "days", "reason"):
                self.fail(f"{item}.{key}", "unknown setting (remedy, unit, days, reason)")
        remedy = raw.get("remedy")
        if remedy not in ANCHOR_REMEDIES:
            self.fail(f"{item}.remedy", f"unknown remedy {_shown(remedy)} (coarsen, jitter or none)")
        needs = REMEDY_SETTING[remedy]
        for other, key in REMEDY_SETTING.items():
            if key != needs and raw.get(key) is not None:
                self.fail(f"{item}.{key}", f"goes with remedy {other}, not {remedy}")
        value = raw.get(needs)
        if needs == "reason" and (not isinstance(value, str) or not value.strip()):
            self.fail(f"{item}.reason", "say why the exposure is accepted (reason: …)")
        if needs == "unit" and not (_positive(value) and value >= 2):
            self.fail(f"{item}.unit", f"coarsen needs the days to round to: an integer of 2 or more (7: weeks), "
                                      f"not {_shown(value)}")
        if needs == "days" and not _positive(value):
            self.fail(f"{item}.days", f"jitter needs the most days a value may move: a positive integer, "
                                      f"not {_shown(value)}")
        if remedy == "coarsen" and dates.mode == "shift" and self.is_date(name):
            self.fail(f"{item}.remedy", "coarsen goes with relative dates; shifted dates take jitter or none")
        return AnchorRule(name, remedy, value if needs == "unit" else None, value if needs == "days" else None,
                          value.strip() if needs == "reason" else None)

    def age(self) -> AgeRule:
        raw = self.raw.get("age")
        if raw is None:
            return AgeRule()
        if isinstance(raw, str):
            raw = {"column": raw}
        raw = self.mapping("age", raw, "age settings (column, top)")
        for key in raw:
            if key not in ("column", "top"):
                self.fail(f"age.{key}", "unknown setting (column, top)")
        column = self.column("age.column", raw["column"]) if raw.get("column") is not None else None
        if column is not None:
            if self.types.get(column) not in (*NUMERIC_TYPES, None):
                self.fail("age.column", f"{column} is not numeric ({self.types[column]})")
            self.claim("age.column", column, "age")
        top = raw.get("top", DEFAULT_TOP_AGE)
        if not _positive(top):
            self.fail("age.top", f"must be a positive integer, not {_shown(top)}")
        return AgeRule(column, top)

    def protections(self, age: AgeRule) -> list[Protection]:
        out = []
        for name, raw in self.mapping("quasi_identifiers", self.raw.get("quasi_identifiers"),
                                      "column: protection").items():
            item = f"quasi_identifiers.{name}"
            self.column(item, name)
            if isinstance(raw, str):
                raw = {"action": raw}
            if not isinstance(raw, dict):
                self.fail(item, "expected an action (keep, collapse, trim, …) or {action: …, groups: …}")
            for key in raw:
                if key not in ("action", "groups"):
                    self.fail(item, f"unknown setting {_shown(key)} (action, groups)")
            action = raw.get("action")
            if action not in ACTIONS:
                self.fail(item, f"unknown action {_shown(action)} (one of {', '.join(ACTIONS)})")
            groups = self.groups(item, name, action, raw.get("groups"))
            if action in CODED and self.types.get(name) not in (*NUMERIC_TYPES, None):
                self.fail(item, f"{action} needs a numeric column, not {self.types[name]}")
            if name != age.column:
                self.claim(item, name, "quasi_identifiers")
            out.append(Protection(name, action, groups))
        return out

    def groups(self, item: str, name: str, action: str, raw: Any) -> dict[str, list] | None:
        if action not in GROUPED:
            if raw is not None:
                self.fail(f"{item}.groups", f"groups go with collapse or group, not {action}")
            return None
        if not raw or not isinstance(raw, dict):
            self.fail(item, f"{action} needs groups: each new value and the values it stands for")
        known = {str(v) for v in self.values.get(name, [])} | {"None"}
        seen: dict[str, str] = {}
        out = {}
        for new, old in raw.items():
            old = list(old) if isinstance(old, list) else [old]
            for value in old:
                if name in self.values and str(value) not in known:
                    self.fail(f"{item}.groups", f"{_shown(value)} is not a value of {name}")
                if str(value) in seen:
                    self.fail(f"{item}.groups", f"{_shown(value)} is in two groups "
                                                f"({seen[str(value)]!r} and {str(new)!r})")
                seen[str(value)] = str(new)
            out[str(new)] = old
        return out

    def consent(self) -> tuple[ConsentRule | None, ConsentRule | None]:
        raw = self.mapping("consent", self.raw.get("consent"), "consent rules (no_sharing, no_commercial)")
        for key in raw:
            if key not in CONSENT:
                self.fail(f"consent.{key}", "unknown consent rule (no_sharing, no_commercial)")
        return tuple(self.consent_rule(name, raw.get(name)) for name in CONSENT)  # type: ignore[return-value]

    def consent_rule(self, name: str, raw: Any) -> ConsentRule | None:
        item = f"consent.{name}"
        if raw is None:
            return None
        raw = self.mapping(item, raw, "consent settings (column and refused, file, or none and reason)")
        for key in raw:
            if key not in CONSENT_SETTINGS:
                self.fail(f"{item}.{key}", f"unknown setting ({', '.join(CONSENT_SETTINGS)})")
        texts = {key: raw.get(key) for key in ("id_column", "sha256", "reason", "by", "when")}
        for key, value in texts.items():
            if value is not None and (not isinstance(value, str) or not value.strip()):
                self.fail(f"{item}.{key}", f"expected text, not {_shown(value)}")
        if raw.get("none") is not None:
            if raw["none"] is not True:
                self.fail(f"{item}.none", f"none: true states that nobody refused; not {_shown(raw['none'])}")
            if raw.get("column") is not None or raw.get("file") is not None:
                self.fail(item, "none: true says nobody refused; it goes without a column or a file")
            if not texts["reason"]:
                self.fail(f"{item}.reason", "say why nobody refused (silence is not consent)")
            return ConsentRule(none=True, reason=texts["reason"], by=texts["by"], when=texts["when"])
        if raw.get("column") is None and raw.get("file") is None:
            self.fail(item, "name a column (with its refused values), a file of the refusing participants' IDs, "
                            "or state none: true with a reason")
        column = self.column(f"{item}.column", raw["column"]) if raw.get("column") is not None else None
        refused = raw.get("refused")
        refused = [] if refused is None else refused if isinstance(refused, list) else [refused]
        if column is not None and not refused:
            self.fail(f"{item}.refused", f"list the values of {column} that mean refusal")
        file = raw.get("file")
        if file is not None and (not isinstance(file, str) or not file.strip() or file.startswith("/")
                                 or ".." in file.split("/")):
            self.fail(f"{item}.file", f"expected a path inside the trial's directory, not {_shown(file)}")
        for key in ("id_column", "sha256"):
            if texts[key] and file is None:
                self.fail(f"{item}.{key}", "goes with file")
        return ConsentRule(column, refused, file, texts["id_column"], texts["sha256"], False, texts["reason"],
                           texts["by"], texts["when"])


def load(metadata: dict[str, Any], columns: list[str]) -> ReleaseRules:
    """The ``release:`` rules of a trial's ``dataset.yaml``, checked against the data's ``columns``."""
    return Loader(metadata, columns).load()
