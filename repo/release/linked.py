"""Records beside the participant table, released under the participants' release IDs.

Visits, events and laboratory values (another table of the trial, or the
varying columns of a trial of several rows a participant) go out with the
participant table's release: only the released participants' records, each
under its participant's release ID, ordered by release ID and the table's key.
The participant table carries the protections (quasi-identifiers, the minimum
cell, risk targets); a record column would undo them if it repeated one, so
every column the participant table releases other than as it is goes here too
only as deleted. Dates follow the participant's: days from their reference
date (relative mode) or moved by their offset (shift mode). Text without a
value set is verbatim text and is deleted, unless the rules keep it by name.
Every decision is a ``Modification`` of the plan, counted on the rows released.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..backends.columns import DATE, DATETIME, STRING, quote, type_class
from ..errors import InvalidInput
from .columnplan import DELETED, SHIFT_DAYS, ColumnPlan
from .labels import value_labels
from .modification import RELEASE_ID, Modification
from .risk import quasi_identifier_set
from .shape import JOINED

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .shape import Records

WAYS = {"age": "the age", "date": "a date", "consent": "a consent record", "qi": "a quasi-identifier",
        "qi_delete": "a quasi-identifier", "centre": "a centre", "technician": "a technician"}
NOT_KEPT = {"centre": "clinical centre identifier", "technician": "interviewer or technician identifier"}


@dataclass(frozen=True)
class Decision:
    column: str
    action: str  # "replace", "delete", "relative", "shift" or "keep"
    rationale: str
    sql: str | None = None  # the released value, over ``r`` (the record) and ``b`` (its participant in ``base``)
    recoding: str = "none"


@dataclass
class LinkedRelease:
    name: str
    table: pa.Table  # "release_id" first, then the released columns in the table's order
    dictionary: list[dict[str, Any]]
    modifications: list[Modification]
    key: list[str] | None  # the rest of its key after the release ID; None: a part of the key is not released
    value_labels: dict[str, dict[Any, str]]  # column -> {value: label}, from the table's dictionary


def decide(records: Records, plan: ColumnPlan, kinds: dict[str, str]) -> list[Decision]:
    """What happens to each column of ``records`` (``kinds``: its columns' type classes) beside the participant
    table whose columns ``plan`` releases."""
    rules = plan.rules
    qi = {p.column for p in rules.quasi_identifiers}
    protected = set(quasi_identifier_set(rules, list(plan.kinds)))  # generalised, suppressed, or counted in cells
    decisions = []
    for name, kind in kinds.items():
        column = quote(name)
        if name == records.participant:
            decisions.append(Decision(name, "replace", "participant IDs replaced by the participant's release ID "
                                                       "(NHLBI), as in the participant table"))
        elif (named := _deleted_by_name(name, rules)) is not None:
            decisions.append(Decision(name, "delete", named))
        elif name in plan.kinds and (plan.way(name) != "keep" or name in rules.generalise or name in protected):
            how = "a quasi-identifier" if name in protected else WAYS.get(plan.way(name), plan.way(name))
            decisions.append(Decision(name, "delete", f"the participant table releases {name} as {how}, protected "
                                                      "there; a copy on every record would undo that protection"))
        elif name in qi:
            raise InvalidInput(f"release.quasi_identifiers.{name}: {records.prefix(name)} varies between a "
                               "participant's records, and only the participant's own columns can be protected; "
                               "delete it or keep it in the release rules")
        elif kind in (DATE, DATETIME) or name in rules.dates.columns:
            decisions.append(_date(name, kind, plan))
        elif name in rules.keep:
            decisions.append(Decision(name, "keep", "reviewed and kept by the release rules", f"r.{column}"))
        elif kind == STRING and name not in records.categorical:
            decisions.append(Decision(name, "delete", "unedited verbatim text (NHLBI): deleted; a text column of "
                                                      "the records without a value set"))
        else:
            decisions.append(Decision(name, "keep", "released as it is", f"r.{column}"))
    return decisions


def _deleted_by_name(name: str, rules) -> str | None:
    for way, named in (("identifier", rules.identifiers), ("free_text", rules.free_text),
                       ("sensitive", rules.sensitive)):
        if name in named:
            return DELETED[way]
    for way, named in (("centre", rules.centres), ("technician", rules.technicians)):
        if name in named:
            return f"{NOT_KEPT[way]} (NHLBI): deleted from the records (only the participant table codes it)"
    return None


def _date(name: str, kind: str, plan: ColumnPlan) -> Decision:
    column, dates = f"r.{quote(name)}", plan.rules.dates
    if kind not in (DATE, DATETIME):
        raise InvalidInput(f"release.dates.columns: {name} is not a date column ({kind})")
    if dates.mode == "shift":
        offset = plan.offset_sql()
        sql = f"CAST({column} + {offset} AS DATE)" if kind == DATE else f"{column} + to_days({offset})"
        return Decision(name, "shift", "PhUSE/CDISC date shifting: moved by the participant's own offset, as are "
                                       "the participant table's dates", sql,
                        "shifted by the participant's offset, as every date of the participant")
    ref = dates.reference
    if not ref or plan.kinds.get(ref) not in (DATE, DATETIME):
        raise InvalidInput("release.dates.reference: the records' dates count days from the participant's "
                           f"reference date; name a date column of the participant table (now {ref!r})")
    sql = f"CAST(date_diff('day', CAST(b.{quote(ref)} AS DATE), CAST({column} AS DATE)) AS INTEGER)"
    return Decision(name, "relative", f"dates coded relative to the participant's {ref} (NHLBI): days since "
                                      f"{ref}; no calendar date is released", sql,
                    f"days from the participant's {ref} (negative: before it); no calendar dates")


def release(con: Connection, records: Records, plan: ColumnPlan, index: int) -> LinkedRelease:
    """The released records of the participants released (``rel``, from ``base``), as ``decide`` says."""
    kinds = {f.name: type_class(f.type) for f in records.table.schema}
    decisions = decide(records, plan, kinds)
    source = f"records_{index}"
    con.register(source, records.table)
    p = quote(records.participant)
    rows = (f"FROM {source} r JOIN base b ON r.{p} = b.{quote(plan.rules.participant_id)} "
            f"WHERE b.__rid IN (SELECT {RELEASE_ID} FROM rel)")
    kept = [d for d in decisions if d.sql is not None]
    select = "".join(f", {d.sql} AS {quote(d.column)}" for d in kept)
    order = ", ".join(["b.__rid", *(f"r.{quote(k)}" for k in records.key if k != records.participant)])
    table = con.sql(f"SELECT b.__rid AS {RELEASE_ID}{select} {rows} ORDER BY {order}").to_arrow_table()
    counts = con.sql(f"SELECT {', '.join(f'count(r.{quote(d.column)})' for d in decisions)} {rows}").fetchall()[0]
    modifications = [Modification(records.prefix(d.column), d.action, _parameters(d, plan), int(n), d.rationale)
                     for d, n in zip(decisions, counts) if d.action != "keep"
                     and not (d.action == "replace" and records.name == JOINED)]  # the participants' own says it
    labels = {c["name"]: c.get("label") or c.get("description") for c in records.columns}
    dictionary = [{"name": RELEASE_ID, "type": type_class(table.schema.field(RELEASE_ID).type),
                   "label": "Release participant ID",
                   "recoding": f"replaces {records.participant}: the participant's release ID, as in the "
                               "participant table"}]
    dictionary += [{"name": d.column, "type": type_class(table.schema.field(d.column).type),
                    "label": labels.get(d.column), "recoding": d.recoding} for d in kept]
    rest = [k for k in records.key if k != records.participant]
    released_key = rest if all(k in table.column_names for k in rest) else None
    return LinkedRelease(records.name, table.combine_chunks(), dictionary, modifications, released_key,
                         value_labels(records.columns))


def _parameters(decision: Decision, plan: ColumnPlan) -> dict[str, Any]:
    if decision.action == "replace":
        return {"by": "release_id"}
    if decision.action == "relative":
        return {"reference": plan.rules.dates.reference, "unit": "days"}
    if decision.action == "shift":
        return {"offset_days": [-SHIFT_DAYS, SHIFT_DAYS], "keyed_by": "secret" if plan.secret else "linkage"}
    return {}
