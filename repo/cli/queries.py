"""ipd query: raising queries with the trialists and recording their answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import InvalidInput
from .console import emit_json, out
from .ipd import JsonOption, RepoOption, app, command, open_repository

query_app = typer.Typer(no_args_is_help=True,
                        help="Queries to the trialists about participants' records (datasets/TRIAL/queries.jsonl).")
app.add_typer(query_app, name="query")

StatusOption = Annotated[Optional[str], typer.Option("--status", metavar="open|answered|closed",
                                                     help="Only queries in this state.")]


def _query_command(func=None, *, name: str | None = None):
    """Register an ``ipd query`` sub-command with the same one-line error handling."""
    return command(func, name=name, target=query_app)


def _where(key, column: str | None, table: str | None = None) -> str:
    from ..backends.rowkey import listed

    return (f"table {table}, " if table else "") + f"key {listed(key)}" + (f", column {column}" if column else "")


@_query_command(name="open")
def open_(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    key: Annotated[list[str], typer.Option(
        "--key", help="The record's key, as in the data; a value a key column for a key of several.")],
    text: Annotated[str, typer.Option("--text", help="The question for the trialists.")],
    column: Annotated[Optional[str], typer.Option(
        "--column", help="The variable in question (default: the whole record).")] = None,
    table: Annotated[Optional[str], typer.Option(
        "--table", help="Another table of a trial of several (default: the participant table).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Open a query about one participant's record (or one of its values) in the latest version."""
    from ..corrections.queries import open_query

    query = open_query(open_repository(repo), trial, key, column, text, table)
    out.print(f"{query.id} opened: {escape(_where(query.key, query.column, query.table))}")


