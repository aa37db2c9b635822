"""Why a check failed, in one line: the figures, the threshold and what was over it.

The JSON report carries every detail; the text and HTML reports carry this line, so a curator reading either
knows what to query without opening the JSON (a p-value under its threshold, the covariates over the balance
threshold, the arm missing for 106 participants, the column the delivery lacks).
"""

from __future__ import annotations

from typing import Any

from .results import CheckResult

SHOWN = 3  # offenders named per line


def why(result: CheckResult) -> str:
    """The reason ``result`` failed ("" for a check that passed)."""
    if result.success:
        return ""
    d = result.details
    parts = [part for part in (_error(d), _columns(d), _p_value(d), _pattern(d), _arm_missing(d), _unplanned(d),
                               _balance(d), _missing_by_arm(d), _published(d), _differs(d), _values(result))
             if part]
    return "; ".join(parts) or _generic(d)


def _error(d: dict[str, Any]) -> str:
    return f"could not run: {d['exception']}" if d.get("exception") else ""


def _columns(d: dict[str, Any]) -> str:
    found = d.get("mismatched") or {}
    said = []
    if found.get("missing"):
        said.append(f"missing column(s) {', '.join(map(str, found['missing']))}")
    if found.get("unexpected"):
        said.append(f"unexpected column(s) {', '.join(map(str, found['unexpected']))}")
    return "; ".join(said)


def _p_value(d: dict[str, Any]) -> str:
    p, threshold = d.get("p_value"), d.get("threshold")
    if p is None or threshold is None or "offenders" in d or p >= threshold:
        return ""
    test = f" ({d['test']})" if d.get("test") else ""
    return f"p = {p:.3g} < {threshold}{test}"


def _pattern(d: dict[str, Any]) -> str:
    pattern = d.get("pattern")
    return f"{pattern}: {d.get('runs')} runs, {d.get('expected_runs', 0):.1f} expected" \
        if pattern and pattern != "as expected" else ""


def _arm_missing(d: dict[str, Any]) -> str:
    return f"arm missing for {d['arm_missing']} participant(s)" if d.get("arm_missing") else ""


def _unplanned(d: dict[str, Any]) -> str:
    arms = d.get("unplanned_arms")
    return f"arm(s) not in the design: {', '.join(map(str, arms))}" if arms else ""


def _balance(d: dict[str, Any]) -> str:
    offenders = [o for o in d.get("offenders") or [] if "covariate" in o]
    if not offenders:
        return ""
    shown = [f"{o['covariate']} (arm {o['arm']}: d = {_number(o['d'])})" for o in offenders[:SHOWN]]
    more = f" and {len(offenders) - SHOWN} more" if len(offenders) > SHOWN else ""
    return f"standardised difference over {d.get('threshold')} against arm {d.get('reference_arm')}: " \
           f"{', '.join(shown)}{more}"


def _number(d: float | None) -> str:
    return "n/a (neither arm varies)" if d is None else f"{d:.2f}"


def _missing_by_arm(d: dict[str, Any]) -> str:
    offenders = [o for o in d.get("offenders") or [] if "share_by_arm" in o]
    if not offenders:
        return ""
    shown = [f"{o['variable']} ({' vs '.join(f'{100 * s:.1f}%' for s in o['share_by_arm'].values())})"
             for o in offenders[:SHOWN]]
    more = f" and {len(offenders) - SHOWN} more" if len(offenders) > SHOWN else ""
    return f"missing shares differ between arms by more than {d.get('missing_difference')}: " \
           f"{', '.join(shown)}{more}"


def _published(d: dict[str, Any]) -> str:
    if "published" not in d:
        return ""
    published, observed = d["published"], d.get("observed")
    if isinstance(published, dict):
        off = [f"arm {a}: {published.get(a)} published, {observed.get(a, 0)} in the data"
               for a in observed if published.get(a) != observed.get(a, 0)]
        return "; ".join(off)
    return f"{published} published, {observed} in the data"


def _differs(d: dict[str, Any]) -> str:
    differs = d.get("differs") or {}
    return "; ".join(f"{column} differs between the rows of {n} participant(s)" for column, n in differs.items())


def _values(result: CheckResult) -> str:
    d = result.details
    if result.unexpected_count and "differs" not in d:
        share = f" ({d['unexpected_percent']:.1f}%)" if d.get("unexpected_percent") is not None else ""
        return f"{result.unexpected_count} unexpected value(s){share}"
    if "observed_value" in d and "mismatched" not in d:
        return f"observed {d['observed_value']}"
    return ""


def _generic(d: dict[str, Any]) -> str:
    plain = [f"{k} {v}" for k, v in d.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    return "; ".join(plain[:SHOWN]) or "failed"
