"""Re-identification risk over the quasi-identifier set, and whether a tier's release meets its targets.

The figures are those of the prosecutor model that ARX and sdcMicro report:
records fall into equivalence classes of equal quasi-identifier values; ``k``
is the smallest class, a record's risk is 1 / the size of its class, the
average risk is the mean over records (which is the number of classes over the
number of records), and records in classes smaller than the target ``k`` are
at risk. Missing values count as a value of their own, as pycanon counts them
and as the other disclosure figures do: a locally suppressed cell is missing,
and the records blanked alike form a class (``suppress`` says why this, not a
missing value matching any value, keeps k from overstating the protection).

The targets (``rules.Targets``) are declared per tier in the release rules;
rules written before targets existed have none, and are measured against the
defaults (k >= 5, average risk <= 0.09) without being held to them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.columns import quote
from .rules import Targets

if TYPE_CHECKING:
    from ..backends.sql import Connection
    from .rules import ReleaseRules

NEAR_EMPTY_SUPPRESSED = 0.9  # a variable with more of its cells suppressed than this keeps (near) no information


def quasi_identifier_set(rules: ReleaseRules, schema: Any) -> list[str]:
    """The columns an attacker is assumed to know, among ``schema``'s (a schema, a table or a list of names):
    race, sex, age, recoded centres, every quasi-identifier the rules protect (not deleted) and every column
    they generalise. Roles (arm, outcomes, follow-up) are in it only when the rules name them so: the proposal
    keeps them, and the outcome and follow-up no role declares (``outcomes``), as they are.
    One place, so the plan, the suppression and the disclosure figures measure the same set."""
    names = list(getattr(schema, "names", None) or getattr(schema, "column_names", None) or schema)
    gone = {rules.participant_id, *rules.identifiers, *rules.free_text, *rules.sensitive}
    wanted = [rules.race, rules.sex, rules.age.column,
              *(name for name, action in rules.centres.items() if action == "recode"),
              *(p.column for p in rules.quasi_identifiers if p.action != "delete"),
              *rules.generalise]
    out: list[str] = []
    for name in wanted:
        if name and name in names and name not in gone and name not in out:
            out.append(name)
    return out


@dataclass(frozen=True)
class Figures:
    records: int
    k: int | None  # smallest equivalence class (None: no records)
    classes: int
    average_risk: float  # mean over records of 1 / class size
    at_risk: int  # records in classes smaller than the target k
    share_at_risk: float
    sample_uniques: int  # records alone in their class

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def figures(con: Connection, relation: str, columns: list[str], k: int) -> Figures:
    """The prosecutor figures of ``relation`` over ``columns`` (one GROUP BY)."""
    group = f" GROUP BY {', '.join(quote(c) for c in columns)}" if columns else ""
    row = con.sql(f"SELECT count(*), min(n), coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE n < {int(k)}), 0), "
                  f"count(*) FILTER (WHERE n = 1) FROM (SELECT count(*) AS n FROM {relation}{group}) "
                  "WHERE n > 0").fetchall()[0]
    classes, smallest, records, at_risk, uniques = (int(v) if v is not None else None for v in row)
    if not records:
        return Figures(0, None, 0, 0.0, 0, 0.0, 0)
    return Figures(records, smallest, classes, round(classes / records, 6), at_risk, round(at_risk / records, 6),
                   uniques)


@dataclass
class Assessment:
    """One tier's risk before and after protection, against its targets, and what each variable lost."""

    tier: str
    declared: bool  # the rules declare targets (else the defaults are shown, not enforced)
    targets: Targets
    quasi_identifiers: list[str]
    before: Figures
    after: Figures
    variables: dict[str, dict] = field(default_factory=dict)  # per variable: loss.VariableLoss as JSON
    flagged: dict[str, str] = field(default_factory=dict)  # variable -> why it keeps (near) no information

    @property
    def misses(self) -> list[str]:
        """The targets the release misses, in words (empty: met)."""
        t, a = self.targets, self.after
        out = []
        if a.records and (a.k or 0) < t.k:
            out.append(f"k {a.k} < {t.k}")
        if a.average_risk > t.average_risk:
            out.append(f"average risk {a.average_risk:.3f} > {t.average_risk}")
        return out

    @property
    def met(self) -> bool:
        return not self.misses

    def to_json(self) -> dict[str, Any]:
        return {"targets": {**self.targets.to_yaml(), "declared": self.declared}, "met": self.met,
                "misses": self.misses, "quasi_identifiers": list(self.quasi_identifiers),
                "before": self.before.to_json(), "after": self.after.to_json(), "variables": self.variables,
                "flagged": self.flagged}


