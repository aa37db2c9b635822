"""ipd topic and ipd analyse: trials on one question harmonised, pooled, compared and meta-analysed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .console import Bars, emit_json, out
from .ipd import JsonOption, RepoOption, app, command, open_repository

topic_app = typer.Typer(no_args_is_help=True,
                        help="Topics: trials on one question, harmonised to one dictionary and pooled (datasets/TOPIC/).")
app.add_typer(topic_app, name="topic")


def _topic_command(func=None, *, name: str | None = None):
    return command(func, name=name, target=topic_app)


@_topic_command
def init(
    topic: Annotated[str, typer.Argument(help="Topic name (the same rules as a trial's).")],
    dictionary: Annotated[Path, typer.Option("--dictionary", help="The topic data dictionary (YAML).")],
    repo: RepoOption = Path("."),
) -> None:
    """Start a topic from its data dictionary: each variable's type, unit, codes, label and role."""
    from ..topics.build import init as run

    commit = run(open_repository(repo), topic, dictionary)
    out.print(f"Topic {topic}: dictionary kept in datasets/{topic}/topic.yaml (commit {commit[:12]})")


@_topic_command(name="map")
def map_(
    topic: Annotated[str, typer.Argument(help="Topic name.")],
    ref: Annotated[str, typer.Argument(metavar="TRIAL[@vN]", help="The trial version the mapping is checked on.")],
    mapping: Annotated[Path, typer.Option("--mapping", help="How the trial maps onto the dictionary (YAML: a "
                                                            "DuckDB SQL expression a variable).")],
    repo: RepoOption = Path("."),
) -> None:
    """Check a trial's mapping onto the topic against its rows, and keep it pinned to that version."""
    from ..repository.refs import Ref
    from ..topics.build import map_trial

    done = map_trial(open_repository(repo), topic, Ref.parse(ref), mapping)
    kept = "kept" if done.commit else "unchanged"
    out.print(f"Topic {topic}: {done.trial}@{done.version} maps onto the dictionary ({done.rows} rows); mapping "
              f"{kept} in datasets/{topic}/mappings/{done.trial}.yaml")


