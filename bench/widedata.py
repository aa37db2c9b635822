"""A wide delivery, shaped like a clinical form export: a key and thousands of item columns, as CSV.

Form exports carry one column per item of every form (1,000–5,000 columns
is common), most of them coded answers, measurements, free-text choices and
dates, with gaps where an item was not answered. The columns cycle through
five kinds: coded answers (integers 0–4, categorical when there are rows
enough), integer measurements (0–300), decimal measurements (three places),
text choices (``yes``/``no``/``unknown``/``not done``) and dates; about 2% of
cells are empty. Written in chunks of CHUNK rows, each from its own random
stream, so memory stays flat and any row count gives the same first rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

SEED = 20261205
VERSION = 1  # bump when the generated data change: cached deliveries are named by it
CHUNK = 5_000
KEY = "pid"
KINDS = ("coded", "count", "measure", "choice", "date")
CHOICES = ["yes", "no", "unknown", "not done"]
START = dt.date(2019, 1, 1)
MISSING = 0.02


def column_names(columns: int) -> list[str]:
    """The key, then items named by form and kind (``f012_q0034_measure``), as exports name them."""
    return [KEY, *(f"f{i // 40:03d}_q{i:04d}_{KINDS[i % len(KINDS)]}" for i in range(1, columns))]


def _item(rng: np.random.Generator, kind: str, n: int) -> pa.Array:
    missing = rng.random(n) < MISSING
    if kind == "coded":
        return pa.array(rng.integers(0, 5, n), mask=missing)
    if kind == "count":
        return pa.array(rng.integers(0, 301, n), mask=missing)
    if kind == "measure":
        return pa.array(rng.normal(100, 15, n).round(3), mask=missing)
    if kind == "choice":
        indices = pa.array(rng.integers(0, len(CHOICES), n).astype(np.int32), mask=missing)
        return pa.DictionaryArray.from_arrays(indices, pa.array(CHOICES)).cast(pa.string())
    epoch = (START - dt.date(1970, 1, 1)).days
    return pa.array((epoch + rng.integers(0, 1500, n)).astype(np.int32), mask=missing).cast(pa.date32())


def chunk(first: int, n: int, columns: int, seed: int = SEED) -> pa.Table:
    """Rows ``first`` … ``first + n - 1`` (0-based) from their own stream; the key is never missing."""
    rng = np.random.default_rng([seed, first])
    names = column_names(columns)
    arrays = [pa.array(np.arange(first + 1, first + n + 1, dtype=np.int64))]
    arrays += [_item(rng, name.rsplit("_", 1)[1], n) for name in names[1:]]
    return pa.Table.from_arrays(arrays, names=names)


def write(path: Path, rows: int, columns: int, seed: int = SEED) -> Path:
    """Write the delivery as CSV, whole or not at all; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    options = pacsv.WriteOptions(quoting_style="needed")
    first_chunk = chunk(0, min(CHUNK, rows), columns, seed)
    with pacsv.CSVWriter(partial, first_chunk.schema, write_options=options) as writer:
        writer.write_table(first_chunk)
        for first in range(CHUNK, rows, CHUNK):
            writer.write_table(chunk(first, min(CHUNK, rows - first), columns, seed))
    partial.replace(path)
    return path
