"""The participant key must be present and unique in every delivery."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..backends.columns import NUMBER, STRING, quote, type_class
from ..backends.sql import connect
from ..errors import InvalidInput

SHOW = 5
ROW_COLUMN = "__ipd_row"


def check_key(table: pa.Table, key: str, source: str) -> None:
    """Refuse missing or repeated keys, naming them and their (1-based) rows."""
    if key not in table.column_names:
        raise InvalidInput(f"{source}: no key column {key!r}; the columns are {', '.join(table.column_names)}")
    con = connect()
    k = quote(key)
    absent = _absent(key, table.schema.field(key).type)
    con.register("keys", pa.table({key: table.column(key)}))
    if con.sql(f"SELECT count(*) = count(DISTINCT {k}) AND count(*) FILTER ({absent}) = 0 "
               "FROM keys").fetchall()[0][0]:
        return  # the usual case, checked in one pass; only a bad delivery pays for the details
    rows = pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    con.register("delivery", pa.table({key: table.column(key), ROW_COLUMN: rows}))
    missing = [r for (r,) in con.sql(
        f"SELECT {ROW_COLUMN} FROM delivery WHERE {absent} ORDER BY 1").fetchall()]
    if missing:
        shown = ", ".join(map(str, missing[:SHOW])) + (", …" if len(missing) > SHOW else "")
        raise InvalidInput(f"{source}: key {key!r} is missing in {len(missing)} row(s): {shown}")
    repeated = con.sql(
        f"SELECT {k}, list({ROW_COLUMN} ORDER BY {ROW_COLUMN}) FROM delivery GROUP BY {k} "
        f"HAVING count(*) > 1 ORDER BY min({ROW_COLUMN})").fetchall()
    if repeated:
        shown = "; ".join(f"{value!r} in rows {', '.join(map(str, rs))}" for value, rs in repeated[:SHOW])
        more = f"; and {len(repeated) - SHOW} more" if len(repeated) > SHOW else ""
        raise InvalidInput(f"{source}: key {key!r} is not unique: {len(repeated)} repeated value(s): {shown}{more}")


def _absent(key: str, arrow_type: pa.DataType) -> str:
    """SQL true where the key names no one: NULL, a blank string, or NaN (which SQL counts as a value)."""
    k = quote(key)
    also = {STRING: f" OR trim({k}) = ''", NUMBER: f" OR isnan({k})"}.get(type_class(arrow_type), "")
    return f"{k} IS NULL{also}"
