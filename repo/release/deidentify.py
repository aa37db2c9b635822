"""One version made into a de-identified release for one access tier, by the NHLBI rules.

The whole release is one DuckDB query over the version's rows: participants
excluded for the tier are left out, the participant ID is replaced by the
release ID, identifiers, sensitive and verbatim columns are dropped, dates
lose the calendar, and every quasi-identifier is protected. Every change is
logged as a ``Modification`` (what, with which parameters, how many rows,
why) and checked afterwards against the rows actually released, so the log
states what the release is, not what was intended. No per-row Python: a
million rows take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..backends.columns import quote, type_class
from ..backends.sql import connect
from ..errors import IntegrityError, InvalidInput
from . import columnplan, suppress
from .cells import cell_check, extremes, literal, plain, value_counts
from .modification import RELEASE_ID, Modification
from .protect import CODED, NUMERIC
from .rules import TIERS, ConsentRule, ReleaseRules

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection
    from .linked import LinkedRelease
    from .shape import Records



@dataclass
class Deidentified:
    table: pa.Table  # release rows sorted by release ID, "release_id" first, excluded participants gone
    modifications: list[Modification]
    dictionary: list[dict]  # per released column: name, type, label, recoding (in words)
    excluded: dict[str, int]  # {"no_sharing": n, "no_commercial": m} for this tier
    shared_ids: bool = False  # every release ID is a legacy one, the same in every tier (``ids``)
    assessment: Any = None  # risk.Assessment: the risk before and after, against the tier's targets
    linked: list[LinkedRelease] = field(default_factory=list)  # the records beside the participants (``linked``)
    joined: pa.Table | None = None  # a one-table trial of several rows a participant: its rows, one a record
    joined_key: list[str] | None = None  # their key after the release ID (None: a part of it is not released)

    @property
    def data(self) -> pa.Table:
        """What the package writes as the trial's data: its rows (the participants, or their records joined)."""
        return self.joined if self.joined is not None else self.table

    @property
    def tables(self) -> dict[str, pa.Table]:
        """The other tables of a trial of several tables, released: name -> rows."""
        return {r.name: r.table for r in self.linked if r.name}


def deidentify(table: pa.Table, rules: ReleaseRules, tier: str, release_ids: dict, columns: list[dict],
               excluded_ids: dict[str, set], secret: bytes | None = None, shared_ids: bool = False,
               codes: pa.Table | None = None, records: list[Records] | tuple = ()) -> Deidentified:
    """The release of ``table`` for ``tier``.

    ``release_ids`` maps original keys to release IDs; ``excluded_ids`` holds the consent ID lists kept
    in files (per rule name). ``secret`` keys the per-participant offsets of the "shift" date mode; without
    it they are keyed by the linkage itself (secret too, but new participants change every offset).
    ``shared_ids``: the release IDs are legacy ones, shared by the tiers, and the dictionary says so.
    ``codes``: the tier's centre and technician codes (``codes.as_table``: column, value, code), drawn at random;
    None: numbered in the sort order of the values, as in releases before package format 3 (and in plans).
    ``records``: the participants' records beside ``table`` (``shape``), released under their release IDs.
    The same inputs give the same table, byte for byte.
    """
    if tier not in TIERS:
        raise InvalidInput(f"unknown tier {tier!r}; the tiers are {', '.join(TIERS)}")
    names = table.column_names
    if rules.participant_id not in names:
        raise InvalidInput(f"release.participant_id: no column {rules.participant_id!r}")
    if RELEASE_ID in names and rules.participant_id != RELEASE_ID:
        raise InvalidInput(f"the column {RELEASE_ID!r} would clash with the release IDs; rename it first")
    con = connect()
    con.register("src", table)
    kinds = {f.name: type_class(f.type) for f in table.schema}
    categorical = {c["name"] for c in columns if c.get("values")}
    plan = columnplan.ColumnPlan(con, rules, kinds, categorical, secret, random_codes=codes is not None)
    excluded = _base(con, rules, tier, kinds, release_ids, excluded_ids, plan.recoded(), codes)
    plan.build()
    select = ", ".join(f"{o.sql} AS {quote(o.name)}" for o in plan.outputs)
    result = con.sql(f"SELECT __rid AS {RELEASE_ID}{', ' if select else ''}{select} FROM base ORDER BY __rid")
    released = result.to_arrow_table().combine_chunks()
    released, suppressed = suppress.apply(con, released, rules, tier, RELEASE_ID)
    modifications = _finish(con, plan, released, rules) + [Modification(*fields) for fields in suppressed]
    assessment = _assess(con, rules, tier, released)
    labels = {c["name"]: c.get("label") or c.get("description") for c in columns}
    kept = "every release of this trial" + ("" if shared_ids else " in this tier (the other tier gives its "
                                                                  "participants other release IDs)")
    dictionary = [{"name": RELEASE_ID, "type": type_class(released.schema.field(RELEASE_ID).type),
                   "label": "Release participant ID",
                   "recoding": f"replaces {rules.participant_id}; a participant keeps its release ID in {kept}"}]
    for out in plan.outputs:
        dictionary.append({"name": out.name, "type": type_class(released.schema.field(out.name).type),
                           "label": labels.get(out.name), "recoding": out.recoding})
    if rules.targets:  # what protection cost, per quasi-identifier (rules written before targets: as they were)
        from .risk import describe_loss

        describe_loss(dictionary, assessment)
    linked = _linked(con, plan, records)
    modifications += [m for r in linked for m in r.modifications]
    joined = next((r for r in linked if not r.name), None)
    order = next((r.order for r in records if not r.name), [])
    if joined is not None:
        dictionary = _joined_dictionary(dictionary, joined.dictionary, order)
    return Deidentified(released, modifications, dictionary, excluded, shared_ids, assessment,
                        [r for r in linked if r.name], _joined(con, released, joined, order) if joined else None,
                        joined.key if joined else None)


