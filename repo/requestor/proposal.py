"""Proposed queries: what a release holder found in the release they hold, written for the curator.

A holder knows release IDs and released values only, so a finding names a
record by its release ID (and, where a participant has several records, the
rest of the record's key as released), a column as released, and a value on
the released scale. The file names the release exactly (trial, version, tier,
issue, fingerprint and the SHA-256 of its manifest) and the requestor, and
carries a SHA-256 of its own content, so the curator's ``ipd query import``
knows which release it speaks of and that nothing was changed on the way.
Findings are checked against the holder's copy before they are written (the
release ID, the record and the column are there; the value fits the column),
and several findings, written one command at a time, gather in one file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..backends import clock
from ..backends.hashing import sha256_of
from ..errors import InvalidInput
from ..release import package
from ..release.modification import RELEASE_ID
from .pin import Pin, read_pin

FORMAT = "ipd-query-proposal"
VERSION = 1


@dataclass(frozen=True)
class Finding:
    """One finding: about a record (``release_id``, and ``record`` where a participant has several), one of its
    values (``column``, a ``value`` proposed on the released scale), or a variable the release lacks."""

    text: str
    release_id: str | None = None
    column: str | None = None
    value: str | None = None
    table: str | None = None  # another table of the trial, as released (TRIAL.TABLE.*)
    record: dict[str, str] | None = None  # the rest of the record's key: column -> value as released
    request_variable: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Finding:
        return cls(**data)


@dataclass(frozen=True)
class Release:
    trial: str
    version: str
    tier: str
    issue: int
    fingerprint: str  # of the released rows, as the release record says
    manifest_sha256: str

    @property
    def label(self) -> str:
        issue = f", issue {self.issue}" if self.issue > 1 else ""
        return f"{self.trial}@{self.version} ({self.tier} release{issue})"


@dataclass(frozen=True)
class Proposal:
    release: Release
    requestor: str
    created: str
    findings: list[Finding] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"proposal": FORMAT, "format": VERSION, "release": asdict(self.release), "requestor": self.requestor,
                "created": self.created, "findings": [f.to_json() for f in self.findings]}

    def digest(self) -> str:
        """SHA-256 over the canonical JSON of the proposal: the file states it, the import checks it."""
        text = json.dumps(self.body(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def to_json(self) -> str:
        return json.dumps({**self.body(), "sha256": self.digest()}, indent=2, ensure_ascii=False) + "\n"


def read(path: Path) -> Proposal:
    """A proposal file, whole and unchanged since ``ipd query propose`` wrote it; anything else is one line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"{path}: not a query proposal ({' '.join(str(exc).split())})") from exc
    if not isinstance(data, dict) or data.get("proposal") != FORMAT:
        raise InvalidInput(f"{path}: not a query proposal written by `ipd query propose`")
    if data.get("format") != VERSION:
        raise InvalidInput(f"{path}: proposal format {data.get('format')!r}; this ipd reads format {VERSION}")
    try:
        proposal = Proposal(Release(**data["release"]), str(data["requestor"]), str(data["created"]),
                            [Finding.from_json(f) for f in data["findings"]])
    except (KeyError, TypeError) as exc:
        raise InvalidInput(f"{path}: a query proposal with a missing or unknown field ({exc})") from exc
    if data.get("sha256") != proposal.digest():
        raise InvalidInput(f"{path}: its content does not match its SHA-256: the file was changed after `ipd query "
                           "propose` wrote it")
    return proposal


def propose(directory: Path, findings: list[Finding], out: Path, requestor: str) -> Proposal:
    """Check ``findings`` against the release in ``directory`` and add them to the proposal file ``out`` (created,
    or extended when it proposes against the same release); the file is replaced whole."""
    pin = read_pin(directory)
    if not pin.tier:
        raise InvalidInput(f"{directory} holds {pin.label}, a version: proposals are made against a release "
                           "(`ipd pull TRIAL@vN --tier …`)")
    if not findings:
        raise InvalidInput("nothing to propose: give --id (with --text) or --request-variable, or --file")
    release = Release(pin.trial, pin.version, pin.tier, pin.issue, pin.fingerprint,
                      sha256_of(directory / package.MANIFEST))
    copy = _Copy(directory, pin)
    for finding in findings:
        copy.check(finding)
    if not requestor.strip():
        raise InvalidInput("say who proposes: --requestor 'Name <e-mail>' (the curator credits and answers them)")
    proposal = Proposal(release, requestor.strip(), clock.now(), [])
    if out.exists():
        proposal = read(out)
        if proposal.release != release:
            raise InvalidInput(f"{out} proposes against {proposal.release.label}, not {release.label}: write these "
                               "findings to another file")
        if proposal.requestor != requestor.strip():
            raise InvalidInput(f"{out} is {proposal.requestor}'s proposal: write yours to another file")
    made = Proposal(release, requestor.strip(), proposal.created, [*proposal.findings, *findings])
    partial = out.with_name(f".{out.name}.partial")
    partial.write_text(made.to_json(), encoding="utf-8")
    os.replace(partial, out)
    return made


