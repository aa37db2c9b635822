"""Terminal output for the CLI: progress bars, tables, JSON, one-line errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class Bars:
    """A Progress (see repo.progress) drawn on stderr, so --json output stays clean."""

    @contextmanager
    def step(self, description: str, total: int | None = None) -> Iterator:
        if not err.is_terminal:
            yield lambda n: None
            return
        columns = [SpinnerColumn(), TextColumn("{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn()]
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n: bar.advance(task, n)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)


def short(fingerprint: str) -> str:
    return fingerprint.removeprefix("sha256:")[:12]


def _range(column: dict) -> str:
    if "values" in column:
        shown = [f"{v['value']}" + (f"={v['label']}" if v.get("label") else "") + f" ({v['count']})"
                 for v in column["values"]]
        return ", ".join(shown)
    if "min" in column:
        return f"{column['min']} … {column['max']}"
    return ""


def render_summary(summary: dict) -> None:
    from rich.table import Table

    from ..backends import rowkey

    out.print(f"[bold]{summary['trial']}@{summary['version']}[/]" +
              (f"  {escape(summary['title'])}" if summary.get("title") else ""))
    facts = [
        ("created", summary["created"]), ("author", summary["author"]), ("message", summary["message"]),
        ("kind", summary["kind"] + (f" (after {summary['parent']})" if summary["parent"] else "")),
        ("rows", f"{summary['rows']} × {summary['columns_count']} columns, key {rowkey.label(summary['key'])}"
                 + (f", participant {summary['participant']}" if summary.get("participant") else "")),
        ("roles", ", ".join(f"{k}={v}" for k, v in summary["roles"].items()) or "-"),
        ("storage", f"{summary['parts']} Parquet part(s), {summary['bytes']:,} bytes"),
        ("fingerprint", summary["fingerprint"]),
    ]
    if summary.get("delivery"):
        d = summary["delivery"]
        facts.append(("delivery", f"{d['file']} ({d['format']}, sha256 {d['sha256'][:12]})"))
    facts += [("pooled from", f"{s['trial']}@{s['version']} (fingerprint "
                              f"{s['fingerprint'].removeprefix('sha256:')[:12]}), mapping {s['mapping']} (sha256 "
                              f"{s['mapping_sha256'][:12]})") for s in summary.get("sources") or []]
    if summary.get("tables"):
        facts.insert(5, ("table", f"{summary['participant_table']}: the participant table (the rows above)"))
        facts += [("table", f"{t['name']}: {t['rows']} × {t['columns']} columns, key {rowkey.label(t['key'])}")
                  for t in summary["tables"]]
    for name, value in facts:
        out.print(f"  {name:<12} {escape(str(value))}")
    table = Table("column", "type", "label", "missing", "distinct", "range / values")
    for c in summary["columns"]:
        table.add_row(c["name"], c["type"], c.get("label", ""), str(c.get("missing", "")),
                      str(c.get("distinct", "")), _range(c))
    out.print(table)


SHOWN_KEYS = 10


def _keys(result) -> str:
    from ..backends.rowkey import listed

    keys = ", ".join(map(listed, result.unexpected_keys[:SHOWN_KEYS]))
    more = result.unexpected_count - min(len(result.unexpected_keys), SHOWN_KEYS)
    return keys + (f" (+{more} more)" if more > 0 else "")


def render_check(report) -> None:
    from rich.table import Table

    from ..checks.why import why

    verdict = "[green]passes[/]" if report.success else "[red]FAILS[/]"
    out.print(f"[bold]{report.trial}@{report.version}[/] {verdict}: "
              f"{sum(not r.success for r in report.results)} of {len(report.results)} checks fail")
    table = Table("check", "result", "unexpected", "keys at fault")
    table.columns[0].overflow = "fold"
    for r in report.results:
        table.add_row(escape(r.name), "pass" if r.success else "[red]FAIL[/]",
                      str(r.unexpected_count) if r.unexpected_count else "", escape(_keys(r)))
    out.print(table)
    for r in report.results:
        if not r.success:
            out.print(f"[red]FAIL[/] {escape(r.name)}: {escape(why(r))}")
    for r in report.results:
        for figure in r.figures:
            figure_table = Table(*map(str, figure.columns), title=escape(f"{r.name}: {figure.title}"))
            for row in figure.rows:
                figure_table.add_row(*(escape(str(v)) for v in row))
            out.print(figure_table)


def render_failing(record, failing) -> None:
    """After a version is cut: the checks it fails, each with why (nothing when all pass)."""
    from ..checks.why import why

    if not failing:
        return
    out.print(f"[red]{len(failing)} check(s) fail[/] on {record.trial}@{record.version} "
              f"(`ipd check {record.trial}@{record.version}` for the report):")
    for r in failing:
        out.print(f"  [red]FAIL[/] {escape(r.name)}: {escape(why(r))}")


def render_validation(result) -> None:
    for report in result.checks:
        failing = [r.name for r in report.results if not r.success]
        if failing:
            out.print(f"{report.trial}@{report.version}: [red]{len(failing)} of {len(report.results)} checks "
                      f"fail[/] ({escape(', '.join(failing))})")
        else:
            out.print(f"{report.trial}@{report.version}: {len(report.results)} checks [green]ok[/]")
    for version in result.versions:
        status = "[green]fingerprint ok[/]" if version.success else f"[red]FAIL[/] {escape(version.problem)}"
        out.print(f"{version.trial}@{version.version}: {status}")
    for problem in result.problems:
        out.print(f"{problem['object']}: [red]FAIL[/] {escape(problem['problem'])}")
    out.print("[green]valid[/]" if result.success else "[red]not valid[/]")