@_query_command(name="list")
def list_queries(
    trial: Annotated[Optional[str], typer.Argument(help="Trial name (default: every trial).")] = None,
    status: StatusOption = None,
    requestor: Annotated[Optional[str], typer.Option(
        "--from", metavar="REQUESTOR",
        help="Only the queries a release holder proposed whose name or e-mail contains this.")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Queries, with their state and latest answer (and who proposed them, for a release holder's)."""
    from ..corrections.queries import queries

    found_repo = open_repository(repo)
    found = [q for t in ([trial] if trial else found_repo.trials()) for q in queries(found_repo, t, status)
             if requestor is None or requestor.casefold() in (q.requestor or "").casefold()]
    if json:
        emit_json([q.to_json() for q in found])
        return
    table = Table("query", "status", "key", "column", "question", "answer", "opened", "from")
    for q in found:
        where = "(a variable request)" if q.variable_request else \
            (f"{q.table}: " if q.table else "") + _where(q.key, None).removeprefix("key ")
        table.add_row(q.id, q.status, where, q.column or q.variable_request or "", escape(q.text),
                      escape(q.answer or ""), q.opened[:10], escape(q.requestor or ""))
    out.print(table)


@_query_command
def propose(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Your pulled release (`ipd pull … --tier`).")],
    release_id: Annotated[Optional[str], typer.Option("--id", metavar="RELEASE_ID",
                                                      help="The record, by its release ID.")] = None,
    record: Annotated[Optional[list[str]], typer.Option(
        "--record", metavar="COLUMN=VALUE",
        help="The rest of the record's key as released, where a participant has several records.")] = None,
    column: Annotated[Optional[str], typer.Option("--column", help="The variable in question (default: the "
                                                                   "whole record).")] = None,
    value: Annotated[Optional[str], typer.Option("--value", help="The value you propose, on the released scale.")
                     ] = None,
    table: Annotated[Optional[str], typer.Option("--table", help="Another table of the release.")] = None,
    text: Annotated[str, typer.Option("--text", help="What you found, and why it looks wrong.")] = "",
    variable: Annotated[Optional[str], typer.Option(
        "--request-variable", metavar="NAME", help="Ask for a variable the release lacks (say why with --text).")
                        ] = None,
    file: Annotated[Optional[Path], typer.Option(
        "--file", help="Many findings: a CSV with release_id,column,text[,value,table,record,request_variable].")
                    ] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--out", help="The proposal file to write or add to (default: DIR/ipd-proposal.json).")] = None,
    requestor: Annotated[Optional[str], typer.Option(
        "--requestor", metavar="'NAME <E-MAIL>'", help="Who proposes (default: git's user.name and user.email).")
                         ] = None,
) -> None:
    """Propose queries about the release you hold, to send to its curator (who runs `ipd query import FILE`)."""
    from ..requestor.proposal import (
        Finding,
        findings_from_csv,
        parse_record,
        requestor_identity,
    )
    from ..requestor.proposal import propose as run

    findings = findings_from_csv(file) if file is not None else []
    if release_id is not None or variable is not None:
        findings.append(Finding(text, release_id, column, value, table, parse_record(record or []), variable))
    elif any(v is not None for v in (column, value, record or None, table)):
        raise InvalidInput("name the record with --id RELEASE_ID")
    target = output or directory / "ipd-proposal.json"
    made = run(directory, findings, target, requestor if requestor is not None else requestor_identity())
    out.print(f"{escape(str(target))}: {len(made.findings)} finding(s) on {escape(made.release.label)} by "
              f"{escape(made.requestor)}; send this file to the curator")


@_query_command
def answer(
    query: Annotated[str, typer.Argument(metavar="QID", help="The query, e.g. actg175-q3.")],
    text: Annotated[str, typer.Option("--text", help="The trialists' answer.")],
    repo: RepoOption = Path("."),
) -> None:
    """Record the trialists' answer to a query."""
    from ..corrections.queries import answer as run

    found = run(open_repository(repo), query, text)
    out.print(f"{found.id} answered ({len(found.answers)} answer(s))")


@_query_command
def close(
    query: Annotated[str, typer.Argument(metavar="QID", help="The query, e.g. actg175-q3.")],
    text: Annotated[Optional[str], typer.Option("--text", help="Why it is closed (optional).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Close a query: settled, or no longer needed."""
    from ..corrections.queries import close as run

    found = run(open_repository(repo), query, text)
    out.print(f"{found.id} closed")


@_query_command
def reopen(
    query: Annotated[str, typer.Argument(metavar="QID", help="The query, e.g. actg175-q3.")],
    text: Annotated[Optional[str], typer.Option("--text", help="Why it is reopened (optional).")] = None,
    repo: RepoOption = Path("."),
) -> None:
    """Reopen a closed query."""
    from ..corrections.queries import reopen as run

    found = run(open_repository(repo), query, text)
    out.print(f"{found.id} reopened")


@_query_command
def export(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    output: Annotated[Path, typer.Option("--out", help="The CSV file to write.")],
    status: StatusOption = None,
    repo: RepoOption = Path("."),
) -> None:
    """Write the queries as CSV for the trialists (query,key,column,question,status,answer)."""
    from ..corrections.querycsv import export_csv

    found = export_csv(open_repository(repo), trial, output, status)
    out.print(f"{escape(str(output))}: {len(found)} queries")


@_query_command(name="import")
def import_(
    first: Annotated[str, typer.Argument(
        metavar="TRIAL FILE | PROPOSAL",
        help="A trial and the exported CSV with the answer column filled in; or a release holder's proposal "
             "file (`ipd query propose`).")],
    file: Annotated[Optional[Path], typer.Argument(metavar="", show_default=False)] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Record the trialists' answers from an exported CSV, or open the queries a release holder proposed."""
    if file is None:
        _import_proposal(Path(first), repo, json)
        return
    from ..corrections.querycsv import import_answers

    result = import_answers(open_repository(repo), first, file)
    named = f": {', '.join(q.id for q in result.answered)}" if result.answered else ""
    out.print(f"{len(result.answered)} answer(s) recorded{named}; {result.unchanged} row(s) without a new answer")


def _import_proposal(path: Path, repo: Path, json: bool) -> None:
    from ..corrections.proposals import import_proposal

    done = import_proposal(open_repository(repo), path)
    if json:
        emit_json({"release": done.release, "requestor": done.requestor, "queries": [q.to_json() for q in done.queries]})
        return
    out.print(f"{len(done.queries)} quer{'y' if len(done.queries) == 1 else 'ies'} opened from "
              f"{escape(done.requestor)}'s proposal on {escape(done.release)}:")
    for q in done.queries:
        origin = q.origin or {}
        what = f"asks for the variable {origin['request_variable']}" if q.variable_request else \
            escape(_where(q.key, q.column, q.table)) + _proposed(origin)
        out.print(f"  {q.id}: {what}")


def _proposed(origin: dict) -> str:
    """The value proposed, on the stored scale where it maps back exactly."""
    if "proposed" not in origin:
        return ""
    if "stored" in origin:
        return f"; proposed {origin['proposed']} as released, {origin['stored']} as stored"
    return f"; proposed {origin['proposed']} as released (not exact on the stored scale)"
