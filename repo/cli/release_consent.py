"""ipd release consent: record who refused sharing or commercial use (an ID list, or nobody), or list it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from .console import Bars, emit_json, out
from .ipd import JsonOption, RepoOption, command, open_repository
from .release import release_app


@command(target=release_app, name="consent")
def consent(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    file: Annotated[Optional[Path], typer.Argument(
        help="The IDs of those who refused: one a line, or a CSV with an ID column. Without it (and --none), "
             "the consent recorded is listed.")] = None,
    refused: Annotated[Optional[str], typer.Option(
        "--refused", metavar="sharing|commercial",
        help="What they refused: sharing beyond the study (excluded from every tier) or commercial use.")] = None,
    none: Annotated[bool, typer.Option("--none", help="Nobody refused: a statement, recorded with --reason.")] = False,
    reason: Annotated[Optional[str], typer.Option(help="Why (required with --none); recorded.")] = None,
    id_column: Annotated[Optional[str], typer.Option(
        "--id-column", help="The file's column of IDs (default: the trial's key column name, or the first).")] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Record a new statement in place of the current one (a list kept before stays in "
                          "restricted storage).")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Record who refused sharing or commercial use (an ID list kept in restricted storage, or --none), or list it."""
    from ..errors import InvalidInput
    from ..release import consent as core
    from ..repository.refs import check_trial_name

    repository = open_repository(repo)
    check_trial_name(trial)
    if file is None and not none:
        if refused or reason or id_column or replace:
            raise InvalidInput("give the FILE of IDs of those who refused, or --none --reason TEXT (nobody did)")
        state = core.current(repository, trial)
        if json:
            emit_json(state.to_json())
            return
        _render_state(state)
        return
    if refused is None:
        raise InvalidInput("say what was refused: --refused sharing or --refused commercial")
    done = core.record(repository, trial, refused, file, none, reason, id_column, replace, Bars())
    if json:
        emit_json({"trial": done.trial, "rule": done.rule, "statement": done.statement.to_yaml(), "ids": done.ids,
                   "replaced": done.replaced, "commit": done.commit})
        return
    from ..repository import layout

    what = core.WHAT[done.rule]
    files = layout.trial(done.trial)
    where = files.metadata
    if done.statement.none:
        out.print(f"Recorded for {done.trial}: nobody refused {what} ({escape(done.statement.reason or '')}); "
                  f"release.consent.{done.rule} in {where}")
    else:
        out.print(f"Recorded for {done.trial}: {done.ids} participant(s) refused {what}; the list is kept as "
                  f"{files.folder}/{escape(done.statement.file or '')} (pushed to the restricted remote only), "
                  f"release.consent.{done.rule} in {where}")
    if done.replaced:
        out.print("  (replacing the previous statement: plan and approve again before the next release)")


def _render_state(state) -> None:
    from ..release.consent import WHAT, how_to_record
    from ..repository import layout

    out.print(f"[bold]{state.trial}[/]: consent (release.consent in {layout.trial(state.trial).metadata})")
    for name, raw in state.rules.items():
        out.print(f"  refused {WHAT[name]}: {escape(_said(raw)) if raw is not None else 'not recorded'}")
    for tier, names in state.missing.items():
        if names:
            out.print(f"  {tier}: cannot be released yet: "
                      + "; ".join(f"no rule says who refused {WHAT[n]}: {how_to_record(state.trial, n)}"
                                  for n in names))
        else:
            out.print(f"  {tier}: consent recorded")


def _said(raw: dict[str, Any]) -> str:
    if not isinstance(raw, dict):
        return str(raw)
    if raw.get("none"):
        text = f"nobody ({raw.get('reason')})"
    elif raw.get("file"):
        text = f"the IDs in {raw['file']}" + (f" (column {raw['id_column']})" if raw.get("id_column") else "")
    else:
        text = f"{raw.get('column')} in {raw.get('refused')}"
    if raw.get("by"):
        text += f"; recorded by {raw['by']} on {str(raw.get('when', ''))[:10]}"
    return text
