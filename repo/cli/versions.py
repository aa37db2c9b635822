"""Commands for curating versions: init, ingest, list, log, show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .console import Bars, emit_json, out, render_failing, short
from .ipd import JsonOption, RepoOption, command, open_repository


@command
def init(
    path: Annotated[Path, typer.Argument(help="Where to create the repository.")] = Path("."),
    remote: Annotated[Optional[str], typer.Option(help="DVC remote for the data: a directory or any DVC URL "
                                                  "(default: a directory under ~/.local/share/ipd/remotes).")] = None,
    release_remote: Annotated[Optional[str], typer.Option(
        help="DVC remote for de-identified releases only (default: a directory beside the data remote, "
             "named …-release).")] = None,
    catalogue: Annotated[Optional[str], typer.Option(
        help="Git repository where releases are published for requestors, with the release remote (a new local "
             "path is created).")] = None,
) -> None:
    """Create (or adopt) a repository: git, DVC, the layout and ipd.toml."""
    from ..repository import Repository

    result = Repository.init(path, remote, release_remote)
    verb = "Initialised" if result.created else "Already initialised:"
    out.print(f"{verb} ipd repository in {result.root}")
    out.print(f"DVC remote: {result.remote}")
    out.print(f"Release remote: {result.release_remote}")
    if catalogue is not None:
        from ..catalogue.connect import set_catalogue

        found = set_catalogue(Repository(result.root), catalogue)
        out.print(f"Release catalogue: {found.url}{' (created)' if found.created else ''}")


@command
def remote(
    kind: Annotated[Optional[str], typer.Argument(help="restricted (deliveries, versions, linkage), release "
                                                  "(de-identified releases only) or catalogue (the git repository "
                                                  "requestors pull releases from).")] = None,
    url: Annotated[Optional[str], typer.Argument(help="A directory or any DVC URL (s3://…, ssh://…); for the "
                                                 "catalogue, a git repository (a new local path is created).")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """The remote for each kind of data and the release catalogue; with KIND URL, set it (committed)."""
    from dataclasses import asdict

    from ..catalogue import configured
    from ..catalogue.connect import set_catalogue
    from ..errors import InvalidInput
    from ..repository.remotes import Remote, remotes, set_remote

    repository = open_repository(repo)
    if kind is not None and url is None:
        raise InvalidInput(f"give the URL of the {kind} remote: ipd remote {kind} URL")
    if kind == "catalogue":
        shown = [Remote("catalogue", "catalogue", set_catalogue(repository, url).url)]
    elif kind is not None:
        shown = [set_remote(repository, kind, url)]
    else:
        catalogue = configured(repository.settings, repository.root) or ""
        shown = [*remotes(repository), Remote("catalogue", "catalogue", catalogue)]
    if json:
        emit_json([asdict(r) for r in shown])
        return
    for r in shown:
        out.print(f"{r.kind:<11} {r.url or '(none: add one with `ipd remote ' + r.kind + ' URL`)'}")


@command
def recover(
    forget: Annotated[bool, typer.Option("--forget", help="Keep the repository as it is now: drop the interrupted "
                                         "command's journal without undoing anything.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Undo a command that was interrupted part-way, when commits of yours came after it."""
    from dataclasses import asdict

    from ..repository import recover as run

    result = run(repo, forget)
    if json:
        emit_json({**asdict(result), "root": str(result.root)})
        return
    if not result.interrupted:
        out.print(f"{result.root}: no interrupted command; nothing to recover")
    elif result.commit:
        out.print(f"Undid the interrupted command in commit {result.commit[:12]}; your commits are kept")
    elif result.how == "forgotten":
        out.print("Kept the repository as it is; the interrupted command's journal is gone")
    else:
        out.print(f"Undid the interrupted command ({result.how})")


