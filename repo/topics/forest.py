"""The forest plot of a meta-analysis, as a PNG.

One row a trial: its hazard or odds ratio on a log axis with the 95% interval, a square whose area is
the trial's inverse-variance weight; a trial that was not pooled says why in its row. Below, the
pooled diamonds (fixed effect, random effects by DerSimonian-Laird and by REML, and the one-stage
model when there is one), and a line at 1. With ``compare``, an earlier analysis (another pooled
version of the topic) is drawn hollow just under each row, named in the legend. matplotlib draws on
its Agg canvas (no display, no pyplot state), imported here only, so that ``ipd --help`` stays fast.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput, StorageError
from .meta import Analysis
from .pooling import Pooled

OFFSET = 0.32  # how far below a row the compared analysis is drawn
NOW, EARLIER = "#1f4e79", "#c0504d"


@dataclass(frozen=True)
class _Row:
    label: str
    now: Pooled | None
    earlier: Pooled | None
    note: str | None = None  # why the trial is not pooled
    weight: float | None = None  # share of the fixed-effect weight, for the square's area
    diamond: bool = False


def forest_png(analysis: Analysis, path: Path, title: str, compare: Analysis | None = None,
               labels: tuple[str, str] = ("vN", "vM")) -> Path:
    """Draw the forest plot into ``path``, written whole or not at all."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise InvalidInput(f"{path}: the forest plot is a PNG; name the file *.png")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rows = _rows(analysis, compare)
    top, bottom, row = 1.1, 0.75 + (0.3 if compare else 0.0), 0.4  # inches: title and header, axis, a row
    height = top + bottom + row * len(rows)
    figure = Figure(figsize=(11, height))
    FigureCanvasAgg(figure)
    axes = figure.add_axes((0.27, bottom / height, 0.46, row * len(rows) / height))
    _draw(axes, rows, compare is not None)
    _frame(axes, rows, analysis, compare, labels)
    _header(figure, height, title, analysis, compare, labels)
    return _write(figure, path)


def _header(figure, height: float, title: str, analysis: Analysis, compare: Analysis | None,
            labels: tuple[str, str]) -> None:
    figure.text(0.02, 1 - 0.15 / height, title, fontsize=12, fontweight="bold", va="top")
    lines = [_heterogeneity(analysis)]
    if compare is not None:
        lines = [f"{labels[0]}: {lines[0]}", f"{labels[1]}: {_heterogeneity(compare)}"]
    if any(t.effect and t.effect.corrected for t in analysis.trials):
        lines.append("* a zero cell: 0.5 added to each cell of the trial's 2x2 table")
    figure.text(0.02, 1 - 0.5 / height, "\n".join(lines), fontsize=8, color="#444444", va="top")