def _linked(con: Connection, plan: columnplan.ColumnPlan, records) -> list[LinkedRelease]:
    from .linked import release

    return [release(con, r, plan, i) for i, r in enumerate(records)]


def _joined(con: Connection, released: pa.Table, records: LinkedRelease, order: list[str]) -> pa.Table:
    """A one-table trial's rows, one a record: each record's released columns beside its participant's, in the
    columns' order as delivered, ordered as the records are (release ID, then key)."""
    import pyarrow as pa

    con.register("joined_records", records.table.append_column("__n", pa.array(range(records.table.num_rows),
                                                                                 pa.int64())))
    con.register("joined_participants", released)
    mine = set(records.table.column_names) - {RELEASE_ID}
    theirs = set(released.column_names) - {RELEASE_ID}
    columns = [f"p.{quote(c)}" if c in theirs else f"r.{quote(c)}" for c in order if c in mine | theirs]
    rows = con.sql(f"SELECT r.{RELEASE_ID}{''.join(', ' + c for c in columns)} FROM joined_records r "
                   f"JOIN joined_participants p USING ({RELEASE_ID}) ORDER BY r.__n").to_arrow_table()
    return rows.combine_chunks()


def _joined_dictionary(participants: list[dict], records: list[dict], order: list[str]) -> list[dict]:
    """The dictionary of the joined rows: the release ID (as the participant table says it), then each column in
    the delivered order."""
    entries = {e["name"]: e for e in records[1:]} | {e["name"]: e for e in participants}
    return [participants[0], *(entries[c] for c in dict.fromkeys(order) if c in entries and c != RELEASE_ID)]


def _assess(con: Connection, rules: ReleaseRules, tier: str, released: pa.Table):
    """The tier's risk before (table ``base``) and after (``rel``), and each quasi-identifier's loss, from the
    released records beside their original values."""
    from .risk import assess, quasi_identifier_set

    names = released.column_names
    qis = quasi_identifier_set(rules, names)
    pairs = ", ".join(f"b.{quote(q)} AS {quote('o:' + q)}, r.{quote(q)} AS {quote('r:' + q)}" for q in qis)
    con.execute(f"CREATE OR REPLACE TEMP TABLE pairs AS SELECT {pairs or '1 AS one'} FROM rel r "
                f"JOIN base b ON r.{RELEASE_ID} = b.__rid")
    return assess(con, rules, tier, "base", "rel", names, "pairs")


def _consent(con: Connection, name: str, rule: ConsentRule | None, kinds: dict[str, str],
             pid: str, excluded_ids: dict[str, set]) -> str:
    """SQL true for the participants a consent rule excludes (never NULL: missing consent is not a refusal)."""
    parts = []
    if rule is not None and rule.column:
        if rule.column not in kinds:
            raise InvalidInput(f"release.consent.{name}: no column {rule.column!r}")
        parts.append(columnplan.matches(quote(rule.column), kinds[rule.column], list(rule.refused)))
    if rule is not None and rule.file and name not in excluded_ids:
        raise InvalidInput(f"release.consent.{name}: the ID list {rule.file} was not read")
    if name in excluded_ids:
        import pyarrow as pa

        ids = pa.table({"id": pa.array(sorted(str(i) for i in excluded_ids[name]), pa.string())})
        con.register(f"consent_{name}", ids)
        parts.append(f"CAST({quote(pid)} AS VARCHAR) IN (SELECT id FROM consent_{name})")
    return f"coalesce({' OR '.join(parts)}, FALSE)" if parts else "FALSE"


