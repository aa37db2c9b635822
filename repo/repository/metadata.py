"""``dataset.yaml``, typed: read, checked and written in one place.

``dataset.yaml`` holds what a curator maintains about a trial: its name and
title, the participant key, the roles of columns (arm, randomisation date,
baseline variables, …), the design (planned allocation ratio, cut-off), the
partitioning, the deliveries received, the data dictionary (``columns``) and
the release rules (``release``, read in depth by ``release.ruleload``). The
file is hand-edited, so every read checks the shape of what ipd relies on and
names the key at fault in one line (``datasets/t/dataset.yaml: roles.arm must
be a column name, not 3``); keys ipd does not know are kept as they are.

``Metadata`` is the file's mapping (so it is written back with its keys in the
curator's order) with typed accessors for what ipd reads.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..backends import rowkey
from ..backends.rowkey import Key
from ..errors import InvalidInput

TEXT_KEYS = ("trial", "participant", "participant_table", "title", "notes", "license")
LISTED_ROLES = ("baseline", "events")  # roles that may name several columns
CODED_ROLES = ("status",)  # roles that may say which of their column's values are events: {column: c, event: [2]}


class Metadata(dict):
    """The mapping of a trial's ``dataset.yaml``, checked when read (``parse``) and before it is written (``dump``)."""

    @classmethod
    def parse(cls, text: str, source: str) -> Metadata:
        """The file's text, parsed and checked; ``source`` names it in errors."""
        try:
            data = _load(text)
        except yaml.YAMLError as exc:
            raise InvalidInput(f"{source}: not valid YAML ({' '.join(str(exc).split())})") from exc
        if not isinstance(data, dict):
            raise InvalidInput(f"{source}: expected a mapping of settings")
        return cls(data).checked(source)

    def dump(self, source: str = "dataset.yaml") -> str:
        """The text to write: what ``parse`` reads back as it is."""
        self.checked(source)
        return yaml.safe_dump(dict(self), sort_keys=False, allow_unicode=True, width=100)

    def checked(self, source: str) -> Metadata:
        """Raise InvalidInput naming the first key whose value ipd cannot use."""
        for name in TEXT_KEYS:
            _expect(source, name, self.get(name), str, "text", optional=True)
        _check_key(source, self.get("key"), self.get("participant"))
        tables = _expect(source, "tables", self.get("tables"), dict, "a mapping of table name to its key and columns",
                         optional=True)
        for name, entry in (tables or {}).items():
            _expect(source, f"tables.{name}", entry, dict, "a mapping of the table's key, participant and columns")
            if entry.get("key") is None:
                _fail(source, f"tables.{name}.key", None, "the table's key column(s)")
            _check_key(source, entry.get("key"), entry.get("participant"), f"tables.{name}.")
            events = _expect(source, f"tables.{name}.events", entry.get("events"), list,
                             "a list of the table's date columns", optional=True)
            for i, column in enumerate(events or []):
                _expect(source, f"tables.{name}.events[{i}]", column, str, "a column name")
        roles = _expect(source, "roles", self.get("roles"), dict, "a mapping of role to column", optional=True)
        for role, named in (roles or {}).items():
            if role in LISTED_ROLES and isinstance(named, list):
                for i, column in enumerate(named):
                    _expect(source, f"roles.{role}[{i}]", column, str, "a column name")
            elif role in CODED_ROLES and isinstance(named, dict):
                _check_coded(source, role, named)
            else:  # one column; a listed role may name just one
                _expect(source, f"roles.{role}", named, str, "a column name")
        _expect(source, "design", self.get("design"), dict, "a mapping", optional=True)
        partitioning = _expect(source, "partitioning", self.get("partitioning"), dict, "a mapping", optional=True)
        if partitioning is not None:
            parts = partitioning.get("parts")
            if not isinstance(parts, int) or isinstance(parts, bool) or parts < 1:
                _fail(source, "partitioning.parts", parts, "a whole number of parts, at least 1")
        for i, delivery in enumerate(_expect(source, "deliveries", self.get("deliveries"), list, "a list",
                                             optional=True) or []):
            _expect(source, f"deliveries[{i}]", delivery, dict, "a mapping")
        for i, entry in enumerate(_expect(source, "columns", self.get("columns"), list, "a list of column entries",
                                          optional=True) or []):
            _expect(source, f"columns[{i}]", entry, dict, "a column entry (a mapping)")
            _expect(source, f"columns[{i}].name", entry.get("name"), str, "the column's name")
        _expect(source, "release", self.get("release"), dict, "a mapping of release rules", optional=True)
        return self

    # -- what ipd reads ------------------------------------------------------------------------------

    @property
    def trial(self) -> str | None:
        return self.get("trial")

    @property
    def key(self) -> Key | None:
        """The key: the participant column, or the columns that together name a row (``[id, visit]``)."""
        return self.get("key")

    @property
    def participant(self) -> str | None:
        """The participant column: as declared, else a one-column key."""
        return participant_of(self.get("key"), self.get("participant"))

    @property
    def participant_table(self) -> str | None:
        """Of a trial of several tables: the table of one row a participant (randomisation, arm), which the
        key, roles and columns above describe."""
        return self.get("participant_table")

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        """The trial's other tables: name -> its key, participant column, parts and columns (dictionary)."""
        return self.get("tables") or {}

    @property
    def title(self) -> str | None:
        return self.get("title")

    @property
    def roles(self) -> dict[str, Any]:
        """Role -> column (``arm``, ``randomised``, …) or columns (``baseline``, ``events``); a status
        declared with its event codes gives its column here (``event_codes`` reads the codes)."""
        return role_columns(self.get("roles") or {})

    @property
    def design(self) -> dict[str, Any]:
        return self.get("design") or {}

    @property
    def parts(self) -> int | None:
        """How many Parquet parts the trial's rows are split into, fixed at its first delivery."""
        return (self.get("partitioning") or {}).get("parts")

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        return self.get("deliveries") or []

    @property
    def columns(self) -> list[dict[str, Any]]:
        """The data dictionary: one entry a column, in the data's order."""
        return self.get("columns") or []

    def column(self, name: str) -> dict[str, Any] | None:
        """The dictionary entry of column ``name``."""
        return next((entry for entry in self.columns if entry.get("name") == name), None)

    @property
    def release(self) -> dict[str, Any] | None:
        """The ``release:`` rules as written (``release.ruleload.load`` checks them against the data)."""
        return self.get("release")