def assess(con: Connection, rules: ReleaseRules, tier: str, original: str, released: str,
           released_names: list[str], pairs: str | None = None) -> Assessment:
    """The tier's assessment: ``original`` holds the tier's rows before protection, ``released`` after; ``pairs``
    (optional) each released record beside its original values, for the loss per variable (``loss``)."""
    from .loss import variable_losses

    declared = tier in rules.targets
    targets = rules.targets.get(tier) or Targets()
    qis = quasi_identifier_set(rules, released_names)
    original_qis = quasi_identifier_set(rules, [c for c in _names(con, original)])
    result = Assessment(tier, declared, targets, qis, figures(con, original, original_qis, targets.k),
                        figures(con, released, qis, targets.k))
    if pairs is not None:
        result.variables = variable_losses(con, pairs, qis, result.after.records)
        for name, lost in result.variables.items():
            if lost["distinct_after"] <= 1 and lost["distinct_before"] > 1:
                result.flagged[name] = "one value left"
            elif lost["records"] and lost["cells_suppressed"] > NEAR_EMPTY_SUPPRESSED * lost["records"]:
                result.flagged[name] = f"{lost['cells_suppressed']} of {lost['records']} cells suppressed"
    return result


def _names(con: Connection, relation: str) -> list[str]:
    return [d[0] for d in con.sql(f"SELECT * FROM {relation} LIMIT 0").description]


def loss_words(lost: dict[str, Any]) -> str:
    return (f"{lost['distinct_before']} distinct values before, {lost['distinct_after']} after; "
            f"{lost['cells_changed']} of {lost['records']} cells changed, {lost['cells_suppressed']} suppressed; "
            f"non-uniform entropy {lost['non_uniform_entropy']:.2f} (0: nothing lost, 1: nothing left)")


def describe_loss(dictionary: list[dict], assessment: Assessment) -> None:
    """Each quasi-identifier's dictionary entry says what protection cost it."""
    for entry in dictionary:
        lost = assessment.variables.get(entry["name"])
        if lost is not None:
            entry["information_lost"] = loss_words(lost)


def readme_lines(assessment: Assessment, accepted: dict | None) -> list[str]:
    """The README's account of the risk targets and, per variable, what was done and what it cost."""
    t, before, after = assessment.targets, assessment.before, assessment.after
    verdict = "met" if assessment.met else f"NOT met ({'; '.join(assessment.misses)})"
    lines = [
        f"Quasi-identifiers (what an attacker is assumed to know): {', '.join(assessment.quasi_identifiers) or 'none'}.",
        f"Targets for this tier: every combination of their values shared by at least {t.k} participants, an "
        f"average re-identification risk (prosecutor model) of at most {t.average_risk}, at most "
        f"{t.suppression:.0%} of records suppressed: {verdict}.",
        f"Before protection: k = {before.k}, average risk {before.average_risk:.3f}, {before.sample_uniques} "
        f"participants unique. Released: k = {after.k}, average risk {after.average_risk:.3f}, "
        f"{after.sample_uniques} unique.",
    ]
    if accepted:
        lines.append(f"The approver ({accepted.get('by')}) accepted the remaining risk: {accepted.get('reason')}")
    lines += ["", "What was done to each quasi-identifier and what it cost (see dictionary.yaml for the recoding):"]
    for name, lost in assessment.variables.items():
        flag = f" [keeps (near) no information: {assessment.flagged[name]}]" if name in assessment.flagged else ""
        lines.append(f"  {name}: {loss_words(lost)}{flag}")
    return lines