def _write(figure, path: Path) -> Path:
    """Save beside the target under a hidden name, then rename: a failure leaves no partial PNG."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        figure.savefig(partial, format="png", dpi=110)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(f"{path}: cannot write the forest plot ({exc.strerror or exc})") from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return path


def _rows(analysis: Analysis, compare: Analysis | None) -> list[_Row]:
    earlier = {t.trial: t for t in compare.trials} if compare else {}
    names = [t.trial for t in analysis.trials] + [n for n in earlier if n not in {t.trial for t in analysis.trials}]
    now = {t.trial: t for t in analysis.trials}
    total = sum(1 / t.effect.se ** 2 for t in analysis.pooled_trials)
    rows = []
    for name in names:
        trial, before = now.get(name), earlier.get(name)
        effect = trial.effect if trial else None
        note = trial.reason if trial else "not in this version"
        mark = " *" if effect and effect.corrected else ""
        rows.append(_Row(f"{name}{mark}  ({_counts(trial)})" if trial else name,
                         Pooled(effect.estimate, effect.se) if effect else None,
                         Pooled(before.effect.estimate, before.effect.se) if before and before.effect else None,
                         note, (1 / effect.se ** 2) / total if effect else None))
    rows.append(_Row("", None, None))
    rows.append(_Row("Fixed effect (inverse variance)", analysis.fixed, compare.fixed if compare else None,
                     diamond=True))
    rows.append(_Row("Random effects (DerSimonian-Laird)", analysis.random, compare.random if compare else None,
                     diamond=True))
    rows.append(_Row("Random effects (REML)", analysis.reml, compare.reml if compare else None, diamond=True))
    if analysis.one_stage is not None:
        rows.append(_Row("One stage (Cox stratified by trial)", analysis.one_stage,
                         compare.one_stage if compare else None, diamond=True))
    return rows


def _counts(trial) -> str:
    return f"{trial.events}/{trial.n} events"


def _draw(axes, rows: list[_Row], comparing: bool) -> None:
    for index, row in enumerate(rows):
        y = -index
        if row.now is not None:
            _mark(axes, row, row.now, y, NOW, filled=True)
        elif row.note:
            axes.text(1.0, y, f"not pooled: {row.note}", fontsize=7, color="#777777", ha="center", va="center",
                      zorder=4, bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none"})
        if comparing and row.earlier is not None:
            _mark(axes, row, row.earlier, y - OFFSET, EARLIER, filled=False)


def _mark(axes, row: _Row, pooled: Pooled, y: float, colour: str, filled: bool) -> None:
    low, mid, high = (math.exp(v) for v in (pooled.ci_low, pooled.estimate, pooled.ci_high))
    if row.diamond:
        height = 0.22 if filled else 0.14
        axes.fill([low, mid, high, mid], [y, y + height, y, y - height], facecolor=colour if filled else "none",
                  edgecolor=colour, linewidth=1.2, zorder=3)
        return
    axes.plot([low, high], [y, y], color=colour, linewidth=1.3 if filled else 1.0,
              linestyle="-" if filled else "--", zorder=2)
    if filled:
        size = 5 + 16 * math.sqrt(row.weight or 0.0)
        axes.plot([mid], [y], marker="s", markersize=size, color=colour, zorder=3)
    else:
        axes.plot([mid], [y], marker="o", markersize=6, markerfacecolor="white", markeredgecolor=colour, zorder=3)


def _frame(axes, rows: list[_Row], analysis: Analysis, compare: Analysis | None, labels: tuple[str, str]) -> None:
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axes.set_xscale("log")
    low, high = _limits(rows)
    axes.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0) if high / low < 1e3 else (1.0,)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlim(low, high)
    axes.set_ylim(-len(rows) + 0.4, 0.7)
    axes.axvline(1.0, color="#333333", linewidth=0.8, zorder=1)
    axes.axvline(math.exp(analysis.random.estimate), color=NOW, linewidth=0.6, linestyle=":", zorder=1)
    axes.set_yticks([-i for i in range(len(rows))], [row.label for row in rows], fontsize=8)
    axes.tick_params(axis="y", length=0)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    ratio = "Hazard ratio" if analysis.method == "cox" else "Odds ratio"
    axes.set_xlabel(f"{ratio} ({analysis.treatment} = {analysis.active} against control), 95% CI, log scale",
                    fontsize=8)
    column = axes.get_yaxis_transform()
    axes.text(1.03, 0.6, f"{analysis.measure} [95% CI]", transform=column, fontsize=8, fontweight="bold")
    axes.text(1.45, 0.6, "weight (fixed)", transform=column, fontsize=8, fontweight="bold", ha="right")
    for index, row in enumerate(rows):
        if row.now is not None:
            axes.text(1.03, -index, _ratio(row.now), transform=column, fontsize=8, va="center")
        if row.weight is not None:
            axes.text(1.45, -index, f"{100 * row.weight:.1f}%", transform=column, fontsize=8, va="center",
                      ha="right")
    if compare is not None:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=NOW, marker="s", linestyle="-", label=labels[0]),
                   Line2D([], [], color=EARLIER, marker="o", markerfacecolor="white", linestyle="--",
                          label=labels[1])]
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.5 / len(rows) - 0.06), ncol=2,
                    fontsize=8, frameon=False)


def _limits(rows: list[_Row]) -> tuple[float, float]:
    """The x range that holds every interval, within 1/1000 to 1000 (longer ones run off the edge)."""
    bounds = [math.exp(v) for row in rows for p in (row.now, row.earlier) if p is not None
              for v in (p.ci_low, p.ci_high) if math.isfinite(v)]
    low, high = min(bounds + [1.0]), max(bounds + [1.0])
    return max(low / 1.3, 1e-3), min(high * 1.3, 1e3)


def _ratio(pooled: Pooled) -> str:
    low, mid, high = (_number(math.exp(v)) for v in (pooled.ci_low, pooled.estimate, pooled.ci_high))
    return f"{mid} [{low}, {high}]"


def _number(value: float) -> str:
    return f"{value:.2f}" if 0.01 <= value < 100 else f"{value:.2g}"


def _heterogeneity(analysis: Analysis) -> str:
    random, reml = analysis.random, analysis.reml
    if random.i2 is None:
        return f"{len(analysis.pooled_trials)} trial pooled: heterogeneity is not defined"
    return (f"{len(analysis.pooled_trials)} of {len(analysis.trials)} trials pooled;  heterogeneity: "
            f"Q = {random.q:.2f} (p = {random.q_p:.3g}),  I² = {100 * random.i2:.0f}%,  "
            f"τ² = {random.tau2:.3g} (DerSimonian-Laird), {reml.tau2:.3g} (REML)")
