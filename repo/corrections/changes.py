"""A change as a curator asks for it, and the version it is checked against (with what is staged on top)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..backends.columns import type_class
from .log import Correction


@dataclass(frozen=True)
class Change:
    """One change as a curator asks for it: values are text until checked against their column."""

    action: str  # update, remove, add, add_column
    reason: str
    key: str | list[str] | dict[str, str] | None = None  # texts a key column, for a composite key
    column: str | None = None
    value: str | None = None
    query: str | None = None
    record: dict[str, Any] | None = None  # add: the whole record, typed already (from a file)
    supplement: Path | None = None  # add_column: the file holding the key and the new variable
    where: str = ""  # "FILE, row N" when the change came from a file
    public_reason: str | None = None  # the reason as release notes may publish it (no identifiers)
    table: str | None = None  # another table of a trial of several; None: the participant table


@dataclass
class Current:
    """The version changes are checked against, and what is staged on top of it."""

    trial: str
    version: str
    key: Any  # a column, or the columns that together pick a row
    participant: str
    nparts: int
    schema: Any  # pyarrow.Schema
    files: dict[str, Path]
    dictionary: dict[str, dict[str, Any]]
    staged: list[Correction]
    tables: list[str] = field(default_factory=list)  # the trial's other tables, if any
    table: str | None = None  # the table changes are checked against; None: the participant table
    others: dict[str, Any] = field(default_factory=dict)  # of the participant table: the other tables' Versions

    def kind(self, column: str) -> str:
        return type_class(self.schema.field(column).type)

    def label(self, change: Change) -> str:
        return f"{change.where}: " if change.where else ""
