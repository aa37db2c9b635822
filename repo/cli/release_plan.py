"""ipd release plan and ipd release approve: the summary of modifications, and its approval."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .console import Bars, emit_json, out
from .ipd import JsonOption, RepoOption, command, open_repository
from .release import formulas_line, release_app

HIDDEN = ("failing", "failing_total", "min_cell", "rows_top_coded", "rows_bottom_coded")  # shown with others
WHAT = {"no_sharing": "sharing", "no_commercial": "commercial use"}


@command(target=release_app, name="plan")
def plan(
    ref: Annotated[str, typer.Argument(metavar="TRIAL[@vN]", help="Trial, and version (default: latest).")],
    save: Annotated[bool, typer.Option("--save", help="Write the proposed rules into dataset.yaml (one commit).")] = False,
    replace: Annotated[bool, typer.Option("--replace", help="With --save: replace the rules dataset.yaml has.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """The release rules (or a proposal) and every modification they make, per tier."""
    from ..errors import InvalidInput
    from ..release.plan import plan as make_plan
    from ..release.plan import save_proposal
    from ..repository.refs import Ref

    parsed = Ref.parse(ref)
    repository = open_repository(repo)
    if replace and not save:
        raise InvalidInput("--replace goes with --save (replace the rules in dataset.yaml with the proposal)")
    saved = save_proposal(repository, parsed.trial, parsed.version, replace, Bars()) if save else None
    result = make_plan(repository, parsed.trial, saved.version if saved else parsed.version, Bars())
    if json:
        emit_json({**result.to_json(), **({"saved": {"commit": saved.commit, "replaced": saved.replaced}}
                                          if saved else {})})
        return
    _render(result, saved)


def _render(result, saved) -> None:
    from ..release.consent import WHAT as REFUSAL
    from ..release.consent import how_to_record
    from ..release.plan import FROM_FILE
    from ..repository import layout

    rules = result.rules
    label = f"{result.trial}@{result.version}"
    metadata = layout.trial(result.trial).metadata
    if saved and saved.commit is None:
        out.print(f"The release rules in {metadata} are already the proposal: nothing changed.")
    elif saved:
        replaced = " (replacing the previous ones)" if saved.replaced else ""
        out.print(f"Saved the proposed release rules into {metadata}{replaced}; review and edit them there.")
    where = (f"rules from {metadata}" if result.source == FROM_FILE else
             "rules PROPOSED from the dictionary and the data (not saved: review them, then --save)")
    out.print(f"[bold]{label}[/]: {where}")
    cells = " × ".join(c for c in (rules.race, rules.sex) if c) or "none (the whole trial is one cell)"
    out.print(f"  race–sex cells: {escape(cells)}; minimum {rules.min_cell} participants per cell")
    missing = result.consent_missing
    for tier in result.tiers:
        if missing[tier.tier]:
            out.print(f"  {tier.tier}: " + "; ".join(f"no rule says who refused {REFUSAL[n]}: "
                                                     f"{how_to_record(result.trial, n)}" for n in missing[tier.tier]))
            continue
        shown = ", ".join(f"{n} refused {WHAT[k]}" for k, n in tier.excluded.items()
                          if tier.tier == "commercial" or k == "no_sharing")
        out.print(f"  {tier.tier}: {sum(tier.excluded.values())} excluded by consent ({shown})")
    for name, said in (("no_sharing", rules.no_sharing), ("no_commercial", rules.no_commercial)):
        if said is not None and said.none:  # a statement, not a list: show what it rests on
            recorded = f" (recorded by {said.by} on {said.when[:10]})" if said.by and said.when else ""
            out.print(f"  nobody refused {REFUSAL[name]}: {escape(said.reason or '')}{escape(recorded)}")
    for tier in result.tiers:
        if tier.formula_columns:
            out.print(f"  {tier.tier}: {formulas_line(tier.formula_columns)}")
    for tier in result.tiers:
        for found in tier.anchors:
            out.print(f"  {tier.tier}: {escape(_anchor_line(found))}")
    out.print(f"  plan sha256 {result.sha256}")
    for warning in result.warnings:
        out.print(f"  [yellow]warning[/]: {escape(warning)}")
    names = [t.tier for t in result.tiers]
    table = Table("variable", "action", "parameters", *names, title="modifications (rows affected per tier)")
    first = result.tiers[0].modifications
    others = [{(m.variable, m.action): m for m in t.modifications} for t in result.tiers[1:]]
    for m in first:
        twins = [o.get((m.variable, m.action)) for o in others]
        params = _params(m.parameters)
        for tier, twin in zip(names[1:], twins):
            if twin is not None and _params(twin.parameters) != params:
                params = f"{names[0]}: {params}; {tier}: {_params(twin.parameters)}"
        rows = [str(m.rows_affected), *(str(t.rows_affected) if t else "-" for t in twins)]
        table.add_row(escape(m.variable), m.action, escape(params), *rows)
    out.print(table)
    _render_risk(result)
    out.print("Rationale:")
    for m in first:
        twice = sum(x.variable == m.variable for x in first) > 1
        out.print(f"  {escape(m.variable)}{f' ({m.action})' if twice else ''}: {escape(m.rationale)}")
    _findings(result.findings)


def _findings(found) -> None:
    """What the values hold (release/content.py) and what the rules do with each column."""
    if not found:
        return
    out.print("Found in the values:")
    for t in found:
        excepted = f"; exception: {t.exception}" if t.exception else ""
        out.print(f"  {escape(t.finding.column)}: {escape(t.finding.said)}: {escape(t.treatment + excepted)}")


def _anchor_line(e) -> str:
    """A shared calendar date in words: who it exposes, the remedy and its cost, who is still recoverable."""
    whose = e.reference or "reference date"
    head = f"{e.column} = {e.anchor} for {e.exposed} participants ({whose} = {e.anchor} − released days)"
    still = f"{whose} recoverable exactly for {e.recoverable}"
    if e.remedy is None:
        return f"{head}: {still}; no remedy in release.dates.anchors yet"
    if e.remedy == "none":
        return f"{head}: accepted ({e.reason}); {still}"
    return (f"{head}: {e.remedy} changes {e.values_changed} values by at most {e.max_change_days} days; {still} "
            f"(a guess is off by up to {e.within_days} days)")


def _figures(f: dict[str, Any]) -> str:
    return (f"k {f['k']}, average risk {f['average_risk']:.3f}, {f['share_at_risk']:.1%} of records at risk, "
            f"{f['sample_uniques']} sample uniques")


def _render_risk(result) -> None:
    """Per tier: the targets, whether they are met, the figures before and after, and what each variable lost."""
    tiers = [t for t in result.tiers if t.assessment is not None]
    if not tiers:
        return
    first = tiers[0].risk
    t = first["targets"]
    qis = ", ".join(first["quasi_identifiers"]) or "none"
    out.print(f"Re-identification risk over the quasi-identifiers ({escape(qis)}): targets k >= {t['k']}, "
              f"average risk <= {t['average_risk']}, at most {t['suppression']:.0%} of records suppressed"
              + ("" if t["declared"] else " [bold](defaults: the rules declare no targets, so they are shown, not "
                                          "enforced; add release.targets)[/]"))
    for tier in tiers:
        risk = tier.risk
        verdict = "met" if risk["met"] else f"[bold]NOT met[/] ({'; '.join(risk['misses'])})"
        out.print(f"  {tier.tier}: {verdict}; before: {_figures(risk['before'])}; after: {_figures(risk['after'])}")
    if not t["declared"]:
        return
    table = Table("variable", "distinct before → after", "cells changed", "cells suppressed",
                  "non-uniform entropy", title=f"information lost ({tiers[0].tier}; normalised non-uniform "
                                               "entropy: 0 nothing lost, 1 nothing left)")
    for name, lost in first["variables"].items():
        table.add_row(escape(name), f"{lost['distinct_before']} → {lost['distinct_after']}",
                      f"{lost['cells_changed']} of {lost['records']}", str(lost["cells_suppressed"]),
                      f"{lost['non_uniform_entropy']:.2f}")
    out.print(table)
    for name, why in first["flagged"].items():
        out.print(f"  [bold]{escape(name)} keeps (near) no information[/] ({escape(why)}): delete it in the release "
                  "rules, or keep it as a documented exception (say why in release.rationale)")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return "; ".join(f"{k} = {_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join("missing" if v is None else _value(v) for v in value)
    return "none" if value is None else str(value)


def _params(parameters: dict[str, Any]) -> str:
    """Parameters in words, and whether every cell meets the minimum (the rows per tier have their columns)."""
    parts = []
    for key, value in parameters.items():
        if key == "min_cell_met":
            failing = parameters.get("failing_total", 0)
            parts.append(f"every cell >= {parameters.get('min_cell')}" if value else
                         f"{failing} cell(s) below {parameters.get('min_cell')}")
        elif key == "smallest" and isinstance(value, dict):
            parts.append(f"smallest cell {value.get('count')}")
        elif key not in HIDDEN:
            parts.append(f"{key}: {_value(value)}")
    return ", ".join(parts)


@command(target=release_app, name="approve")
def approve(
    ref: Annotated[str, typer.Argument(metavar="TRIAL@vN", help="The version whose release plan is approved.")],
    by: Annotated[str, typer.Option("--by", help="Who approves (e.g. the sponsoring division's director).")],
    note: Annotated[Optional[str], typer.Option(help="Anything the approval should say (recorded).")] = None,
    accept_risk: Annotated[Optional[str], typer.Option(
        "--accept-risk", metavar="REASON",
        help="Approve a plan that misses its risk targets, for this reason (recorded with the figures).")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Record the approval of a version's release plan (who, when, exactly which plan)."""
    from ..errors import InvalidInput
    from ..release.approve import approve as run
    from ..repository.refs import Ref

    parsed = Ref.parse(ref)
    if parsed.version is None:
        raise InvalidInput(f"an approval is for one version: {parsed.trial}@vN")
    approval = run(open_repository(repo), parsed.trial, parsed.version, by, note, Bars(), accept_risk)
    if json:
        import json as jsonlib

        emit_json(jsonlib.loads(approval.to_json()))
        return
    counts = ", ".join(f"{len(t['modifications'])} modifications and {sum(t['excluded'].values())} exclusions "
                       f"({tier})" for tier, t in approval.modifications.items())
    out.print(f"Approved the release plan of {approval.trial}@{approval.version} (plan sha256 "
              f"{approval.plan_sha256[:12]}) by {escape(approval.by)}: {counts}; recorded in {approval.path}")
    if approval.accepted_risk:
        out.print(f"The plan misses its risk targets; the risk was accepted: "
                  f"{escape(approval.accepted_risk['reason'])}")

