"""A synthetic trial shaped for a release: what an NHLBI release has to de-identify, deterministic per seed.

The check and commit benchmarks' trial has no identifiers, no race and no
free text, so a release of it would skip most of the work. This one has every
kind of column the release rules deal with: the key (replaced by release
IDs), a date of birth (a direct identifier, deleted), race and sex (the cells
of the minimum cell size; race has rare categories, as real trials do), age
with some participants of 90 and over (the Safe Harbor ceiling), weight and
height (trimmed), a centre code (recoded), categorical quasi-identifiers whose
rare values fall below 20 in the rarer race–sex cells (collapsed), a
dichotomous one, randomisation, event and last-contact dates (made relative
to randomisation), an event flag and a column of adverse-event verbatim text
(deleted). ``ipd release plan`` proposes each of these rules from the data.

Written in chunks of CHUNK rows, each from its own random stream, so the
generator's memory stays flat and any row count gives the same first rows.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .synthetic import strings, write_chunks

SEED = 20261202
VERSION = 1  # bump when the generated data change: cached deliveries are named by it
CHUNK = 250_000
START = dt.date(2016, 3, 1)
KEY, ARM, RANDOMISED = "pid", "arm", "randdate"

# (values, probabilities): race and the categorical quasi-identifiers, with rare values on purpose.
RACE = (["White", "Black or African American", "Asian", "American Indian or Alaska Native",
         "Native Hawaiian or Other Pacific Islander", "More than one race", "Unknown"],
        [0.62, 0.20, 0.07, 0.008, 0.002, 0.03, 0.07])
EDUCATION = (["1 less than high school", "2 high school", "3 some college", "4 bachelor", "5 graduate degree",
              "6 doctorate"], [0.12, 0.30, 0.27, 0.19, 0.115, 0.005])
MARITAL = (["divorced", "married", "never married", "separated", "widowed"], [0.14, 0.55, 0.2, 0.03, 0.08])
NYHA = (["I", "II", "III", "IV"], [0.35, 0.42, 0.2, 0.03])
SMOKING = (["current", "former", "never"], [0.18, 0.35, 0.47])
INSURANCE = (["Medicaid", "Medicare", "VA or military", "none", "private"], [0.12, 0.3, 0.015, 0.065, 0.5])
SITES = [f"{state}-{n:02d}" for state in ("MA", "NY", "PA", "OH", "IL", "TX", "CA", "WA", "GA", "MN")
         for n in range(1, 9)]  # 80 centres
SYMPTOMS = ["headache", "nausea", "dizziness", "fatigue", "rash on both forearms", "chest discomfort at rest",
            "swelling of the ankles", "shortness of breath on exertion", "palpitations", "muscle cramps",
            "blurred vision", "insomnia", "persistent dry cough", "joint pain in the knees"]
COURSES = ["resolved without treatment", "resolved after the dose was reduced",
           "treated with paracetamol, resolved", "ongoing at the last visit", "study drug interrupted for a week",
           "seen by the site physician, no action taken"]
VERBATIM_SHARE = 0.15  # participants with an adverse-event narrative

SCHEMA = pa.schema([
    (KEY, pa.int64()), (ARM, pa.string()), ("dob", pa.date32()), ("age", pa.int32()), ("sex", pa.string()),
    ("race", pa.string()), ("weight", pa.float64()), ("height", pa.float64()), ("site", pa.string()),
    ("education", pa.string()), ("marital", pa.string()), ("nyha", pa.string()), ("smoking", pa.string()),
    ("insurance", pa.string()), ("diabetes", pa.string()), (RANDOMISED, pa.date32()), ("event", pa.int8()),
    ("event_date", pa.date32()), ("last_contact", pa.date32()), ("ae_verbatim", pa.string()),
])


def _dates(days: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    epoch = (START - dt.date(1970, 1, 1)).days
    return pa.array((epoch + days).astype(np.int32), type=pa.int32(), mask=mask).cast(pa.date32())


def _verbatim(rng: np.random.Generator, n: int) -> pa.Array:
    """Sentences of 40-80 characters, mostly distinct (the day varies), for about VERBATIM_SHARE of rows."""
    day = pc.cast(pa.array(rng.integers(1, 400, n)), pa.string())
    text = pc.binary_join_element_wise("participant reported", strings(rng, SYMPTOMS, n), "on study day", day,
                                       "and it was", strings(rng, COURSES, n), " ")
    return pc.if_else(pa.array(rng.random(n) < VERBATIM_SHARE), text, pa.nulls(n, pa.string()))


def chunk(first: int, n: int, seed: int = SEED) -> pa.Table:
    """Rows ``first`` … ``first + n - 1`` (0-based) from their own stream."""
    rng = np.random.default_rng([seed, first])
    age = np.clip(rng.normal(63, 12, n).round(), 18, 99).astype(np.int32)  # about 1.5% are 90 or over
    randomised = rng.integers(0, 4 * 365, n)
    birth = randomised - age * 365 - rng.integers(0, 365, n)
    followed = rng.integers(60, 5 * 365, n)
    event = rng.random(n) < 0.22
    to_event = (followed * rng.random(n)).astype(np.int64) + 1
    columns = [
        pa.array(np.arange(first + 1, first + n + 1, dtype=np.int64)),
        strings(rng, ["A", "B"], n),
        _dates(birth),
        pa.array(age),
        strings(rng, ["F", "M"], n, [0.44, 0.56]),
        strings(rng, RACE[0], n, RACE[1]),
        pa.array(np.clip(rng.normal(84, 18, n), 38, 230).round(1), mask=rng.random(n) < 0.01),
        pa.array(np.clip(rng.normal(171, 10, n), 135, 210).round(1), mask=rng.random(n) < 0.01),
        strings(rng, SITES, n),
        strings(rng, EDUCATION[0], n, EDUCATION[1]),
        strings(rng, MARITAL[0], n, MARITAL[1]),
        strings(rng, NYHA[0], n, NYHA[1]),
        strings(rng, SMOKING[0], n, SMOKING[1]),
        strings(rng, INSURANCE[0], n, INSURANCE[1]),
        strings(rng, ["no", "yes"], n, [0.7, 0.3]),
        _dates(randomised),
        pa.array(event.astype(np.int8)),
        _dates(randomised + to_event, mask=~event),
        _dates(randomised + followed),
        _verbatim(rng, n),
    ]
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def write(path: Path, rows: int, seed: int = SEED) -> Path:
    """Write the trial as one Parquet file (zstd), chunk by chunk; returns ``path``."""
    return write_chunks(path, SCHEMA, rows, CHUNK, lambda first, n: chunk(first, n, seed))
