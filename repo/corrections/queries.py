"""Queries: questions to the trialists about a participant's record, and their answers.

``datasets/TRIAL/queries.jsonl`` (in git) is an append-only log of events, one
JSON object a line: a query is opened, answered (any number of times), closed,
and perhaps reopened. A query's state is derived from its events, so the log
keeps who asked and answered what, and when, and nothing is ever rewritten.
Each command is one commit. Query ids are ``TRIAL-qN``, numbered per trial,
so an id alone says which trial's log holds it. Answers are recorded here;
the changes they lead to are staged as corrections (``ipd correct --query``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ..backends import clock, parquet, rowkey
from ..backends.values import to_json
from ..errors import InvalidInput, NotFound
from ..repository import layout
from ..repository.refs import TRIAL_NAME

if TYPE_CHECKING:
    from ..repository import Repository

STATUSES = ("open", "answered", "closed")
EVENTS = ("open", "answer", "close", "reopen")


@dataclass(frozen=True)
class Answer:
    text: str
    author: str
    time: str


@dataclass
class Query:
    id: str
    trial: str
    key: Any  # as in the data: a number stays a number
    column: str | None  # None: about the whole record
    text: str
    check: str | None  # the failing check that raised it, if any
    version: str | None  # the version the record was seen in
    status: str
    opened: str
    author: str
    answers: list[Answer] = field(default_factory=list)
    closed: str | None = None
    table: str | None = None  # another table of a trial of several; None: the participant table
    # A query a release holder proposed (``proposals``): who, from which release and proposal file, the record and
    # value as released and the value on the stored scale where it maps back exactly; None: the curator's own
    origin: dict[str, Any] | None = None

    @property
    def requestor(self) -> str | None:
        return (self.origin or {}).get("requestor")

    @property
    def variable_request(self) -> str | None:
        """The variable a release holder asked to be released (the query is about no record)."""
        return (self.origin or {}).get("request_variable")

    @property
    def number(self) -> int:
        return int(self.id.rsplit("-q", 1)[1])

    @property
    def answer(self) -> str | None:
        """The latest answer: what the trialists say now."""
        return self.answers[-1].text if self.answers else None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for optional in ("table", "origin"):  # a curator's query about the participant table reads as it did
            if data[optional] is None:
                del data[optional]
        return {"query": data.pop("id"), **data}


# -- reading ---------------------------------------------------------------------------------

def _fold(trial: str, text: str, label: str) -> dict[str, Query]:
    """The queries' current state, replaying the log; a line that does not fit is named."""
    found: dict[str, Query] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{label}, line {number}"
        try:
            event = json.loads(line)
            qid, kind = event["query"], event["event"]
            who, when, said = event["author"], event["time"], event.get("text", "")
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise InvalidInput(f"{where}: not a query event ({exc})") from exc
        if kind not in EVENTS:
            raise InvalidInput(f"{where}: unknown event {kind!r}")
        if kind == "open":
            found[qid] = Query(qid, trial, event.get("key"), event.get("column"), said, event.get("check"),
                               event.get("version"), "open", when, who, table=event.get("table"),
                               origin=event.get("origin"))
            continue
        query = found.get(qid)
        if query is None:
            raise InvalidInput(f"{where}: {kind} of {qid}, which was never opened")
        if kind == "answer":
            query.answers.append(Answer(said, who, when))
            query.status = "answered"
        elif kind == "close":
            query.status, query.closed = "closed", when
        else:
            query.status, query.closed = "open", None
    return found


def by_id(repo: Repository, trial: str) -> dict[str, Query]:
    relative = layout.trial(trial).queries
    path = repo.root / relative
    if not path.is_file():
        return {}
    return _fold(trial, path.read_text(encoding="utf-8"), relative)


def check_status(status: str | None) -> None:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"unknown status {status!r}: use {', '.join(STATUSES)}")


def queries(repo: Repository, trial: str, status: str | None = None) -> list[Query]:
    """A trial's queries in the order they were opened, or only those in ``status``."""
    repo.dataset(trial)
    check_status(status)
    return sorted((q for q in by_id(repo, trial).values() if status in (None, q.status)), key=lambda q: q.number)


def split_id(qid: str) -> str:
    """The trial a query id belongs to: ``actg175-q3`` -> ``actg175``."""
    trial, sep, number = qid.rpartition("-q")
    if not sep or not number.isdigit() or not TRIAL_NAME.fullmatch(trial):
        raise InvalidInput(f"invalid query id {qid!r}: query ids look like TRIAL-qN, e.g. actg175-q3")
    return trial


def find(repo: Repository, qid: str) -> Query:
    trial = split_id(qid)
    if trial not in repo.trials():
        raise NotFound(f"no query {qid}: there is no trial {trial!r} (see `ipd list`)")
    query = by_id(repo, trial).get(qid)
    if query is None:
        raise NotFound(f"no query {qid} (see `ipd query list {trial}`)")
    return query


# -- writing ---------------------------------------------------------------------------------

class Ask(NamedTuple):
    """A query to open: about ``key`` (and ``column``), raised by a curator or by ``check``."""

    key: Any
    column: str | None
    text: str
    check: str | None = None
    table: str | None = None  # another table of the trial
    origin: dict[str, Any] | None = None  # a release holder's proposal (``Query.origin``)