@_topic_command
def build(
    topic: Annotated[str, typer.Argument(help="Topic name.")],
    message: Annotated[Optional[str], typer.Option("-m", "--message", help="Why this pooled version.")] = None,
    pinned: Annotated[bool, typer.Option(
        "--pinned", help="Pool the versions the mappings were checked on, not each trial's latest.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Pool every mapped trial (at its latest version) into the topic's next version."""
    from ..topics.build import build as run

    record = run(open_repository(repo), topic, message, pinned, Bars())
    if json:
        emit_json({**record.summary(), "sources": record.sources})
        return
    named = ", ".join(f"{s['trial']}@{s['version']}" for s in record.sources)
    out.print(f"{topic}@{record.version}: {record.rows} rows pooled from {named}, fingerprint "
              f"{record.fingerprint.removeprefix('sha256:')[:12]}")


@_topic_command
def status(
    topic: Annotated[str, typer.Argument(help="Topic name.")],
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Which trials were corrected since the last pooled version, and what a rebuild would change."""
    from ..topics.status import status as run

    found = run(open_repository(repo), topic, Bars())
    if json:
        emit_json(found.to_json())
        return
    if found.version is None:
        out.print(f"{topic} has no pooled version yet: `ipd topic build {topic}`")
        return
    if not found.stale:
        out.print(f"{topic}@{found.version} is up to date with its trials and mappings")
        return
    for b in found.behind:
        since = f": {', '.join(b.corrections)} applied since" if b.corrections else ""
        out.print(f"{b.trial}: pooled at {b.pooled or 'no version'}, now {b.latest}{since}")
    for trial in found.mappings_changed:
        out.print(f"{trial}: its mapping changed since {topic}@{found.version}")
    columns = f", columns {', '.join(found.columns)}" if found.columns else ""
    out.print(f"a rebuild (`ipd topic build {topic}`) would change {found.cells} cell(s), add {found.added} and remove "
              f"{found.removed} row(s){columns}")


@_topic_command
def check(
    ref: Annotated[str, typer.Argument(metavar="TOPIC[@vN]", help="The pooled version (default: the latest).")],
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Each variable's distribution and missingness per trial, side by side; outlying trials flagged."""
    from ..repository.refs import Ref
    from ..topics.build import mappings, read_dictionary
    from ..topics.compare import compare

    parsed = Ref.parse(ref)
    repository = open_repository(repo)
    version = repository.dataset(parsed.trial).version(parsed.version)
    found = compare(version.to_arrow(), read_dictionary(repository, parsed.trial),
                    mappings(repository, parsed.trial))
    if json:
        emit_json({"topic": parsed.trial, "version": version.record.version, **found.to_json()})
        return
    table = Table("variable", *found.trials, title=f"{parsed.trial}@{version.record.version}: the trials side by side")
    for name, per_trial in found.variables.items():
        table.add_row(name, *(escape(_figures(per_trial.get(t))) for t in found.trials))
    out.print(table)
    for flag in found.flags:
        out.print(f"FLAG {escape(flag.trial)} {escape(flag.variable)}: {escape(flag.what)}")
    if not found.flags:
        out.print("no trial stands out")


def _figures(figures: dict | None) -> str:
    if figures is None:
        return ""
    missing = f"missing {figures['missing_share']:.0%}"
    if "shares" in figures:
        shares = ", ".join(f"{code} {share:.0%}" for code, share in figures["shares"].items())
        return f"{shares}; {missing}"
    if figures["mean"] is None:
        return missing
    return f"mean {figures['mean']:g} (SD {figures['sd'] or 0:g}), median {figures['median']:g}; {missing}"


@command
def analyse(
    ref: Annotated[str, typer.Argument(metavar="TOPIC[@vN]", help="The pooled version (default: the latest).")],
    treatment: Annotated[str, typer.Option("--treatment", help="The topic variable of the arm.")],
    active: Annotated[str, typer.Option("--active", help="The arm's code for the active treatment.")],
    outcome: Annotated[str, typer.Option("--outcome", metavar="TIME,STATUS | STATUS",
                                         help="Time and status (Cox model), or status alone (odds ratio).")],
    compare: Annotated[Optional[str], typer.Option("--compare", metavar="vM",
                                                   help="The same analysis on an earlier pooled version.")] = None,
    plot: Annotated[Optional[Path], typer.Option("--plot", help="Draw a forest plot (PNG) into this file.")] = None,
    one_stage: Annotated[bool, typer.Option("--one-stage", help="Also a Cox model stratified by trial.")] = False,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Two-stage IPD meta-analysis of a pooled version: per trial, then fixed and random effects."""
    from ..topics.analyse import AnalysisRequest, run

    request = AnalysisRequest(ref, treatment, active, outcome, compare, one_stage)
    done = run(open_repository(repo), request, plot)
    if json:
        emit_json(done.to_json())
        return
    _render(done)


def _render(done) -> None:
    import math

    result = done.to_json()
    scale = "hazard ratio" if result["method"] == "cox" else "odds ratio"
    table = Table("trial", "version", "n", "events", scale, "95% CI", title=f"{result['topic']}@{result['version']}: "
                                                                            f"{scale}, active vs control")
    for trial in result["trials"]:
        if trial.get("estimate") is None:
            table.add_row(trial["trial"], trial["version"], str(trial["n"]), str(trial["events"]),
                          escape(trial.get("excluded") or "not estimable"), "")
            continue
        low, high = trial["estimate"] - 1.96 * trial["se"], trial["estimate"] + 1.96 * trial["se"]
        table.add_row(trial["trial"], trial["version"], str(trial["n"]), str(trial["events"]),
                      f"{math.exp(trial['estimate']):.3f}", f"{math.exp(low):.3f}–{math.exp(high):.3f}")
    for name in ("fixed", "random"):
        pooled = result[name]
        table.add_row(f"[bold]{name}[/]", "", "", "", f"{math.exp(pooled['estimate']):.3f}",
                      f"{math.exp(pooled['ci_low']):.3f}–{math.exp(pooled['ci_high']):.3f}")
    out.print(table)
    random = result["random"]
    out.print(f"heterogeneity: tau² {random['tau2']:.4g}, I² {random['i2']:.1%}" +
              (f", Q {random['q']:.3f}" if random.get("q") is not None else ""))
    if result.get("one_stage"):
        one = result["one_stage"]
        out.print(f"one-stage (Cox stratified by trial): {math.exp(one['estimate']):.3f} "
                  f"({math.exp(one['ci_low']):.3f}–{math.exp(one['ci_high']):.3f})")
    if done.earlier is not None:
        before = done.earlier.to_json()
        out.print(f"on {result['topic']}@{before['version']}: fixed {math.exp(before['fixed']['estimate']):.3f}, "
                  f"random {math.exp(before['random']['estimate']):.3f}")
    if done.plot is not None:
        out.print(f"forest plot: {escape(str(done.plot))}")