class _Copy:
    """The holder's copy of the release: its tables' rows, read once each."""

    def __init__(self, directory: Path, pin: Pin) -> None:
        self.directory, self.pin = directory, pin
        self.tables: dict[str, Any] = {}

    def rows(self, table: str | None):
        name = package.data_names(self.pin.trial, table or "")["parquet"]
        if name not in self.tables:
            from ..backends import parquet

            path = self.directory / name
            if not path.is_file():
                what = f"no table {table!r}" if table else f"no {name}"
                raise InvalidInput(f"{self.directory} has {what}: the release's tables are "
                                   f"{', '.join(package.other_tables(self.pin.trial, self.pin.files)) or 'none'}")
            self.tables[name] = parquet.read(path)
        return name, self.tables[name]

    def check(self, finding: Finding) -> None:
        if not finding.text.strip():
            raise InvalidInput("a finding needs --text: what was found, and why it looks wrong")
        if finding.request_variable is not None:
            self._check_request(finding.request_variable)
            return
        if not finding.release_id:
            raise InvalidInput("name the record with --id RELEASE_ID (or ask for a variable with --request-variable)")
        name, rows = self.rows(finding.table)
        if finding.column is not None and (finding.column not in rows.column_names or finding.column == RELEASE_ID):
            raise InvalidInput(f"{self.directory / name} has no column {finding.column!r}")
        if finding.value is not None and finding.column is None:
            raise InvalidInput("--value needs --column: the value proposed for which variable?")
        matching = _matching(rows, finding)
        label = finding.release_id + "".join(f", {k}={v}" for k, v in (finding.record or {}).items())
        if matching == 0:
            raise InvalidInput(f"{self.directory / name} has no record {label}")
        if matching > 1:
            raise InvalidInput(f"{self.directory / name} has {matching} records of {label}: name one with --record "
                               "COLUMN=VALUE (the rest of its key)")
        if finding.value is not None and finding.value != "":
            _check_value(rows, finding.column, finding.value, self.directory / name)

    def _check_request(self, variable: str) -> None:
        for table in [None, *package.other_tables(self.pin.trial, self.pin.files)]:
            name, rows = self.rows(table)
            if variable in rows.column_names:
                raise InvalidInput(f"{self.directory / name} holds {variable} already")


def _matching(rows, finding: Finding) -> int:
    import pyarrow.compute as pc

    mask = pc.equal(rows[RELEASE_ID], finding.release_id)
    for column, value in (finding.record or {}).items():
        if column not in rows.column_names:
            raise InvalidInput(f"--record {column}={value}: the release has no column {column!r}")
        mask = pc.and_(mask, pc.equal(pc.cast(rows[column], "string"), value))
    return int(pc.sum(pc.cast(mask, "int64")).as_py() or 0)


def _check_value(rows, column: str, value: str, path: Path) -> None:
    import pyarrow as pa

    kind = rows.schema.field(column).type
    try:
        pa.array([value], pa.string()).cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(f"--value {value!r} is not a value of {column} ({kind}) in {path}") from exc


def requestor_identity() -> str:
    """The requestor as git knows them (user.name and user.email), or "" when git does not."""
    import subprocess

    def get(key: str) -> str:
        found = subprocess.run(["git", "config", "--get", key], capture_output=True, text=True, check=False)
        return found.stdout.strip()

    name, email = get("user.name"), get("user.email")
    return f"{name} <{email}>" if name and email else name


CSV_COLUMNS = ("release_id", "column", "text", "value", "table", "record", "request_variable")


def findings_from_csv(path: Path) -> list[Finding]:
    """Findings from a CSV file with a header of some of ``CSV_COLUMNS`` (text required); ``record`` holds the rest
    of a record's key as ``enum=2`` (several joined with ``;``). An empty field is no value."""
    import csv

    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InvalidInput(f"{path}: not a CSV file of findings ({' '.join(str(exc).split())})") from exc
    if not rows:
        raise InvalidInput(f"{path}: no findings (a header of {', '.join(CSV_COLUMNS)}, then a row a finding)")
    unknown = [c for c in rows[0] if c not in CSV_COLUMNS]
    if unknown or "text" not in rows[0]:
        raise InvalidInput(f"{path}: the header must name text and some of {', '.join(CSV_COLUMNS)} "
                           f"({'unknown: ' + ', '.join(unknown) if unknown else 'no text column'})")
    found = []
    for line, row in enumerate(rows, start=2):
        cells = {k: (v if v != "" else None) for k, v in row.items() if k in CSV_COLUMNS}
        try:
            record = parse_record(cells.pop("record", None) or "")
        except InvalidInput as exc:
            raise InvalidInput(f"{path}, line {line}: {exc}") from exc
        found.append(Finding(**{**cells, "text": cells.get("text") or "", "record": record}))
    return found


def parse_record(text: str | list[str]) -> dict[str, str] | None:
    """``enum=2`` (or ``enum=2;visit=3``, or a list of such) as {column: value}; None for nothing."""
    parts = [p for item in ([text] if isinstance(text, str) else text) for p in item.split(";") if p.strip()]
    record = {}
    for part in parts:
        column, sep, value = part.partition("=")
        if not sep or not column.strip():
            raise InvalidInput(f"record {part!r}: write the rest of the record's key as COLUMN=VALUE")
        record[column.strip()] = value.strip()
    return record or None
