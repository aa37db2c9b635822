"""Versions: their immutable records, and reading their rows.

A version's record (``datasets/TRIAL/versions/vN.json``) is written once, in
the commit the version's tag points at: rows, fingerprint, and the MD5 and
digest of every Parquet part. Readers find the parts in the DVC cache by MD5,
fetching them from the remote when the cache lacks them, and can check them
against the record at any time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import parquet, rowkey, storage
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..errors import IntegrityError, NotFound
from . import layout
from .refs import tag_name, version_number

if TYPE_CHECKING:
    import pandas
    import pyarrow

    from ..backends.sql import Connection, Relation
    from . import Repository


@dataclass(frozen=True)
class PartRecord:
    name: str
    md5: str
    size: int
    rows: int
    sum: str  # the part's row-hash sum, hex: see fingerprint.py


@dataclass(frozen=True)
class TableRecord:
    """A table of a trial of several tables besides the participant table (visits, events, labs), as a
    version holds it: its own key (with the participant column), columns, rows, parts and fingerprint."""

    name: str
    key: Key
    participant: str
    nparts: int
    columns: list[str]
    rows: int
    fingerprint: str
    parts: list[PartRecord]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableRecord:
        return cls(**{**data, "parts": [PartRecord(**p) for p in data["parts"]]})


@dataclass(frozen=True)
class VersionRecord:
    trial: str
    version: str
    created: str
    author: str
    message: str
    kind: str  # "delivery", "redelivery", "correction" or "pooled" (a topic's)
    parent: str | None
    rows: int
    columns: list[str]
    fingerprint: str
    key: Key  # a column, or the columns that together name a row
    nparts: int
    parts: list[PartRecord]
    delivery: dict[str, Any] | None = None
    tool: dict[str, str] = field(default_factory=dict)
    corrections: list[str] = field(default_factory=list)  # ids of the log entries this version applied
    changes: dict[str, Any] | None = None  # against the parent: cells, added, removed, columns_added
    override: dict[str, Any] | None = None  # new check failures the curator accepted: who, why, which
    participant: str | None = None  # of a composite key; a one-column key is the participant's
    # How ipd read deliveries when the version was cut (``formats.READER``): 2 makes float columns of whole
    # numbers integers; 1, the records written before this field, read them as typed. A rebuild reads the
    # version's delivery with this reader, so the bytes come out as stored.
    reader: int = 1
    # A trial of several tables: the participant table's name (the rows above are its) and the others.
    participant_table: str | None = None
    tables: list[TableRecord] = field(default_factory=list)
    # A topic's pooled version (kind "pooled"): each trial version and mapping it was pooled from
    # ({trial, version, fingerprint, mapping, mapping_sha256}); none for a trial's versions.
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def number(self) -> int:
        return version_number(self.version)

    @property
    def table_names(self) -> list[str]:
        """Every table of the version, the participant table first (``""`` for a trial of one table)."""
        return [self.participant_table or "", *(t.name for t in self.tables)]

    def table(self, name: str) -> VersionRecord:
        """Table ``name`` seen as a version of its own (the same trial and version): what reads, checks,
        diffs and verifies a version's rows reads, checks, diffs and verifies a table's."""
        if not name or name == self.participant_table:
            return replace(self, tables=[])
        found = next((t for t in self.tables if t.name == name), None)
        if found is None:
            known = ", ".join(n for n in self.table_names if n)
            raise NotFound(f"{self.trial}@{self.version} has no table {name!r}" + (f"; its tables are {known}"
                                                                                  if known else ""))
        return replace(self, key=found.key, participant=found.participant, nparts=found.nparts,
                       columns=found.columns, rows=found.rows, fingerprint=found.fingerprint, parts=found.parts,
                       participant_table=None, tables=[], changes=None)

    @property
    def identity(self) -> tuple:
        """What makes two versions' rows the same: every table's fingerprint."""
        return (self.fingerprint, *((t.name, t.fingerprint) for t in self.tables))

    @property
    def participant_column(self) -> str:
        """The column naming the participant, which places rows in parts."""
        return self.participant or rowkey.columns(self.key)[0]

    def to_json(self) -> str:
        data = asdict(self)
        # records of one table, one-column keys and no sources read as they always did
        for optional in ("participant", "participant_table", "tables", "sources"):
            if not data[optional]:
                del data[optional]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> VersionRecord:
        data = json.loads(text)
        data["parts"] = [PartRecord(**p) for p in data["parts"]]
        data["tables"] = [TableRecord.from_json(t) for t in data.get("tables", [])]
        return cls(**data)

    def summary(self) -> dict[str, Any]:
        """The fields ``ipd log --json`` promises."""
        return {"version": self.version, "fingerprint": self.fingerprint, "rows": self.rows,
                "created": self.created, "author": self.author, "message": self.message,
                "kind": self.kind}


class Version:
    """One version of one trial in a repository, for reading."""

    def __init__(self, repo: Repository, record: VersionRecord) -> None:
        self.repo = repo
        self.record = record

    def __repr__(self) -> str:
        return f"<Version {self.record.trial}@{self.record.version} rows={self.record.rows}>"

    @property
    def tag(self) -> str:
        return tag_name(self.record.trial, self.record.version)

    def commit(self) -> str:
        """The commit of this version: its tag, or (in a clone without tags) the commit adding its record."""
        commit = self.repo.scm.tags(self.tag).get(self.tag)
        path = layout.trial(self.record.trial).version_record(self.record.version)
        commit = commit or self.repo.scm.commit_adding(path)
        if commit is None:
            raise NotFound(f"{self.record.trial}@{self.record.version} has no commit in {self.repo.root}")
        return commit

    def files(self) -> list[Path]:
        """Local paths of this version's parts, fetched into the DVC cache if missing."""
        root = self.repo.root
        paths = [storage.cache_path(root, p.md5) for p in self.record.parts]
        if not all(p.exists() for p in paths):
            storage.fetch(root, [p.md5 for p in self.record.parts])
        missing = [p.name for p, path in zip(self.record.parts, paths) if not path.exists()]
        if missing:
            raise IntegrityError(
                f"{self.record.trial}@{self.record.version}: {len(missing)} part(s) are in neither the "
                f"DVC cache nor the remote, e.g. {missing[0]}"
            )
        return paths

    def part_files(self) -> dict[str, Path]:
        """Part name -> its local path (fetched if missing)."""
        return {part.name: path for part, path in zip(self.record.parts, self.files())}

    def to_arrow(self, columns: list[str] | None = None) -> pyarrow.Table:
        """The version's rows (only ``columns``, when given)."""
        import pyarrow as pa

        return pa.concat_tables([parquet.read(p, columns=columns) for p in self.files()])

    def to_pandas(self) -> pandas.DataFrame:
        return self.to_arrow().to_pandas()

    def duckdb(self, con: Connection | None = None) -> Relation:
        """A DuckDB relation over the parts, read lazily by DuckDB itself."""
        con = con or connect()
        return con.read_parquet([str(p) for p in self.files()])

    def verify(self) -> None:
        """Check each part's MD5 and the whole fingerprint against the record, for every table."""
        from .verification import check_parts

        for name in self.record.table_names:
            table = self.table(name)
            check_parts(table.record, table.files())

    def table(self, name: str) -> Version:
        """Table ``name`` of this version (``""`` or the participant table's name: the version itself)."""
        return Version(self.repo, self.record.table(name))
