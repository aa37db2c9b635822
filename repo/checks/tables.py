"""Checks across the tables of a trial of several: each record's participant is one of the participant table's,
and the dates a table declares as events (visits, onsets) are not before the participant's randomisation.

Each runs as one DuckDB query over the table's parts (the view ``data``) beside the participant table's
parts; the rows at fault are named by their whole key.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..backends import rowkey
from ..backends.columns import DATE, DATETIME, STRING, quote, type_class
from ..backends.rowkey import Key
from ..errors import InvalidInput
from .results import MAX_KEYS, CheckResult

if TYPE_CHECKING:
    import pyarrow as pa

    from ..backends.sql import Connection

PARTICIPANTS = "read_parquet(getvariable('ipd_participant_parts'), union_by_name = true)"


def across(con: Connection, schema: pa.Schema, participant_files: list[Path], name: str, participant: str,
           key: Key, metadata: dict[str, Any]) -> list[CheckResult]:
    """The checks across tables of table ``name`` (its parts are the view ``data``); ``metadata`` is the
    trial's ``dataset.yaml``, where ``tables.NAME.events`` lists its dates that follow randomisation."""
    entry = (metadata.get("tables") or {}).get(name) or {}
    con.sql("SET VARIABLE ipd_participant_parts = $files", params={"files": [str(f) for f in participant_files]})
    p = quote(participant)
    results = [_result(con, key, "every record's participant is in the participant table",
                       f"t.{p} IS NULL OR t.{p} NOT IN (SELECT {p} FROM {PARTICIPANTS})")]
    randomised = (metadata.get("roles") or {}).get("randomised")
    for column in entry.get("events") or []:
        if column not in schema.names:
            raise InvalidInput(f"tables.{name}.events: column {column!r} is not in the table")
        if not randomised:
            continue
        event = _as_date(name, column, type_class(schema.field(column).type))
        results.append(_result(con, key, f"dates: randomised ({randomised}) on or before event ({column})",
                               f"{event} < CAST(r.{quote(randomised)} AS DATE)",
                               f"JOIN {PARTICIPANTS} r ON r.{p} = t.{p}"))
    return results


def _as_date(table: str, column: str, kind: str) -> str:
    c = f"t.{quote(column)}"
    if kind == DATE:
        return c
    if kind in (DATETIME, STRING):
        return f"TRY_CAST({c} AS DATE)"
    raise InvalidInput(f"tables.{table}.events: column {column!r} is {kind}, not a date")


def _result(con: Connection, key: Key, name: str, condition: str, join: str = "") -> CheckResult:
    k = rowkey.sql(key, "t.")
    count, keys = con.sql(f"SELECT count(*), list(k ORDER BY k)[:{MAX_KEYS}] FROM (SELECT {k} AS k FROM data t "
                          f"{join} WHERE {condition})").fetchall()[0]
    return CheckResult(name=name, kind="table", success=count == 0, unexpected_count=count,
                       unexpected_keys=list(keys or []))