@command
def ingest(
    trial: Annotated[str, typer.Argument(help="Trial name, e.g. actg175.")],
    file: Annotated[Path, typer.Argument(help="The delivery: CSV/TSV, Excel, Parquet, SAS, Stata or SPSS.")],
    key: Annotated[Optional[list[str]], typer.Option(
        help="Key column (required for a new trial); repeat it for a key of several columns (--key id --key visit).")] = None,
    participant: Annotated[Optional[str], typer.Option(
        help="The key column naming the participant, when the key has several (rows a participant).")] = None,
    participant_table: Annotated[Optional[str], typer.Option(
        help="Of a delivery of several tables (a folder, a zip, a workbook): the table of one row a participant.")
    ] = None,
    table_key: Annotated[Optional[list[str]], typer.Option(
        help="Another table's key, with the participant column: --table-key visits=id,visit (repeat a table).")
    ] = None,
    arm: Annotated[Optional[str], typer.Option(help="Column holding the randomised arm.")] = None,
    randomised: Annotated[Optional[str], typer.Option(help="Column holding the randomisation date.")] = None,
    message: Annotated[Optional[str], typer.Option("--message", "-m", help="What this delivery is.")] = None,
    origin: Annotated[Optional[str], typer.Option(help="Where the delivery came from (recorded).")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Take in a delivery as the trial's next version."""
    from ..backends import rowkey
    from ..checks.why import why
    from ..ingest.delivery import IngestOptions
    from ..ingest.delivery import ingest as run

    options = IngestOptions(trial, file, rowkey.written(key) if key else None, arm, randomised, message, origin,
                            participant, participant_table, _table_keys(table_key or []))
    result = run(open_repository(repo), options, Bars())
    record = result.record
    if json:
        emit_json({"trial": record.trial, "redelivery": result.redelivery, **record.summary(),
                   **({"participants": result.participants} if result.participants else {}),
                   "failing": [{"name": r.name, "why": why(r)} for r in result.failing]})
        return
    what = "re-delivery" if result.redelivery else "delivery"
    rows = f"{record.rows} rows" + (f" ({result.participants} participants)" if result.participants else "")
    out.print(f"{record.trial}@{record.version}: {what} of {rows} × {len(record.columns)} columns "
              f"in {len(record.parts)} part(s), fingerprint {short(record.fingerprint)}")
    for table in record.tables:
        out.print(f"  table {table.name}: {table.rows} rows × {len(table.columns)} columns, key "
                  f"{rowkey.label(table.key)}, fingerprint {short(table.fingerprint)}")
    render_failing(record, result.failing)


def _table_keys(given: list[str]) -> dict:
    """``visits=id,visit`` -> {"visits": ["id", "visit"]}."""
    from ..backends import rowkey
    from ..errors import InvalidInput

    keys = {}
    for text in given:
        name, _, columns = text.partition("=")
        names = [c.strip() for c in columns.split(",") if c.strip()]
        if not name.strip() or not names:
            raise InvalidInput(f"--table-key {text!r}: expected TABLE=COLUMN[,COLUMN…], e.g. visits=id,visit")
        keys[name.strip()] = rowkey.written(names)
    return keys


@command
def roles(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    arm: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The randomised arm.")] = None,
    randomised: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The randomisation date.")] = None,
    death: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The date of death.")] = None,
    death_flag: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The death indicator (0/1).")] = None,
    events: Annotated[Optional[list[str]], typer.Option(metavar="COLUMN", help="Other event dates (repeat).")] = None,
    last_contact: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The date of last contact.")] = None,
    baseline: Annotated[Optional[list[str]], typer.Option(
        metavar="COLUMN", help="Baseline covariates for the balance check (repeat).")] = None,
    time: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The outcome's follow-up time.")] = None,
    status: Annotated[Optional[str], typer.Option(metavar="COLUMN", help="The outcome's status (event indicator).")] = None,
    event: Annotated[Optional[list[str]], typer.Option(
        metavar="CODE", help="A value of the status that is the event, e.g. 2 for death in 0/1/2 (repeat).")] = None,
    unset: Annotated[Optional[list[str]], typer.Option(metavar="ROLE", help="Remove a role (repeat).")] = None,
    table: Annotated[Optional[str], typer.Option(
        metavar="NAME", help="Another table of the trial: --events names its dates that follow randomisation.")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Show or declare the roles of a trial's columns (checked against its latest version; one commit)."""
    from ..checks.roles import RoleChange, declare, declare_table

    given = {"arm": arm, "randomised": randomised, "death": death, "death_flag": death_flag, "events": events,
             "last_contact": last_contact, "baseline": baseline, "time": time, "status": status}
    change = RoleChange({role: column for role, column in given.items() if column},
                        [_code(code) for code in event or []], list(unset or []))
    if table is not None:
        if not events or set(change.set) - {"events"} or change.event or change.unset:
            from ..errors import InvalidInput

            raise InvalidInput("--table takes --events only: the dates of that table that follow randomisation")
        result = declare_table(open_repository(repo), trial, table, events)
        if json:
            emit_json({"trial": result.trial, "table": table, "roles": result.roles, "commit": result.commit})
        else:
            out.print(f"{result.trial}: table {table}: events {', '.join(events)}"
                      + (" (unchanged)" if result.commit is None else ""))
        return
    result = declare(open_repository(repo), trial, change)
    if json:
        emit_json({"trial": result.trial, "roles": result.roles, "commit": result.commit})
        return
    if change:
        out.print(f"{result.trial}: roles {'unchanged' if result.commit is None else 'declared'}")
    for role, named in result.roles.items():
        out.print(f"  {role}: {_shown(named)}")
    if not result.roles:
        out.print("  no roles declared (see `ipd roles --help`)")


def _code(text: str) -> int | str:
    """An event code as typed: a whole number stays a number, so ``--event 2`` matches a numeric status."""
    return int(text) if text.lstrip("-").isdigit() else text


def _shown(named) -> str:
    if isinstance(named, dict):
        return f"{named.get('column')} (events: {', '.join(map(str, named.get('event') or []))})"
    return ", ".join(named) if isinstance(named, list) else str(named)


@command(name="list")
def list_trials(repo: RepoOption = Path("."), json: JsonOption = False) -> None:
    """The trials in the repository, with their latest versions."""
    repository = open_repository(repo)
    rows = []
    for trial in repository.trials():
        records = repository.dataset(trial).records()
        latest = records[-1] if records else None
        rows.append({"trial": trial, "versions": len(records), "latest": latest and latest.version,
                     "rows": latest and latest.rows, "fingerprint": latest and latest.fingerprint,
                     "updated": latest and latest.created})
    if json:
        emit_json(rows)
        return
    if not rows:
        out.print("No trials yet: add one with `ipd ingest TRIAL FILE --key COLUMN`.")
        return
    table = Table("trial", "latest", "versions", "rows", "fingerprint", "updated")
    for row in rows:
        table.add_row(row["trial"], row["latest"] or "-", str(row["versions"]), str(row["rows"] or "-"),
                      short(row["fingerprint"] or ""), (row["updated"] or "-")[:16].replace("T", " "))
    out.print(table)


@command
def log(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    corrections: Annotated[bool, typer.Option("--corrections", help="Show the correction log instead.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """The versions of a trial: number, date, author, message, rows, fingerprint (or its corrections)."""
    from ..repository.refs import check_trial_name

    dataset = open_repository(repo).dataset(check_trial_name(trial))
    if corrections:
        _render_corrections(dataset, json)
        return
    records = dataset.records()
    if json:
        emit_json([r.summary() for r in records])
        return
    table = Table("version", "created (UTC)", "author", "rows", "fingerprint", "message")
    for r in records:
        table.add_row(r.version, r.created[:16].replace("T", " "), r.author.split(" <")[0], str(r.rows),
                      short(r.fingerprint), r.message)
    out.print(table)


def _render_corrections(dataset, json: bool) -> None:
    from dataclasses import asdict

    from rich.markup import escape

    from ..corrections import log as correctionlog
    from .corrections import reason_notes

    entries = correctionlog.read(dataset.repo.root / dataset.layout.log)
    if json:
        emit_json([asdict(e) for e in entries])
        return
    if not entries:
        out.print(f"No corrections to {dataset.trial} yet.")
    for e in entries:
        out.print(f"{e.id} in {e.version} ({(e.applied or '')[:10]}, {e.author.split(' <')[0]}): "
                  f"{escape(e.describe())} — {escape(e.reason)}{reason_notes(e)}")


@command
def show(
    ref: Annotated[str, typer.Argument(metavar="TRIAL[@vN]", help="Trial, and version (default: latest).")],
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """One version: its summary and its data dictionary."""
    from ..repository.refs import Ref
    from ..versions.show import describe

    parsed = Ref.parse(ref)
    summary = describe(open_repository(repo), parsed)
    if json:
        emit_json(summary)
        return
    from .console import render_summary

    render_summary(summary)
