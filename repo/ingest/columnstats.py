"""Statistics of many columns at once, a batch of columns per DuckDB statement.

Clinical form exports have thousands of columns. One statement over all of
them plans thousands of aggregates (DuckDB gives each ``count(DISTINCT …)``
its own hash table: a 2-row, 1,000-column delivery needed 18 GiB), and one
statement per column pays DuckDB's planning thousands of times over the full
width of the relation. So columns of one type are taken BATCH at a time,
narrowed to just those columns, and unpivoted into (column, value) pairs that
one GROUP BY aggregates: one hash table per statement, whatever the width.
Columns of one exact type unpivot without a cast, so each aggregate sees the
values it would see column by column, and the results are the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ..backends.columns import quote

if TYPE_CHECKING:
    from ..backends.sql import Connection

BATCH = 100  # columns a statement: 2 rows × 5,000 columns and 100,000 rows × 2,000 both do well (BENCHMARKS.md)
NARROWED = "__ipd_columns"


@dataclass(frozen=True)
class Columns:
    """Where a batch of columns is read from: ``relation`` in ``con``, or ``table`` when it is in memory.

    An in-memory table is narrowed to the batch before DuckDB sees it: a statement over a registered
    Arrow table costs time in proportion to the table's width, even for columns it does not read.
    """

    con: Connection
    relation: str
    table: pa.Table | None = None

    def select(self, names: list[str]) -> str:
        """A subquery giving the columns ``names`` as c0, c1, … (aliases: any name is safe to unpivot)."""
        source = self.relation
        if self.table is not None:
            self.con.register(NARROWED, self.table.select(names))
            source = NARROWED
        return "SELECT " + ", ".join(f"{quote(n)} AS c{i}" for i, n in enumerate(names)) + f" FROM {source}"

    def unpivot(self, names: list[str]) -> str:
        """The batch's non-missing values as rows (name, value); ``name`` is c0, c1, … as in ``select``."""
        aliases = ", ".join(f"c{i}" for i in range(len(names)))
        return f"(UNPIVOT ({self.select(names)}) ON {aliases} INTO NAME name VALUE value)"


def batches(fields: list[pa.Field], size: int = BATCH) -> Iterator[list[pa.Field]]:
    """``fields`` grouped by exact type (so values need no cast), ``size`` at a time."""
    by_type: dict[str, list[pa.Field]] = defaultdict(list)
    for field in fields:
        by_type[str(field.type)].append(field)
    for group in by_type.values():
        for start in range(0, len(group), size):
            yield group[start:start + size]


def column_stats(columns: Columns, fields: list[pa.Field], rows: int, ranged: set[str],
                 size: int = BATCH) -> dict[str, tuple]:
    """(missing, distinct, min, max) of each field; min and max only for the names in ``ranged``."""
    stats: dict[str, tuple] = {f.name: (rows, 0, None, None) for f in fields}  # all missing: no pairs
    for batch in batches(fields, size):
        names = [f.name for f in batch]
        bounded = names[0] in ranged  # a batch is of one type, so all or none are ranged
        bounds = "min(value), max(value)" if bounded else "NULL, NULL"
        sql = f"SELECT name, count(value), count(DISTINCT value), {bounds} FROM {columns.unpivot(names)} GROUP BY name"
        for alias, present, distinct, low, high in columns.con.sql(sql).fetchall():
            stats[names[int(alias[1:])]] = (rows - present, distinct, low, high)
    return stats


def value_counts(columns: Columns, fields: list[pa.Field], size: int = BATCH) -> dict[str, list[tuple[Any, int]]]:
    """Each field's values with their counts, in value order; missing values are not counted."""
    counts: dict[str, list[tuple[Any, int]]] = {f.name: [] for f in fields}
    for batch in batches(fields, size):
        names = [f.name for f in batch]
        sql = f"SELECT name, value, count(*) FROM {columns.unpivot(names)} GROUP BY name, value ORDER BY name, value"
        for alias, value, count in columns.con.sql(sql).fetchall():
            counts[names[int(alias[1:])]].append((value, count))
    return counts
