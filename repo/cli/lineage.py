"""ipd lineage: the chain of PROV records from a version or release back to the original delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from .console import out, short
from .ipd import JsonOption, RepoOption, command, open_repository


@command
def lineage(
    ref: Annotated[str, typer.Argument(help="TRIAL@vN (a version), TRIAL@vN/TIER (its release), or TRIAL "
                                       "(the latest version).")],
    dot: Annotated[bool, typer.Option("--dot", help="Print the chain as Graphviz DOT.")] = False,
    png: Annotated[Optional[Path], typer.Option("--png", help="Draw the chain as a PNG picture into this file.")]
    = None,
    repo: RepoOption = Path("."),
    json: JsonOption = False,
) -> None:
    """Where a version or release came from: each step back to the delivery, with its activity, agents and time.

    --json prints the PROV records of the chain merged into one PROV-JSON document.
    """
    from ..errors import InvalidInput
    from ..provenance.lineage import lineage as run

    if json and dot:
        raise InvalidInput("--json and --dot both write to standard output: choose one")
    found = run(open_repository(repo).root, ref)
    if png is not None:
        from ..provenance.draw import to_png

        to_png(found.document, png)
    if json:
        out.file.write(found.prov_json())
    elif dot:
        from ..provenance.draw import to_dot

        out.file.write(to_dot(found.document) + "\n")
    elif png is not None:
        out.print(f"drew the lineage of {found.ref} ({len(found.records)} PROV records) into {escape(str(png))}")
    else:
        _render(found)


def _render(found) -> None:
    out.print(f"[bold]{escape(found.ref)}[/]: {len(found.records)} PROV record(s), back to the original delivery")
    for step in found.steps:
        indent = "  " if step.kind in ("version", "release", "approval") else "      "
        out.print(f"{indent}[bold]{step.kind}[/] {escape(step.name)}")
        if step.activity:
            out.print(f"{indent}  activity: {step.activity}" + (f", {step.time}" if step.time else ""))
        elif step.time:
            out.print(f"{indent}  time: {step.time}")
        if step.agents:
            out.print(f"{indent}  agents: {escape(', '.join(step.agents))}")
        for line in _details(step.details):
            out.print(f"{indent}  {escape(line)}")


def _details(details: dict) -> list[str]:
    lines = []
    for name, value in details.items():
        if name == "files":
            lines.append(f"files: {', '.join(f'{f} {v[:12]}…' for f, v in value.items())}")
        elif name == "validation":
            failing = f", failing: {value['failing']}" if value.get("failing") else ""
            lines.append(f"checks: {'passed' if value.get('success') else 'failed'} "
                         f"({value.get('results')} results{failing})")
        elif name == "fingerprint" and isinstance(value, str):
            lines.append(f"fingerprint: {short(value)}…")
        elif name == "entriesSha256":
            continue  # the entries are listed by id; their hashes are for `ipd verify`
        else:
            lines.append(f"{name}: {value}")
    return lines
