"""Centre and technician codes: drawn at random per tier, and kept, like release IDs, in the linkage.

Codes numbered in the sort order of the centre names (the first scheme,
``dense_rank``) reverse completely from a public list of a trial's centres:
the third centre in alphabetical order is C03. So each centre (technician)
gets a code drawn at random the first time a release of a tier shows it, and
keeps it in every later release of that tier: a reader of v1 and v2 sees the
same centre under the same code, a new centre gets the next unused number, in
random order among the centres new in that release. Each tier draws its own
codes, for the reason release IDs are per tier (``ids``): codes shared by the
tiers would let a holder of both join their records by centre.

The mapping is kept in ``datasets/TRIAL/linkage/codes.parquet`` (tier, column,
value, code, assigned), beside the linkage and as restricted as it: it says
which centre is which. Releases recorded before this scheme (package format 2
and earlier, ``record.PACKAGE_FORMAT``) keep their sorted codes: they are
rebuilt without the mapping, byte for byte, as ``ids`` keeps legacy IDs.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from .rules import ReleaseRules

FILE = "codes.parquet"
PREFIX = {"centre": "C", "technician": "T"}
MIN_DIGITS = 2
RANDOM_CODES_FORMAT = 3  # packages from this format on carry random codes (``record.PACKAGE_FORMAT``)


def empty() -> pa.Table:
    import pyarrow as pa

    return pa.table({"tier": pa.array([], pa.string()), "column": pa.array([], pa.string()),
                     "value": pa.array([], pa.string()), "code": pa.array([], pa.string()),
                     "assigned": pa.array([], pa.string())})


def recoded(rules: ReleaseRules, names: list[str]) -> dict[str, str]:
    """Column -> "centre" or "technician", for the columns the rules recode (rather than delete) in ``names``;
    a column another rule deletes (identifiers, verbatim text, sensitive) is not recoded (``columnplan.way``)."""
    deleted = {rules.participant_id, *rules.identifiers, *rules.free_text, *rules.sensitive}
    found = {}
    for kind, given in (("centre", rules.centres), ("technician", rules.technicians)):
        for name, action in given.items():
            if action == "recode" and name in names and name not in deleted:
                found.setdefault(name, kind)
    return found


def mapping(codes: pa.Table | None, tier: str, column: str) -> dict[str, str]:
    """Value (as text) -> code of ``column`` in ``tier``."""
    if codes is None:
        return {}
    rows = [r for r in codes.to_pylist() if r["tier"] == tier and r["column"] == column]
    return {r["value"]: r["code"] for r in rows}


def assign(codes: pa.Table | None, tier: str, column: str, kind: str, values: list[str],
           version: str) -> tuple[pa.Table, int]:
    """``codes`` extended with random codes for the ``values`` of ``column`` that have none in ``tier``; and how
    many. New values take the numbers after the highest in use, in random order: a code never changes or
    moves to another value, and no code follows the order of the names."""
    import pyarrow as pa

    codes = empty() if codes is None else codes
    known = mapping(codes, tier, column)
    new = sorted({v for v in values if v is not None} - set(known))
    if not new:
        return codes, 0
    prefix = PREFIX[kind]
    used = [int(code[len(prefix):]) for code in known.values()]
    digits = len(next(iter(known.values()))) - len(prefix) if known else max(MIN_DIGITS, len(str(len(new))))
    numbers = list(range(max(used, default=0) + 1, max(used, default=0) + 1 + len(new)))
    shuffled = [numbers.pop(secrets.randbelow(len(numbers))) for _ in range(len(new))]
    added = pa.table({"tier": [tier] * len(new), "column": [column] * len(new), "value": new,
                      "code": [f"{prefix}{n:0{digits}d}" for n in shuffled], "assigned": [version] * len(new)},
                     schema=codes.schema)
    return pa.concat_tables([codes, added]).sort_by([("tier", "ascending"), ("column", "ascending"),
                                                     ("code", "ascending")]), len(new)


def assign_all(codes: pa.Table | None, rules: ReleaseRules, table: pa.Table, tier: str,
               version: str) -> tuple[pa.Table | None, int]:
    """Codes for every value of every recoded column of ``table`` (all of the version's participants, so a
    participant's exclusion never changes what the others' centres are called); and how many are new.
    Values are keyed as the release query casts them to text, so the two always meet."""
    from ..backends.columns import quote
    from ..backends.sql import connect

    columns = recoded(rules, table.column_names)
    if not columns:
        return codes, 0
    con = connect()
    con.register("version_rows", table.select(list(columns)))
    added = 0
    for column, kind in columns.items():
        values = [v for (v,) in con.sql(f"SELECT DISTINCT CAST({quote(column)} AS VARCHAR) FROM version_rows "
                                        f"WHERE {quote(column)} IS NOT NULL").fetchall()]
        codes, n = assign(codes, tier, column, kind, values, version)
        added += n
    return codes, added


def as_table(codes: pa.Table | None, tier: str, columns: list[str]) -> pa.Table:
    """The tier's codes of ``columns``, for the release query to join on (column, value)."""
    import pyarrow.compute as pc

    codes = empty() if codes is None else codes
    wanted = pc.and_(pc.equal(codes["tier"], tier), pc.is_in(codes["column"], value_set=_strings(columns)))
    return codes.filter(wanted).select(["column", "value", "code"])


def _strings(values: list[str]) -> pa.Array:
    import pyarrow as pa

    return pa.array(values, pa.string())
