"""What the rules do with each column the content scan found something in, and the refusal to plan a release
that lets one out.

A finding in a column the rules delete, replace or recode is settled. A finding
in a column they release (kept as it is, protected as a quasi-identifier, coded
as days) stops the plan until the curator deletes the column or records, under
``release.exceptions``, why it may go: the reason is part of the rules, so the
approval covers it. Which way a column goes is asked of ``columnplan``, the
code that builds the release, so the plan and the package cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from .columnplan import ColumnPlan

if TYPE_CHECKING:
    from .content import Finding
    from .rules import ReleaseRules

NHLBI = {"identifiers": "a direct identifier, deleted (NHLBI IV.B.3.a)",
         "sensitive": "deleted (NHLBI IV.B.4.c)", "free_text": "verbatim text, deleted (NHLBI IV.B.4.e)"}


def rationale(finding: Finding) -> str:
    """Why the proposal deletes the column, citing the evidence."""
    return f"{finding.said}, whatever its name: {NHLBI[finding.rule]}"


@dataclass(frozen=True)
class Treated:
    """A finding and what the rules do with its column."""

    finding: Finding
    treatment: str  # "deleted (release.identifiers)", "released as it is (release.keep)", …
    released: bool  # the column's values (or, for a sensitive variable, the variable) leave in the release
    exception: str | None  # the curator's reason for releasing it anyway (release.exceptions)

    def to_json(self) -> dict[str, Any]:
        return {**self.finding.to_json(), "treatment": self.treatment, "released": self.released,
                "exception": self.exception}


def treated(findings: list[Finding], rules: ReleaseRules, kinds: dict[str, str]) -> list[Treated]:
    """Each finding with its column's treatment, decided by the code that builds the release (columnplan)."""
    ways = ColumnPlan(None, rules, kinds, set(), None)  # type: ignore[arg-type]  # way() reads rules and kinds only
    out = []
    for finding in findings:
        treatment, released = _treatment(rules, finding.column, ways.way(finding.column))
        out.append(Treated(finding, treatment, released, rules.exceptions.get(finding.column) if released else None))
    return out


def _treatment(rules: ReleaseRules, column: str, way: str) -> tuple[str, bool]:
    protection = {p.column: p.action for p in rules.quasi_identifiers}.get(column)
    deleted = {"id": "replaced by release IDs (release.participant_id)", "identifier": "deleted (release.identifiers)",
               "free_text": "deleted (release.free_text)", "sensitive": "deleted (release.sensitive)",
               "consent": "deleted (a consent record)", "qi_delete": "deleted (release.quasi_identifiers)"}
    if way in deleted:
        return deleted[way], False
    if way in ("centre", "technician"):
        rule = "centres" if way == "centre" else "technicians"
        action = getattr(rules, rule)[column]
        return f"{'recoded' if action == 'recode' else 'deleted'} (release.{rule})", False
    return {"date": "released as days (release.dates)", "age": "released with the age ceiling (release.age)",
            "qi": f"released, {protection} (release.quasi_identifiers)",
            "keep": "released as it is (release.keep)" if column in rules.keep else
            "released as it is (no rule names it)"}[way], True


def refuse_released(found: list[Treated], where: str) -> None:
    """Stop the plan at the first column released with a finding and no exception, naming what to do."""
    open_ = [t for t in found if t.released and t.exception is None]
    if not open_:
        return
    first = open_[0]
    column = first.finding.column
    others = list(dict.fromkeys(f"{t.finding.column} ({t.finding.kind})" for t in open_
                                if t.finding.column != column))
    also = f"; also {', '.join(others)}" if others else ""
    raise InvalidInput(f"{where}: release: {column} is {first.treatment} but {first.finding.said}: delete it "
                       f"(release.{first.finding.rule}) or record why it may be released "
                       f"(release.exceptions.{column}: REASON){also}")