def _base(con: Connection, rules: ReleaseRules, tier: str, kinds: dict[str, str], release_ids: dict,
          excluded_ids: dict[str, set], recoded: list[str], drawn: pa.Table | None) -> dict[str, int]:
    """Table ``base``: the tier's participants with their release IDs (``__rid``) and the codes of
    recoded columns: the tier's ``drawn`` codes, or (without them) ranks over every participant, so both
    tiers get the same codes (the first scheme, kept for the releases built with it)."""
    import pyarrow as pa

    pid = rules.participant_id
    no_sharing = _consent(con, "no_sharing", rules.no_sharing, kinds, pid, excluded_ids)
    no_commercial = _consent(con, "no_commercial", rules.no_commercial, kinds, pid, excluded_ids)
    ids = pa.table({"key": pa.array([str(k) for k in release_ids], pa.string()),
                    "release_id": pa.array(list(release_ids.values()))})
    con.register("ids", ids)
    if drawn is None:
        codes = "".join(f", CASE WHEN {quote(c)} IS NULL THEN NULL ELSE dense_rank() OVER (ORDER BY {quote(c)}) "
                        f"END AS {quote('__code_' + c)}" for c in recoded)
    else:
        con.register("codes", drawn)
        codes = "".join(f", (SELECT code FROM codes WHERE \"column\" = {literal(c)} AND value = CAST(src.{quote(c)} "
                        f"AS VARCHAR)) AS {quote('__code_' + c)}" for c in recoded)
    con.execute(f"CREATE TEMP VIEW tagged AS SELECT s.*, ({no_sharing}) AS __ns, ({no_commercial}) AS __nc "
                f"FROM (SELECT *{codes} FROM src) s")
    refused = "__ns OR __nc" if tier == "commercial" else "__ns"
    n_ns, n_nc = con.sql("SELECT count(*) FILTER (WHERE __ns), count(*) FILTER (WHERE __nc AND NOT __ns) "
                         "FROM tagged").fetchall()[0]
    con.execute(f"CREATE TEMP TABLE base AS SELECT t.*, i.release_id AS __rid FROM tagged t "
                f"LEFT JOIN ids i ON CAST(t.{quote(pid)} AS VARCHAR) = i.key WHERE NOT ({refused})")
    missing, example = con.sql(f"SELECT count(*), min(CAST({quote(pid)} AS VARCHAR)) FROM base "
                               "WHERE __rid IS NULL").fetchall()[0]
    if missing:
        raise InvalidInput(f"{missing} participant(s) have no release ID (e.g. {pid} {example})")
    if drawn is not None:
        _check_codes(con, recoded)
    return {"no_sharing": int(n_ns), "no_commercial": int(n_nc) if tier == "commercial" else 0}


def _check_codes(con: Connection, recoded: list[str]) -> None:
    """Every centre (technician) has its code: the build draws them first, and a rebuild reads them back."""
    for c in recoded:
        missing, example = con.sql(f"SELECT count(*), min(CAST({quote(c)} AS VARCHAR)) FROM base "
                                   f"WHERE {quote(c)} IS NOT NULL AND {quote('__code_' + c)} IS NULL").fetchall()[0]
        if missing:
            raise IntegrityError(f"{c}: {missing} row(s) have a value with no code in the linkage's codes "
                                 f"(e.g. {example!r})")


def _finish(con: Connection, plan: columnplan.ColumnPlan, released: pa.Table,
            rules: ReleaseRules) -> list[Modification]:
    """Count the rows each change touched, then check every protected variable in the released rows."""
    sqls = []
    for d in plan.drafts:
        sqls.append(d.affected)
        sqls += [d.extra.get("top_rows") or "0", d.extra.get("bottom_rows") or "0"]
    counts = con.sql(f"SELECT {', '.join(sqls)} FROM base").fetchall()[0] if sqls else ()
    con.register("rel", released)
    cells = [c for c in (rules.race, rules.sex) if c and c in released.column_names]
    why = getattr(rules, "rationale", {}) or {}
    out = []
    for i, d in enumerate(plan.drafts):
        params = dict(d.parameters)
        if d.action in CODED:
            params["rows_top_coded"], params["rows_bottom_coded"] = int(counts[3 * i + 1]), int(counts[3 * i + 2])
        if d.check and d.variable in released.column_names:
            params.update(_check(con, cells, d, released, rules.min_cell))
        rationale = f"{d.rationale}; curator: {why[d.variable]}" if why.get(d.variable) else d.rationale
        out.append(Modification(d.variable, d.action, {k: plain(v) for k, v in params.items()},
                                int(counts[3 * i]), rationale))
    return out


def _check(con: Connection, cells: list[str], draft: columnplan.Draft, released: pa.Table,
           min_cell: int) -> dict[str, Any]:
    if draft.check == "values":
        counts = value_counts(con, "rel", cells, draft.variable)
        return {**cell_check(counts, min_cell), "smallest": counts[0] if counts else None}
    is_text = type_class(released.schema.field(draft.variable).type) not in NUMERIC
    # A one-sided code protects one end; a variable kept as it is must meet the minimum at both.
    coded = draft.action in CODED
    ends = tuple(f"{end}_count" for end in ("top", "bottom") if not coded or draft.parameters[end] is not None)
    return cell_check(extremes(con, "rel", cells, draft.variable, is_text), min_cell, ends)