def new_event(repo: Repository, qid: str, kind: str, text: str, when: str, **opening: Any) -> dict[str, Any]:
    return {"query": qid, "event": kind, **opening, "text": text, "author": str(repo.scm.identity()), "time": when}


def append(repo: Repository, trial: str, events: list[dict[str, Any]]) -> None:
    """Append whole lines: the log is never rewritten."""
    with (repo.root / layout.trial(trial).queries).open("a", encoding="utf-8") as handle:
        handle.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in events)


def _needs_text(text: str | None, what: str) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput(f"{what} is empty")
    return text


def open_query(repo: Repository, trial: str, key: str, column: str | None, text: str,
               table: str | None = None) -> Query:
    """Ask about one participant's record (or one cell of it) in the latest version (of its other table ``table``)."""
    from ..backends.columns import type_class
    from ..versions.lookup import records

    dataset = repo.dataset(trial)
    text = _needs_text(text, "the question")
    version = dataset.version()
    if table == version.record.participant_table:
        table = None
    version = version.table(table or "")
    record = version.record
    if column is not None and column not in record.columns:
        raise InvalidInput(f"{trial}@{record.version} has no column {column!r}")
    files = version.part_files()
    schema = parquet.read_schema(next(iter(files.values())))
    value = rowkey.parse(key, record.key, lambda c: type_class(schema.field(c).type), "")
    found = records(files, record.key, record.participant_column, record.nparts, [value])
    if not found:
        raise InvalidInput(f"{trial}@{record.version} has no record with {rowkey.label(record.key)} = "
                           f"{json.dumps(to_json(value))}")
    ask = Ask(next(iter(found)), column, text, table=table)
    return open_queries(repo, trial, [ask], record.version, "query {first} opened")[0]


def open_queries(repo: Repository, trial: str, asks: list[Ask], version: str, message: str,
                 guard: Callable[[list[Query]], None] | None = None) -> list[Query]:
    """Open queries, numbered under the lock, in one commit; ``message`` may name ``{first}`` and ``{count}``.

    A check's query is not opened again while the same check's query about the same key and
    column is still open or answered, so running a check twice does not ask the trialists twice.
    ``guard`` sees the queries there are, under the lock, and may refuse (a proposal imported already).
    """
    path = layout.trial(trial).queries
    when, opened, events = clock.now(), [], []
    with repo.writing([path]):
        current = list(by_id(repo, trial).values())
        if guard is not None:
            guard(current)
        pending = {_identity(q.key, q.column, q.check, q.table) for q in current if q.check and q.status != "closed"}
        number = max((q.number for q in current), default=0)
        for ask in asks:
            if ask.check is not None:
                if _identity(ask.key, ask.column, ask.check, ask.table) in pending:
                    continue
                pending.add(_identity(ask.key, ask.column, ask.check, ask.table))
            number += 1
            qid = f"{trial}-q{number}"
            events.append(new_event(repo, qid, "open", ask.text, when, key=ask.key, column=ask.column,
                                    check=ask.check, version=version, **({"table": ask.table} if ask.table else {}),
                                    **({"origin": ask.origin} if ask.origin else {})))
            opened.append(Query(qid, trial, ask.key, ask.column, ask.text, ask.check, version, "open", when,
                                events[-1]["author"], table=ask.table, origin=ask.origin))
        if events:
            append(repo, trial, events)
            first = opened[0].id.rsplit("-", 1)[1]
            repo.scm.commit([path], f"{trial}: " + message.format(first=first, count=len(opened)))
    return opened


def _identity(key: Any, column: str | None, check: str | None, table: str | None) -> tuple:
    return json.dumps(to_json(key)), column, check, table


def answer(repo: Repository, qid: str, text: str) -> Query:
    """Record the trialists' answer; a query can be answered again until it is closed."""

    def allowed(query: Query) -> None:
        if query.status == "closed":
            raise InvalidInput(f"{qid} is closed; reopen it first (`ipd query reopen {qid}`)")

    return _change(repo, qid, "answer", _needs_text(text, "the answer"), allowed, "answered")


def close(repo: Repository, qid: str, text: str | None = None) -> Query:
    """Close a query: answered, or no longer needed. ``text`` may say why."""

    def allowed(query: Query) -> None:
        if query.status == "closed":
            raise InvalidInput(f"{qid} is already closed")

    return _change(repo, qid, "close", (text or "").strip(), allowed, "closed")


def reopen(repo: Repository, qid: str, text: str | None = None) -> Query:
    """Reopen a closed query, e.g. when its answer did not settle the record."""

    def allowed(query: Query) -> None:
        if query.status != "closed":
            raise InvalidInput(f"{qid} is not closed (it is {query.status})")

    return _change(repo, qid, "reopen", (text or "").strip(), allowed, "reopened")


def _change(repo: Repository, qid: str, kind: str, text: str, allowed, done: str) -> Query:
    """One event for one query, checked against its state under the lock (so two curators cannot both close it)."""
    allowed(find(repo, qid))
    trial = split_id(qid)
    path = layout.trial(trial).queries
    with repo.writing([path]):
        allowed(find(repo, qid))
        append(repo, trial, [new_event(repo, qid, kind, text, clock.now())])
        repo.scm.commit([path], f"{trial}: query q{qid.rsplit('-q', 1)[1]} {done}")
    return find(repo, qid)