def _load(text: str) -> Any:
    """libyaml's parser where PyYAML has it (the dictionary of a 5,000-column trial takes 4 s in pure
    Python); PyYAML's own for the message when the text is not valid YAML."""
    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return yaml.safe_load(text)  # raises again, with PyYAML's message


def participant_of(key: Key | None, declared: str | None) -> str | None:
    """The participant column of a key: the one declared, else the key's only column (a composite key
    must say which of its columns names the participant)."""
    if declared or key is None:
        return declared
    return key if isinstance(key, str) else (key[0] if len(key) == 1 else None)


def _check_key(source: str, key: Any, participant: Any, prefix: str = "") -> None:
    if key is None:
        return
    if isinstance(key, list):
        if not key or not all(isinstance(c, str) for c in key) or len(set(key)) < len(key):
            _fail(source, f"{prefix}key", key, "a column name or a list of different column names")
        if len(key) > 1 and participant is None:
            _fail(source, f"{prefix}participant", None, f"the participant column, one of the key's {', '.join(key)}")
    elif not isinstance(key, str):
        _fail(source, f"{prefix}key", key, "a column name or a list of column names")
    if participant is not None and participant not in rowkey.columns(key):
        _fail(source, f"{prefix}participant", participant,
              f"one of the key's columns ({', '.join(rowkey.columns(key))})")


def role_columns(roles: dict[str, Any]) -> dict[str, Any]:
    """Role -> the column(s) it names, as written in ``roles:``, with a status's event codes set aside."""
    return {role: named.get("column") if role in CODED_ROLES and isinstance(named, dict) else named
            for role, named in roles.items()}


def event_codes(roles: dict[str, Any]) -> list[Any] | None:
    """The values of the status column that are events (``status: {column: c, event: [2]}``), None for a 0/1
    or boolean status, where true is the event."""
    status = roles.get("status")
    return list(status["event"]) if isinstance(status, dict) and isinstance(status.get("event"), list) else None


def _check_coded(source: str, role: str, named: dict[str, Any]) -> None:
    _expect(source, f"roles.{role}.column", named.get("column"), str, "a column name")
    codes = named.get("event")
    if not isinstance(codes, list) or not codes or \
            not all(isinstance(c, (str, int)) and not isinstance(c, bool) for c in codes):
        _fail(source, f"roles.{role}.event", codes, "a list of the values that are events (e.g. [2])")
    unknown = set(named) - {"column", "event"}
    if unknown:
        raise InvalidInput(f"{source}: roles.{role} has {', '.join(sorted(map(str, unknown)))}: "
                           "a coded role names its column and event codes only")


def _expect(source: str, name: str, value: Any, kind: type, what: str, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, kind) or (kind is str and not value.strip()):
        _fail(source, name, value, what)
    return value


def _fail(source: str, name: str, value: Any, what: str) -> None:
    shown = "nothing" if value is None else repr(value) if not isinstance(value, (dict, list)) else \
        f"a {'mapping' if isinstance(value, dict) else 'list'}"
    raise InvalidInput(f"{source}: {name} must be {what}, not {shown}")
