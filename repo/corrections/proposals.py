"""A release holder's proposed queries, imported by the curator as ordinary queries.

The proposal (``requestor.proposal``) names a release, its manifest's SHA-256,
records by release ID and values as released. Importing it checks that this
repository made that very release, maps each release ID through the restricted
linkage to the participant, and each released value back to the stored scale
where that is exact: a value released as it is, or days released relative to
the participant's reference date (the date is the reference plus the days). A
value the release generalised, coded or shifted does not map back exactly; the
query keeps the value as proposed and says so. Every finding becomes one query,
attributed to the requestor (``Query.origin``), in one commit of the query log;
a request for a variable the release lacks becomes a query about no record.
Nothing is written anywhere else, least of all to the catalogue; importing a
file twice is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.columns import DATE, DATETIME, quote, type_class
from ..backends.sql import connect
from ..backends.values import to_json
from ..errors import IntegrityError, InvalidInput, NotFound
from ..release import ids, package
from ..release.modification import RELEASE_ID
from ..release.record import ReleaseRecord, records
from ..repository import layout
from .queries import Ask, Query, open_queries

if TYPE_CHECKING:
    import pyarrow as pa

    from ..repository import Repository
    from ..repository.records import Version
    from ..requestor.proposal import Finding, Proposal


@dataclass(frozen=True)
class Imported:
    release: str  # the release's label
    requestor: str
    queries: list[Query]


def import_proposal(repo: Repository, path: Path) -> Imported:
    """Open a query for each finding of the proposal file at ``path``, or none (a one-line error)."""
    from ..requestor.proposal import read

    proposal = read(path)
    release = _release(repo, path, proposal)
    mapper = _Mapper(repo, path, release, proposal.release.label)
    asks = [mapper.ask(i, finding, proposal) for i, finding in enumerate(proposal.findings, start=1)]
    digest = proposal.digest()

    def not_twice(current: list[Query]) -> None:
        done = [q.id for q in current if (q.origin or {}).get("proposal") == digest]
        if done:
            raise InvalidInput(f"{path} was imported already ({', '.join(done)})")

    label = proposal.release.label
    opened = open_queries(repo, release.trial, asks, release.version,
                          f"{{count}} queries proposed by a holder of {label} ({{first}}…)", not_twice)
    return Imported(label, proposal.requestor, opened)


def _release(repo: Repository, path: Path, proposal: Proposal) -> ReleaseRecord:
    """The release the proposal names, as this repository recorded it: the same manifest, the same rows."""
    named = proposal.release
    if named.trial not in repo.trials():
        raise NotFound(f"{path} proposes against {named.label}, but there is no trial {named.trial!r} here")
    found = next((r for r in records(repo.root, named.trial, named.tier)
                  if r.version == named.version and r.issue == named.issue), None)
    if found is None:
        raise NotFound(f"{path} proposes against {named.label}, which this repository never released")
    if found.files.get(package.MANIFEST) != named.manifest_sha256 or found.fingerprint != named.fingerprint:
        raise IntegrityError(f"{path}: the manifest it names (SHA-256 {named.manifest_sha256[:12]}…) is not that of "
                             f"{named.label} as released here: the file was altered, or the copy is not this "
                             "repository's release")
    return found


class _Mapper:
    """Release IDs to participants, released records and values to stored ones, for one release."""

    def __init__(self, repo: Repository, path: Path, release: ReleaseRecord, label: str) -> None:
        from ..release.notes import released_rows

        self.repo, self.path, self.release, self.label = repo, path, release, label
        self.version = repo.dataset(release.trial).version(release.version)
        self.released = {name: released_rows(repo, release, name)
                         for name in ["", *package.other_tables(release.trial, release.files)]}
        folder = repo.root / layout.trial(release.trial).release_package(release.name)
        self.modifications = _modifications(folder / "modifications.json")
        self.stored_rows: dict[str, pa.Table] = {}  # the version's rows by table, read once for every finding
        linkage = ids.read(repo.root, release.trial)
        serving = linkage.table.to_pylist() if linkage is not None else []
        self.participants = {r["release_id"]: r["key"] for r in serving if r.get(ids.TIER) in (None, release.tier)}

    def rows(self, table: str) -> pa.Table:
        """The version's rows of ``table`` ("": the participant table's)."""
        if table not in self.stored_rows:
            self.stored_rows[table] = self.version.table(table).to_arrow()
        return self.stored_rows[table]

    def ask(self, number: int, finding: Finding, proposal: Proposal) -> Ask:
        origin = {"requestor": proposal.requestor, "proposal": proposal.digest(), "finding": number,
                  "release": proposal.release.label}
        if finding.request_variable is not None:
            return Ask(None, None, finding.text, origin={**origin, "request_variable": finding.request_variable})
        where = f"{self.path}, finding {number}"
        table = finding.table or ""
        if table and table not in self.released:
            raise InvalidInput(f"{where}: {self.label} has no table {table!r}")
        stored = self.version.table(table)
        if finding.column is not None and finding.column not in stored.record.columns:
            raise InvalidInput(f"{where}: {finding.column} is not a variable of {stored.record.trial}@"
                               f"{stored.record.version}{f' table {table}' if table else ''}")
        participant = self._participant(where, finding.release_id)
        key = self._record(where, stored, table, participant, finding)
        released = self._released_value(where, table, finding)
        origin |= {"release_id": finding.release_id, **({"record": finding.record} if finding.record else {})}
        if finding.column is not None:
            origin["released"] = released
        if finding.value is not None:
            origin["proposed"] = finding.value
            exact = self._stored(table, finding.column, finding.value, participant)
            origin |= {"stored": to_json(exact[1])} if exact[0] else {"not_exact": self._why_not(table, finding.column)}
        return Ask(key, finding.column, finding.text, table=table or None, origin=origin)

    def _participant(self, where: str, release_id: str | None) -> Any:
        """The participant behind a release ID (through the column the release rules replaced)."""
        key = self.participants.get(release_id)
        if key is None:
            raise InvalidInput(f"{where}: {release_id} is not a release ID of {self.label}")
        pid, column = self.release.participant_id, self.version.record.participant_column
        if pid == column:
            return key
        return next(r[column] for r in self.rows("").select([pid, column]).to_pylist() if str(r[pid]) == str(key))

    def _record(self, where: str, stored: Version, table: str, participant: Any, finding: Finding) -> Any:
        """The stored record's key: the participant's, and the rest of its key mapped back."""
        record = stored.record
        columns, part = rowkey.columns(record.key), record.participant_column
        wanted = {part: participant}
        for column, value in (finding.record or {}).items():
            ok, mapped = self._stored(table, column, value, participant)
            if column not in columns or not ok:
                raise InvalidInput(f"{where}: --record {column}={value} is not part of the key of "
                                   f"{self.label}{f' table {table}' if table else ''} as released")
            wanted[column] = mapped
        rows = _rows_where(self.rows(table), wanted)
        if len(rows) != 1:
            what = "no record" if not rows else f"{len(rows)} records"
            raise InvalidInput(f"{where}: {self.label} has {what} of {finding.release_id}"
                               f"{''.join(f', {k}={v}' for k, v in (finding.record or {}).items())} in "
                               f"{record.trial}@{record.version}")
        return rowkey.value(rows[0], record.key)

    def _released_value(self, where: str, table: str, finding: Finding) -> Any:
        rows = self.released[table]
        wanted = {RELEASE_ID: finding.release_id, **(finding.record or {})}
        found = _rows_where(rows, wanted, as_text=True)
        if len(found) != 1:
            raise InvalidInput(f"{where}: {self.label} has no record {finding.release_id}"
                               f"{''.join(f', {k}={v}' for k, v in (finding.record or {}).items())}")
        return to_json(found[0].get(finding.column)) if finding.column else None

    def _stored(self, table: str, column: str, value: str, participant: Any) -> tuple[bool, Any]:
        """(True, the value on the stored scale) where the release maps back exactly; else (False, None)."""
        import pyarrow as pa

        actions = self.modifications.get(_named(table, column), [])
        arrow_type = self.rows(table).schema.field(column).type
        if value == "":
            return (not actions, None)
        if not actions:
            try:
                return True, pa.array([value], pa.string()).cast(arrow_type)[0].as_py()
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return False, None
        if [a["action"] for a in actions] == ["relative"] and type_class(arrow_type) in (DATE, DATETIME):
            reference = self._reference(actions[0]["parameters"]["reference"], participant)
            try:
                days = int(value)
            except ValueError:
                return False, None
            return (reference is not None, None if reference is None else reference + dt.timedelta(days=days))
        return False, None

    def _why_not(self, table: str, column: str) -> str:
        actions = [a["action"] for a in self.modifications.get(_named(table, column), [])]
        return f"the release changed {column} ({', '.join(actions)}): the proposed value is on the released scale"

    def _reference(self, column: str, participant: Any):
        rows = _rows_where(self.rows(""), {self.version.record.participant_column: participant})
        value = rows[0].get(column) if rows else None
        return value.date() if isinstance(value, dt.datetime) else value


def _named(table: str, column: str) -> str:
    return f"{table}.{column}" if table else column


def _modifications(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The release's modification log by variable (TABLE.VARIABLE for another table)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for entry in json.loads(path.read_text(encoding="utf-8")):
        if entry["action"] == "suppress" and not entry["rows_affected"]:
            continue  # a quasi-identifier no cell of which was suppressed: the values are as they were
        found.setdefault(entry["variable"], []).append(entry)
    return found


def _rows_where(table: pa.Table, wanted: dict[str, Any], as_text: bool = False) -> list[dict[str, Any]]:
    """The rows of ``table`` whose columns hold ``wanted`` (compared as text with ``as_text``)."""
    con = connect()
    con.register("t", table)
    clauses, values = [], []
    for column, value in wanted.items():
        clauses.append(f"CAST({quote(column)} AS VARCHAR) = ?" if as_text else f"{quote(column)} = ?")
        values.append(str(value) if as_text else value)
    return con.sql(f"SELECT * FROM t WHERE {' AND '.join(clauses)}", params=values).to_arrow_table().to_pylist()
