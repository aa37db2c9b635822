"""A synthetic trial: N participants × 11 columns, deterministic for a given seed.

The benchmarks need a trial far larger than any real one we may ship, shaped
like one (an integer key in randomisation order, two arms, baseline
covariates, dates, a site code), and the same bytes on every run so figures
are comparable between runs and machines. It is generated and written in
chunks of CHUNK rows, so the generator's own memory stays around a hundred MB
however many rows are asked for.

A handful of data-entry errors are planted (ages of 999, a few missing
weights) so that a check finds something to report, as it would on a real
delivery: the suite's row-level checks then also list the keys at fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240611
VERSION = 1  # bump when the generated data change: cached deliveries are named by it
CHUNK = 1_000_000
START = dt.date(2015, 1, 1)
SITES = [f"S{i:03d}" for i in range(1, 121)]
STAGES = ["I", "II", "III", "IV"]
BAD_AGE = 999           # planted in about one row per million
MISSING_WEIGHT = 0.002  # share of weights not recorded

SCHEMA = pa.schema([
    ("pid", pa.int64()), ("arm", pa.string()), ("age", pa.int32()), ("sex", pa.string()),
    ("weight", pa.float64()), ("height", pa.float64()), ("site", pa.string()), ("stage", pa.string()),
    ("randdate", pa.date32()), ("last_contact", pa.date32()), ("event", pa.int8()),
])
COLUMNS = SCHEMA.names


def strings(rng: np.random.Generator, values: list[str], n: int, p: list[float] | None = None) -> pa.Array:
    indices = pa.array(rng.choice(len(values), size=n, p=p).astype(np.int32))
    return pa.DictionaryArray.from_arrays(indices, pa.array(values)).cast(pa.string())


def chunk(first: int, n: int, seed: int = SEED) -> pa.Table:
    """Rows ``first`` … ``first + n - 1`` (0-based); each chunk has its own stream, so chunks are independent."""
    rng = np.random.default_rng([seed, first])
    pid = np.arange(first + 1, first + n + 1, dtype=np.int64)
    age = np.clip(rng.normal(58, 11, n).round(), 18, 90).astype(np.int32)
    age[rng.random(n) < 1e-6] = BAD_AGE
    weight = np.clip(rng.normal(76, 14, n), 35, 190).round(1)
    weight_missing = rng.random(n) < MISSING_WEIGHT
    height = np.clip(rng.normal(170, 9, n), 140, 205).round(1)
    randomised = rng.integers(0, 5 * 365, n)
    followed = rng.integers(30, 3 * 365, n)
    epoch = (START - dt.date(1970, 1, 1)).days
    columns = [
        pa.array(pid),
        strings(rng, ["A", "B"], n),
        pa.array(age),
        strings(rng, ["F", "M"], n),
        pa.array(weight, mask=weight_missing),
        pa.array(height),
        strings(rng, SITES, n),
        strings(rng, STAGES, n, p=[0.3, 0.35, 0.25, 0.1]),
        pa.array((epoch + randomised).astype(np.int32), type=pa.int32()).cast(pa.date32()),
        pa.array((epoch + randomised + followed).astype(np.int32), type=pa.int32()).cast(pa.date32()),
        pa.array((rng.random(n) < 0.3).astype(np.int8)),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def write(path: Path, rows: int, seed: int = SEED) -> Path:
    """Write the trial as one Parquet file (zstd), chunk by chunk; returns ``path``."""
    return write_chunks(path, SCHEMA, rows, CHUNK, lambda first, n: chunk(first, n, seed))


def write_chunks(path: Path, schema: pa.Schema, rows: int, size: int,
                 make: Callable[[int, int], pa.Table]) -> Path:
    """Write ``rows`` rows made ``size`` at a time by ``make(first, n)`` as one Parquet file (zstd), whole or not
    at all; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with pq.ParquetWriter(partial, schema, compression="zstd") as writer:
        for first in range(0, rows, size):
            writer.write_table(make(first, min(size, rows - first)), row_group_size=size)
    partial.replace(path)
    return path
