"""What a release reads of a version: one row a participant, and the records beside it.

The NHLBI rules, the minimum cell and the risk figures count participants, so
de-identification works on a table of one row a participant. A trial of one
row a participant is that table already. A trial of several tables has it (the
participant table), and each other table holds *records* of participants
(visits, events, laboratory values). A trial of several rows a participant in
one table (one row an infection episode) is split: the columns that are the
same on all of a participant's rows (arm, randomisation, baseline) make the
participant view, and the columns that vary, with the key, are its records;
the release joins them back into one row a record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.columns import quote
from ..backends.sql import connect

if TYPE_CHECKING:
    from collections.abc import Callable

    import pyarrow as pa

    from ..backends.sql import Connection
    from ..repository.metadata import Metadata
    from ..repository.records import Version

JOINED = ""  # the name of the records of a one-table trial of several rows a participant


@dataclass(frozen=True)
class Records:
    """Records of participants beside the participant table, released under the participant's release ID."""

    name: str  # the table's name, or JOINED: the varying columns of a one-table trial, joined back on release
    table: pa.Table
    participant: str  # the column naming the participant
    key: list[str]  # the table's key, in order: its rows are released in that order within a participant
    columns: list[dict[str, Any]] = field(default_factory=list)  # the table's dictionary entries
    order: list[str] = field(default_factory=list)  # JOINED: every column of the trial's rows, as delivered

    @property
    def categorical(self) -> set[str]:
        return {c["name"] for c in self.columns if c.get("values")}

    def prefix(self, column: str) -> str:
        """How the plan and the modification log name one of its columns."""
        return column if self.name == JOINED else f"{self.name}.{column}"


@dataclass(frozen=True)
class Shape:
    participants: pa.Table  # one row a participant
    metadata: Metadata  # the trial's, with the dictionary of the participant columns only
    records: list[Records]

    @property
    def joined(self) -> bool:
        return any(r.name == JOINED for r in self.records)

    def column_names(self) -> list[str]:
        """Every column the release rules may name: of the participants and of their records."""
        names = list(self.participants.column_names)
        for r in self.records:
            names += [c for c in r.table.column_names if c not in names]
        return names


def read(version: Version, metadata: Metadata) -> Shape:
    """The version as a release reads it (``metadata``: the plan's, of the participant table)."""
    return of(version.to_arrow(), metadata, lambda name: version.table(name).to_arrow())


def of(table: pa.Table, metadata: Metadata, other: Callable[[str], pa.Table]) -> Shape:
    """``table`` (the participant table's rows, or the trial's) as a release reads it; ``other`` reads the rows
    of another table of the trial by name."""
    from ..repository.metadata import Metadata

    key = rowkey.columns(metadata.key or [])
    if metadata.tables:
        records = [Records(name, other(name), _participant(entry), rowkey.columns(entry["key"]),
                           list(entry.get("columns") or [])) for name, entry in metadata.tables.items()]
        return Shape(table, metadata, records)
    if not rowkey.composite(metadata.key or []):
        return Shape(table, metadata, [])
    participant = metadata.participant or key[0]
    con = connect()
    con.register("t", table)
    same = same_on_every_row(con, table, participant, key)
    view = _one_row_each(con, table, participant, same, key)
    varying = [c for c in table.column_names if c == participant or c not in same]
    records = Records(JOINED, table.select(varying), participant, key,
                      [c for c in metadata.columns if c.get("name") in varying], table.column_names)
    kept = Metadata({**metadata, "key": participant,
                     "columns": [c for c in metadata.columns if c.get("name") in same]})
    return Shape(view, kept, [records])


def _participant(entry: dict[str, Any]) -> str:
    from ..repository.metadata import participant_of

    return participant_of(entry.get("key"), entry.get("participant"))


def same_on_every_row(con: Connection, table: pa.Table, participant: str, key: list[str]) -> list[str]:
    """The columns (participant first) whose value, missing or not, is the same on all of each participant's rows
    of ``table`` (registered as ``t`` on ``con``); the rest of the key is not among them, whatever its values."""
    candidates = [c for c in table.column_names if c != participant and c not in key]
    if not candidates:
        return [participant]
    per_participant = ", ".join(
        f"count(DISTINCT {quote(c)}) + (count({quote(c)}) BETWEEN 1 AND count(*) - 1)::INT <= 1 AS {quote(c)}"
        for c in candidates)
    every = ", ".join(f"coalesce(bool_and({quote(c)}), TRUE)" for c in candidates)
    flags = con.sql(f"SELECT {every} FROM (SELECT {per_participant} FROM t GROUP BY {quote(participant)})"
                    ).fetchall()[0]
    return [participant, *(c for c, same in zip(candidates, flags) if same)]


def _one_row_each(con: Connection, table: pa.Table, participant: str, columns: list[str], key: list[str]) -> pa.Table:
    """``columns`` of each participant's first row by key: the same on all its rows, so any would do."""
    order = ", ".join(quote(c) for c in key)
    selected = ", ".join(quote(c) for c in columns)
    return con.sql(f"SELECT {selected} FROM (SELECT *, row_number() OVER (PARTITION BY {quote(participant)} "
                   f"ORDER BY {order}) AS __n FROM t) WHERE __n = 1 ORDER BY {quote(participant)}"
                   ).to_arrow_table().cast(table.select(columns).schema).combine_chunks()
