"""Versions: their immutable records, and reading their rows.

A version's record (``datasets/TRIAL/versions/vN.json``) is written once, in
the commit the version's tag points at: rows, fingerprint, and the MD5 and
digest of every Parquet part. Readers find the parts in the DVC cache by MD5,
fetching them from the remote when the cache lacks them, and can check them
against the record at any time.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
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
class VersionRecord:
    trial: str
    version: str
    created: str
    author: str
    message: str
    kind: str  # "delivery", "redelivery" or "correction"
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

    @property
    def number(self) -> int:
        return version_number(self.version)

    @property
    def participant_column(self) -> str:
        """The column naming the participant, which places rows in parts."""
        return self.participant or rowkey.columns(self.key)[0]

    def to_json(self) -> str:
        data = asdict(self)
        if data["participant"] is None:  # records of one-column keys read as they always did
            del data["participant"]
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> VersionRecord:
        data = json.loads(text)
        data["parts"] = [PartRecord(**p) for p in data["parts"]]
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
        """Check each part's MD5 and the whole fingerprint against the record."""
        from .verification import check_parts

        check_parts(self.record, self.files())
