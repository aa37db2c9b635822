"""A static HTML report of a check, for a curator to open or publish."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from ..backends import rowkey
from .results import CheckResult, Figure
from .why import why

if TYPE_CHECKING:
    from .results import CheckReport

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: .5rem 0 1.5rem; }
td, th { border: 1px solid #ccc; padding: .25rem .6rem; text-align: left; vertical-align: top; }
.pass { color: #17692c; font-weight: 600; } .fail { color: #b3141b; font-weight: 600; }
.keys { font-family: monospace; max-width: 40rem; }
"""
SHOWN_KEYS = 50


def _figure(figure: Figure) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in figure.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in row) + "</tr>" for row in figure.rows)
    return f"<h4>{escape(figure.title)}</h4><table><tr>{head}</tr>{body}</table>"


def _row(result: CheckResult) -> str:
    status = '<span class="pass">pass</span>' if result.success else '<span class="fail">FAIL</span>'
    keys = ", ".join(escape(rowkey.listed(k)) for k in result.unexpected_keys[:SHOWN_KEYS])
    if len(result.unexpected_keys) > SHOWN_KEYS or result.unexpected_count > len(result.unexpected_keys[:SHOWN_KEYS]):
        keys += " …" if keys else ""
    return (f"<tr><td>{escape(result.name)}</td><td>{escape(result.kind)}</td><td>{status}</td>"
            f"<td>{escape(why(result))}</td><td>{result.unexpected_count}</td><td class=\"keys\">{keys}</td></tr>")


def render(report: CheckReport) -> str:
    verdict = "passes" if report.success else "fails"
    failing = sum(not r.success for r in report.results)
    rows = "".join(_row(r) for r in report.results)
    figures = "".join(
        f"<h3>{escape(r.name)}</h3>" + "".join(_figure(f) for f in r.figures) for r in report.results if r.figures
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ipd check: {escape(report.trial)}@{escape(report.version)}</title><style>{STYLE}</style></head>
<body>
<h1>{escape(report.trial)}@{escape(report.version)} {verdict}</h1>
<p>{len(report.results)} checks, {failing} failing. Fingerprint <code>{escape(report.fingerprint)}</code>.</p>
<table><tr><th>check</th><th>kind</th><th>result</th><th>why it failed</th><th>unexpected</th><th>keys at fault</th></tr>
{rows}</table>
<h2>Figures</h2>
{figures}
</body></html>
"""


def write(report: CheckReport, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "index.html"
    path.write_text(render(report))
    return path
