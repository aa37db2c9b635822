"""Queries out to the trialists as CSV, and their answers back in.

Trialists answer in a spreadsheet, not in git: ``ipd query export`` writes one
row per query, they fill in the ``answer`` column, and ``ipd query import``
records each new answer as an event in the query log. A file naming a query
that does not exist, or one of another trial, is refused whole, naming the
row, so a half-read spreadsheet never leaves half its answers behind.

The export's text goes through ``csvsafe``: a question quoting a value such
as ``=1+1`` must not run as a formula in the trialists' spreadsheet. An answer
read back loses the quote ``csvsafe`` gave it, so an unchanged one stays unchanged.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends import clock, csvsafe
from ..errors import InvalidInput, NotFound
from ..repository import layout
from .queries import Query, append, by_id, find, new_event, queries, split_id

if TYPE_CHECKING:
    from ..repository import Repository

EXPORT_COLUMNS = ("query", "key", "column", "question", "status", "answer")
LINE_END = "\r\n"  # as csv.writer ends lines, and spreadsheets on every system read them


def export_csv(repo: Repository, trial: str, path: Path, status: str | None = None) -> list[Query]:
    """Write the queries as CSV for the trialists; they fill in the ``answer`` column. A release holder's request
    for a variable is the curator's to settle, not the trialists', and stays out; the value a holder proposed
    is given on the stored scale where it maps back exactly."""
    chosen = [q for q in queries(repo, trial, status) if not q.variable_request]
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            handle.write(csvsafe.row(EXPORT_COLUMNS, end=LINE_END))
            for q in chosen:
                handle.write(csvsafe.row([q.id, q.key, q.column or "", _question(q), q.status, q.answer or ""],
                                         end=LINE_END))
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise InvalidInput(f"{path}: cannot write ({exc.strerror})") from exc
    return chosen


def _question(query: Query) -> str:
    """The question, with the value a release holder proposed where it maps back to the stored scale."""
    stored = (query.origin or {}).get("stored")
    return f"{query.text} (proposed value: {stored})" if stored is not None else query.text


@dataclass(frozen=True)
class Imported:
    trial: str
    answered: list[Query]  # queries that gained an answer
    unchanged: int  # rows without a new answer


def import_answers(repo: Repository, trial: str, path: Path) -> Imported:
    """Record each new answer in a CSV written by ``export_csv``: all of them in one commit, or none."""
    repo.dataset(trial)
    rows = _read_answers(path)
    rel = layout.trial(trial).queries
    with repo.writing([rel]):
        current = by_id(repo, trial)
        latest = {qid: q.answer for qid, q in current.items()}
        events, when, unchanged = [], clock.now(), 0
        for number, row in enumerate(rows, start=1):
            where = f"{path}, row {number}"
            qid, text = (row.get("query") or "").strip(), csvsafe.restore((row.get("answer") or "").strip())
            if not qid and not text:
                continue
            _check_row(qid, trial, current, where)
            if not text or text == latest[qid]:
                unchanged += 1
                continue
            if current[qid].status == "closed":
                raise InvalidInput(f"{where}: {qid} is closed; reopen it first (`ipd query reopen {qid}`)")
            events.append(new_event(repo, qid, "answer", text, when))
            latest[qid] = text
        if events:
            append(repo, trial, events)
            repo.scm.commit([rel], f"{trial}: {len(events)} answer(s) imported from {path.name}")
    answered = sorted({e["query"] for e in events}, key=lambda q: int(q.rsplit("-q", 1)[1]))
    return Imported(trial, [find(repo, qid) for qid in answered], unchanged)


def _check_row(qid: str, trial: str, current: dict[str, Query], where: str) -> None:
    try:
        owner = split_id(qid)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    if owner != trial:
        raise InvalidInput(f"{where}: {qid} is a query of {owner}, not {trial}")
    if qid not in current:
        raise InvalidInput(f"{where}: no query {qid} in {trial}")


def _read_answers(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise NotFound(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:  # -sig: as spreadsheets save it
            reader = csv.DictReader(handle)
            missing = [c for c in ("query", "answer") if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(f"{path}: no {missing[0]!r} column; expected the columns of "
                                   f"`ipd query export` ({','.join(EXPORT_COLUMNS)})")
            return list(reader)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text") from exc
    except csv.Error as exc:
        raise InvalidInput(f"{path}: not a CSV file ({exc})") from exc
