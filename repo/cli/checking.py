"""Commands for checking trials: check, validate, and the expect sub-commands that edit suites."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .console import Bars, emit_json, out
from .ipd import JsonOption, RepoOption, app, command, open_repository

NoCacheOption = Annotated[bool, typer.Option(
    "--no-cache", help="Check again even if this version was checked before with the same suite and roles.")]
expect_app = typer.Typer(no_args_is_help=True, help="Edit a trial's expectation suite (expectations/TRIAL.json).")
app.add_typer(expect_app, name="expect")


@command
def check(
    ref: Annotated[str, typer.Argument(metavar="TRIAL[@vN]", help="Trial, and version (default: latest).")],
    html: Annotated[Optional[Path], typer.Option(help="Also write a static HTML report into this directory.")] = None,
    open_queries: Annotated[bool, typer.Option(
        "--open-queries", help="Raise a query per participant a failing row-level check names (not twice).")] = False,
    no_cache: NoCacheOption = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Run the expectation suite and the IPD integrity checks; exit 1 if anything fails."""
    from ..checks.run import check as run
    from ..repository.refs import Ref
    from .console import render_check

    repository = open_repository(repo)
    report = run(repository, Ref.parse(ref), Bars(), cache=not no_cache)
    if html:
        from ..checks.html import write

        written = write(report, html)
    raised = None
    if open_queries:
        from ..checks.queries import open_for_report

        raised = [q.id for q in open_for_report(repository, report)]
    if json:
        emit_json(report.to_json() | ({} if raised is None else {"queries_opened": raised}))
    else:
        render_check(report)
        if html:
            out.print(f"HTML report: {written}")
        if raised is not None:
            shown = f" ({raised[0]} … {raised[-1]})" if len(raised) > 1 else f" ({raised[0]})" if raised else ""
            out.print(f"queries opened: {len(raised)}{shown}; see `ipd query list {report.trial}`")
    if not report.success:
        raise typer.Exit(1)


@command
def validate(
    junit: Annotated[Optional[Path], typer.Option(help="Also write JUnit XML for the CI system here.")] = None,
    no_cache: NoCacheOption = False,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Also rebuild every version from source, as `ipd verify --rebuild` does.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """For CI: every trial against its suite and integrity checks, every version against its fingerprint,
    and `ipd verify` (records, hash chain, tags, correction log, stored data)."""
    from ..verify.validate import junit as to_junit
    from ..verify.validate import validate as run
    from .console import render_validation

    result = run(open_repository(repo), Bars(), cache=not no_cache, rebuild=rebuild)
    if junit:
        junit.write_text(to_junit(result))
    emit_json(result.to_json()) if json else render_validation(result)
    if not result.success:
        raise typer.Exit(1)


TableOption = Annotated[Optional[str], typer.Option(
    "--table", help="The suite of another table of a trial of several (default: the trial's own).")]


def _expect_command(func=None, *, name: str | None = None):
    """Register an ``ipd expect`` sub-command with the same one-line error handling."""
    return command(func, name=name, target=expect_app)


@_expect_command
def baseline(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    replace: Annotated[bool, typer.Option(help="Write over an existing suite.")] = False,
    table: TableOption = None,
    repo: RepoOption = Path("."),
) -> None:
    """Propose a suite from the data dictionary: key, columns, value sets, observed ranges."""
    from ..checks.expect import baseline as run

    change = run(open_repository(repo), trial, replace, table)
    unchanged = " (it was already the baseline: nothing changed)" if change.action == "unchanged" else ""
    out.print(f"{change.path}: baseline suite of {change.count} expectations{unchanged}")


@_expect_command
def add(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    kind: Annotated[str, typer.Argument(metavar="TYPE", help="A GX expectation type, e.g. expect_column_values_to_be_between.")],
    arguments: Annotated[Optional[list[str]], typer.Argument(metavar="NAME=VALUE...", help="Its arguments; values are JSON where they parse (18, [1,2], null).")] = None,
    notes: Annotated[Optional[str], typer.Option(help="Why the expectation is there.")] = None,
    table: TableOption = None,
    repo: RepoOption = Path("."),
) -> None:
    """Add one expectation to the suite (checked against GX and the data's columns)."""
    from ..checks.expect import add as run
    from ..checks.expect import parse_arguments

    change = run(open_repository(repo), trial, kind, parse_arguments(arguments or []), notes, table)
    out.print(f"{change.path}: added expectation {change.count}, {kind}")


@_expect_command
def remove(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    number: Annotated[int, typer.Argument(help="The expectation's number in `ipd expect list`.")],
    table: TableOption = None,
    repo: RepoOption = Path("."),
) -> None:
    """Remove one expectation from the suite."""
    from ..checks.expect import remove as run

    change = run(open_repository(repo), trial, number, table)
    out.print(f"{change.path}: removed {change.expectation['type']}; {change.count} left")


@_expect_command(name="list")
def list_expectations(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    table: TableOption = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """The expectations in the suite, numbered."""
    import json as jsonlib

    from ..checks.expect import listing

    entries = listing(open_repository(repo), trial, table)
    if json:
        emit_json(entries)
        return
    table = Table("#", "type", "arguments")
    for entry in entries:
        table.add_row(str(entry["number"]), entry["type"], jsonlib.dumps(entry.get("kwargs", {}), default=str))
    out.print(table)
