"""ipd query: raising queries with the trialists and recording their answers."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

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
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    status: StatusOption = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """The trial's queries, with their state and latest answer."""
    from ..corrections.queries import queries

    found = queries(open_repository(repo), trial, status)
    if json:
        emit_json([q.to_json() for q in found])
        return
    table = Table("query", "status", "key", "column", "question", "answer", "opened")
    for q in found:
        table.add_row(q.id, q.status, (f"{q.table}: " if q.table else "") + _where(q.key, None).removeprefix("key "),
                      q.column or "", escape(q.text), escape(q.answer or ""),
                      q.opened[:10])
    out.print(table)


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
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The exported CSV with the answer column filled in.")],
    repo: RepoOption = Path("."),
) -> None:
    """Record the answers the trialists wrote into an exported CSV (all of them, or none)."""
    from ..corrections.querycsv import import_answers

    result = import_answers(open_repository(repo), trial, file)
    named = f": {', '.join(q.id for q in result.answered)}" if result.answered else ""
    out.print(f"{len(result.answered)} answer(s) recorded{named}; {result.unchanged} row(s) without a new answer")
