"""The correction log and the staging area: one JSON object a line.

``datasets/TRIAL/corrections.jsonl`` (in git) is append-only: an entry is
written when the version applying it is cut, and never edited; undoing a
correction is a new correction. ``datasets/TRIAL/staged.jsonl`` (ignored by
git, like an index) holds what the curator has staged for the next version.

An entry is one of four actions:

- ``update``: ``column`` of the record ``key`` goes from ``old`` to ``new``;
- ``remove``: the record ``key`` is removed (``old`` is the whole record);
- ``add``: the record ``key`` is added (``new`` is the whole record);
- ``add_column``: the variable ``column`` is added; ``new`` describes the file the
  trialists supplied it in (kept under ``source/``), its type and its rows.

Values are logged as JSON in their logical type (see ``values``). The
``reason`` is restricted: it may quote identifiers. ``public_reason``, when a
curator gave one, is the wording of it that release notes may publish; an
entry without it is written without the field, so logs from before it read,
and hash, as they always did.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import InvalidInput

ACTIONS = ("update", "remove", "add", "add_column")


@dataclass(frozen=True)
class Correction:
    id: str  # "c12" once in the log; "s3" while staged
    action: str
    key: Any  # the participant key as in the data; None for add_column
    column: str | None
    old: Any
    new: Any
    reason: str
    query: str | None
    author: str
    time: str  # when it was staged
    base: str  # the version the old value was read from
    version: str | None = None  # the version that applied it; None while staged
    applied: str | None = None  # when that version was cut
    public_reason: str | None = None  # the reason as release notes may publish it; None: not publishable
    table: str | None = None  # another table of a trial of several; None: the participant table

    def to_line(self) -> str:
        data = asdict(self)
        for optional in ("public_reason", "table"):  # the line of an entry without one is the line it always was
            if data[optional] is None:
                del data[optional]
        return json.dumps(data, ensure_ascii=False, sort_keys=False) + "\n"

    def applied_as(self, number: int, version: str, when: str) -> Correction:
        return replace(self, id=f"c{number}", version=version, applied=when)

    @property
    def cell(self) -> tuple[Any, str | None]:
        return (self.key, self.column)

    def describe(self) -> str:
        """One line for listings and errors."""
        where = f"table {self.table}: " if self.table else ""
        if self.action == "update":
            return f"{where}{self.key}/{self.column}: {self.old!r} -> {self.new!r}"
        if self.action == "add_column":
            return f"new variable {self.column} ({self.new.get('type')}, {self.new.get('rows')} values)"
        return f"{where}{self.action} record {self.key!r}"


def parse(text: str, source: str) -> list[Correction]:
    """Entries from JSON lines; a bad line is named by file and line number."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entry = Correction(**{**data, "key": tuple(data["key"]) if isinstance(data.get("key"), list)
                                  else data.get("key")})  # a composite key, hashable
        except (json.JSONDecodeError, TypeError) as exc:
            raise InvalidInput(f"{source}, line {number}: not a correction entry ({exc})") from exc
        if entry.action not in ACTIONS:
            raise InvalidInput(f"{source}, line {number}: unknown action {entry.action!r}")
        entries.append(entry)
    return entries


def read(path: Path) -> list[Correction]:
    if not path.is_file():
        return []
    return parse(path.read_text(encoding="utf-8"), _label(path))


def _label(path: Path) -> str:
    return "/".join(path.parts[-3:])


def append(path: Path, entries: list[Correction]) -> None:
    """Append whole lines; the log is never rewritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(entry.to_line())


def write_staged(path: Path, entries: list[Correction]) -> None:
    """Replace the staging area (it is not a log: drops rewrite it)."""
    if not entries:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(e.to_line() for e in entries), encoding="utf-8")
    tmp.replace(path)


def next_number(entries: list[Correction], prefix: str) -> int:
    numbers = [int(e.id[len(prefix):]) for e in entries if e.id.startswith(prefix) and e.id[len(prefix):].isdigit()]
    return max(numbers, default=0) + 1


def applied_in(entries: list[Correction], version: str) -> list[Correction]:
    return [e for e in entries if e.version == version]


def line_sha256(line: str) -> str:
    """The SHA-256 of one log line as written (without its newline): PROV records name entries by it."""
    import hashlib

    return hashlib.sha256(line.rstrip("\n").encode("utf-8")).hexdigest()


def entries_sha256(entries: list[Correction]) -> str:
    """``ipd:entriesSha256`` of a version's PROV record: ``c1:<sha256 of c1's line>,c2:…``, in log order."""
    return ",".join(f"{e.id}:{line_sha256(e.to_line())}" for e in entries)
