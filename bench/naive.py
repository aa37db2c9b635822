"""The naive way to cut a corrected version, issue 4's yardstick for ``ipd commit``.

``python -m bench.naive DIR CORRECTIONS.csv``: in DIR (a git + DVC repository
tracking ``data.parquet``, the whole trial as one file), read every row with
pyarrow, apply the cell corrections, rewrite the whole file and ``dvc add`` it.
Prints the time of each step as JSON. The corrections are applied with
vectorised Arrow kernels, so the yardstick is not slowed by Python loops.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

KEY = "pid"
FILE = "data.parquet"


def apply(table, corrections: list[dict]):
    import pyarrow as pa
    import pyarrow.compute as pc

    by_column: dict[str, dict] = {}
    for row in corrections:
        by_column.setdefault(row["column"], {})[int(row["key"])] = row["value"]
    for column, changes in by_column.items():
        field = table.schema.field(column)
        keys = pa.array(list(changes), type=table.schema.field(KEY).type)
        values = pa.array(list(changes.values())).cast(field.type)
        at = pc.index_in(table[KEY], value_set=keys)
        replaced = pc.if_else(pc.is_valid(at), pc.take(values, at), table[column])
        table = table.set_column(table.schema.get_field_index(column), field, replaced)
    return table


def main(argv: list[str]) -> None:
    folder, corrections = Path(argv[0]), Path(argv[1])
    start = time.perf_counter()
    import pyarrow.parquet as pq

    rows = list(csv.DictReader(corrections.open()))
    table = pq.read_table(folder / FILE)
    read = time.perf_counter()
    table = apply(table, rows)
    applied = time.perf_counter()
    partial = folder / f".{FILE}.partial"
    pq.write_table(table, partial, compression="zstd")
    os.replace(partial, folder / FILE)
    del table
    written = time.perf_counter()
    dvc = Path(sys.executable).parent / "dvc"
    subprocess.run([str(dvc) if dvc.exists() else "dvc", "add", "-q", FILE], cwd=folder, check=True)
    added = time.perf_counter()
    print(json.dumps({"read": read - start, "apply": applied - read, "write": written - applied,
                      "dvc_add": added - written}))


if __name__ == "__main__":
    main(sys.argv[1:])
