"""The curator's release commands: ``ipd release TRIAL@vN --tier TIER`` builds a release; ``notes``, ``lookup``.

``plan`` and ``approve`` register on the same group from ``release_plan``.
The group builds by default: a first argument that is not one of its
commands is the TRIAL@vN of ``ipd release build``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from typer.core import TyperGroup

from .console import Bars, emit_json, out, short
from .ipd import JsonOption, RepoOption, app, command, open_repository


class _BuildByDefault(TyperGroup):
    """``ipd release actg175@v1 --tier commercial`` is ``ipd release build actg175@v1 --tier commercial``."""

    ORDER = ("consent", "plan", "approve", "build", "notes", "lookup")  # as a curator uses them

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["build", *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):
        return sorted(self.commands, key=lambda c: (self.ORDER.index(c) if c in self.ORDER else len(self.ORDER), c))


release_app = typer.Typer(
    cls=_BuildByDefault, no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="De-identified releases per access tier, by the NHLBI rules: `ipd release TRIAL@vN --tier TIER` builds "
         "one (the same as `ipd release build`); consent, plan, approve, notes and lookup are its other commands.")
app.add_typer(release_app, name="release")

TierOption = Annotated[str, typer.Option(
    "--tier", help="noncommercial (excludes who refused sharing) or commercial (also who refused commercial use).")]


@command(target=release_app, name="build")
def build(
    ref: Annotated[str, typer.Argument(metavar="TRIAL@vN", help="The approved version to release.")],
    tier: TierOption,
    out_dir: Annotated[Optional[Path], typer.Option(
        "--out", help="Also copy the package into this new directory (for delivery on other media).")] = None,
    reissue: Annotated[bool, typer.Option(
        "--reissue", help="Build a new issue of the version's release for the tier (vN-TIER-K), under the current "
                          "package format and approval, with the same release IDs; needs --reason.")] = False,
    reason: Annotated[str, typer.Option(
        "--reason", help="Why the release is reissued (recorded, and said in its PROV record and release notes).")
                      ] = "",
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Build the release of an approved version for one tier: de-identify, scan, package, push, record."""
    from dataclasses import asdict

    from ..catalogue.releasing import Publisher
    from ..release.build import BuildOptions
    from ..release.build import build as run
    from ..repository import layout
    from ..repository.refs import Ref

    repository = open_repository(repo)
    publisher = Publisher.of(repository, Bars())
    result = run(repository, BuildOptions(Ref.parse(ref), tier, out_dir, then=publisher, reissue=reissue,
                                          reason=reason), Bars())
    record = result.record
    package = layout.trial(record.trial).release_package(record.name)
    published = publisher.published[0] if publisher and publisher.published else None
    if json:
        emit_json({**asdict(record), "built": result.built, "new_ids": result.new_ids,
                   "package": package,
                   "out": str(out_dir) if out_dir else None, "formula_columns": result.formula_columns,
                   "catalogue": ({"url": published.url, "commit": published.commit} if published else None)})
        return
    out.print(_built(result))
    where = out_dir or package
    out.print(f"Package in {escape(str(where))}: {', '.join(sorted(record.files))}")
    if published is not None:
        verb = f"Published to the catalogue (commit {published.commit[:12]})" if published.commit else \
            "Published in the catalogue already"
        out.print(f"{verb}: {escape(published.url)}")
    elif publisher is None:
        out.print("No release catalogue is set: release holders would need this repository (`ipd remote "
                  "catalogue URL` names one)")
    if result.formula_columns:
        line = formulas_line(result.formula_columns)
        out.print(line[:1].upper() + line[1:])


def _built(result) -> str:
    """What the build did: released, reissued, or found released already."""
    record = result.record
    if result.built and record.issue > 1:
        return escape(f"Reissued {record.trial}@{record.version} ({record.tier}) as {record.name} "
                      f"({record.reissue_reason}): {record.rows} participants × {len(record.columns)} variables, "
                      f"package format {record.package_format}, fingerprint {short(record.fingerprint)}; pushed to "
                      "the release remote")
    if result.built:
        return (f"Released {record.label}: {record.rows} participants × {len(record.columns)} variables, "
                f"{sum(record.excluded.values())} excluded by consent, fingerprint {short(record.fingerprint)}; "
                f"{result.new_ids} new release IDs; pushed to the release remote")
    return (f"{record.label} was released already; rebuilding it gave the same files (fingerprint "
            f"{short(record.fingerprint)})")


def formulas_line(columns: list[str]) -> str:
    """What the release and its plan say of the columns holding text a spreadsheet would run as a formula."""
    from ..backends.csvsafe import NOTE

    return escape(f"in the CSV file, {NOTE}: in {', '.join(columns)}")


@command(target=release_app, name="notes")
def notes(
    ref: Annotated[str, typer.Argument(metavar="TRIAL[@vN]", help="The release's version (default: the tier's latest).")],
    tier: TierOption,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """What changed in the released values since the tier's previous release, with the public reasons."""
    from ..release.notes import linkage_ids, releases
    from ..release.notes import notes as make_notes
    from ..repository.refs import Ref

    parsed = Ref.parse(ref)
    repository = open_repository(repo)
    version = releases(repository, parsed.trial, tier, parsed.version)[0].version
    found = make_notes(repository, parsed.trial, tier, version, linkage_ids(repository, parsed.trial, tier, version))
    if json:
        emit_json(found.as_dict())
        return
    out.print(found.to_markdown(), markup=False, emoji=False, end="")


@command(target=release_app, name="lookup")
def lookup(
    trial: Annotated[str, typer.Argument(help="Trial name.")],
    release_id: Annotated[str, typer.Argument(help="A release ID, e.g. R1234567.")],
    tier: Annotated[Optional[str], typer.Option(
        help="The tier whose release holds the ID: noncommercial or commercial. Default: every tier (an ID "
             "names one tier; the answer says which).")] = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Translate a release ID back to the participant (reads the linkage from restricted storage)."""
    from ..release import ids
    from ..release.record import records
    from ..repository.refs import check_trial_name

    repository = open_repository(repo)
    metadata = repository.dataset(check_trial_name(trial)).metadata()
    released = records(repository.root, trial)
    column = released[-1].participant_id if released else metadata.participant or "key"
    found = ids.lookup(repository.root, trial, column, release_id, tier)
    if json:
        emit_json(found.to_json())
        return
    which = f"{found.tier} release ID" if found.tier else "release ID of every tier"
    out.print(escape(f"{found.release_id} is {found.key_column} {found.key} in {found.trial} "
                     f"({which}, given in the release of {found.trial}@{found.assigned})"))

