"""Content fingerprints computed from rows, not from file bytes.

Each row is written as canonical JSON (columns in name order, values in their
logical type) and hashed with MD5; the 128-bit hashes are summed modulo 2**128.
A sum does not depend on row order and is additive, so a part's digest is
stored once and a new version only re-hashes the parts it rewrote. The fingerprint is the
SHA-256 of the schema (names and logical types), the row count and the sum.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from ..backends.columns import canonical_expression, quote, type_class
from ..backends.sql import connect

if TYPE_CHECKING:
    from ..backends.sql import Connection

MASK = (1 << 128) - 1
LOW_BITS = (1 << 64) - 1


@dataclass(frozen=True)
class Digest:
    rows: int
    total: int  # sum of row hashes, modulo 2**128

    def __add__(self, other: Digest) -> Digest:
        return Digest(self.rows + other.rows, (self.total + other.total) & MASK)


EMPTY = Digest(0, 0)


def row_json_sql(schema: pa.Schema) -> str:
    fields = sorted(schema, key=lambda f: f.name)
    members = ", ".join(f"{quote(f.name)} := {canonical_expression(f.name, f.type)}" for f in fields)
    return f"to_json(struct_pack({members}))"


def digests_by(con: Connection, relation: str, schema: pa.Schema,
               group: str | None = None) -> dict:
    """Digest of each value of column ``group`` in ``relation`` (or of all of it, as group 0)."""
    row = row_json_sql(schema)
    key = quote(group) if group else "0"
    # MD5 once per row (as a 128-bit number); its halves are summed separately so
    # the sums cannot overflow, and recombined exactly below.
    sql = (
        f"SELECT g, count(*), sum((h >> 64)::UBIGINT), sum((h & {LOW_BITS}::UHUGEINT)::UBIGINT) "
        f"FROM (SELECT {key} AS g, md5_number({row}) AS h FROM {relation}) GROUP BY g"
    )
    out = {}
    for g, n, hi, lo in con.execute(sql).fetchall():
        out[g] = Digest(int(n), ((int(hi or 0) << 64) + int(lo or 0)) & MASK)
    return out


def schema_signature(schema: pa.Schema) -> list[list[str]]:
    return sorted([f.name, type_class(f.type)] for f in schema)


def fingerprint(schema: pa.Schema, digest: Digest) -> str:
    payload = json.dumps(
        {"schema": schema_signature(schema), "rows": digest.rows, "sum": f"{digest.total:032x}"},
        sort_keys=True, separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(payload.encode()).hexdigest()


def of_table(table: pa.Table) -> str:
    """Fingerprint of an Arrow table (any row order, any storage types)."""
    con = connect()
    con.register("t", table)
    digest = digests_by(con, "t", table.schema).get(0, EMPTY)
    return fingerprint(table.schema, digest)
