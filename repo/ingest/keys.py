"""The key must be present and unique in every delivery; a composite key's participant column too."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..backends import rowkey
from ..backends.columns import NUMBER, STRING, quote, type_class
from ..backends.rowkey import Key
from ..backends.sql import connect
from ..errors import InvalidInput

SHOW = 5
ROW_COLUMN = "__ipd_row"


def check_key(table: pa.Table, key: Key, source: str, delivery: bool = True) -> None:
    """Refuse missing or repeated keys, naming them and their (1-based) rows; a delivery's repeated
    participant key also says how to key several rows a participant."""
    names = rowkey.columns(key)
    for name in names:
        if name not in table.column_names:
            raise InvalidInput(f"{source}: no key column {name!r}; the columns are {', '.join(table.column_names)}")
    con = connect()
    k = rowkey.sql(key)
    absent = " OR ".join(_absent(name, table.schema.field(name).type) for name in names)
    con.register("keys", pa.table({name: table.column(name) for name in names}))
    if con.sql(f"SELECT count(*) = count(DISTINCT {k}) AND count(*) FILTER ({absent}) = 0 "
               "FROM keys").fetchall()[0][0]:
        return  # the usual case, checked in one pass; only a bad delivery pays for the details
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    con.register("delivery", pa.table({**{name: table.column(name) for name in names}, ROW_COLUMN: rows}))
    what = f"key {rowkey.named(key)}"
    missing = [r for (r,) in con.sql(
        f"SELECT {ROW_COLUMN} FROM delivery WHERE {absent} ORDER BY 1").fetchall()]
    if missing:
        shown = ", ".join(map(str, missing[:SHOW])) + (", …" if len(missing) > SHOW else "")
        raise InvalidInput(f"{source}: {what} is missing in {len(missing)} row(s): {shown}")
    repeated = con.sql(
        f"SELECT {k}, list({ROW_COLUMN} ORDER BY {ROW_COLUMN}) FROM delivery GROUP BY {k} "
        f"HAVING count(*) > 1 ORDER BY min({ROW_COLUMN})").fetchall()
    shown = "; ".join(f"{rowkey.shown(value)} in rows {', '.join(map(str, rs))}" for value, rs in repeated[:SHOW])
    more = f"; and {len(repeated) - SHOW} more" if len(repeated) > SHOW else ""
    hint = (f" (several rows a participant? key them by the columns that pick one: --key {names[0]} --key COLUMN)"
            if len(names) == 1 and delivery else "")
    raise InvalidInput(f"{source}: {what} is not unique: {len(repeated)} repeated value(s): {shown}{more}{hint}")


def _absent(key: str, arrow_type: pa.DataType) -> str:
    """SQL true where the key names no one: NULL, a blank string, or NaN (which SQL counts as a value)."""
    k = quote(key)
    also = {STRING: f" OR trim({k}) = ''", NUMBER: f" OR isnan({k})"}.get(type_class(arrow_type), "")
    return f"({k} IS NULL{also})"
