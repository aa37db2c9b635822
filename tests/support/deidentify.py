"""De-identification: a synthetic trial with every kind of column, its release IDs and release rules, for
test_deidentify and test_disclosure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from repo.release.rules import AgeRule, ConsentRule, DateRule, Protection, ReleaseRules

N = 1000
KARNOF = {"<=70": [60, 70], "80": [80], "90": [90], "100": [100]}


def trial(n: int = N, seed: int = 5) -> pa.Table:
    """A synthetic trial: identifiers, two race–sex factors, dates, continuous and categorical
    quasi-identifiers, centres, technicians, consent columns."""
    rng = np.random.default_rng(seed)
    rand = np.datetime64("2019-01-01") + rng.integers(0, 700, n).astype("timedelta64[D]")
    death = rand + rng.integers(1, 900, n).astype("timedelta64[D]")
    visit = rand.astype("datetime64[s]") + rng.integers(0, 86400 * 60, n).astype("timedelta64[s]")
    return pa.table({
        "pid": np.arange(50001, 50001 + n),
        "name": [f"Participant {i}" for i in range(n)],
        "ssn": [f"{i % 900 + 100}-{i % 90 + 10}-{i % 9000 + 1000}" for i in range(n)],
        "race": rng.choice(["White", "Black"], n, p=[0.6, 0.4]),
        "gender": rng.choice(["F", "M"], n),
        "age": rng.integers(18, 99, n),
        "wtkg": rng.normal(75, 14, n).round(1),
        "karnof": rng.choice([60, 70, 80, 90, 100], n, p=[0.01, 0.19, 0.25, 0.25, 0.3]),
        "hemo": rng.choice([0, 1], n, p=[0.9, 0.1]),
        "site": rng.choice([330, 101, 205], n),
        "tech": rng.choice(["jb", "ak", "zz", "mm"], n),
        "randdate": pa.array(rand),
        "death": pa.array(np.where(rng.random(n) < 0.4, death, np.datetime64("NaT"))),
        "visit": pa.array(visit),
        "drugs": rng.choice([0, 1], n),
        "other_specify": [f"free text answer number {i}" for i in range(n)],
        "arm": rng.choice(["A", "B"], n),
        "cd4": rng.integers(0, 1200, n),
        "share_ok": rng.choice([1, 0], n, p=[0.9, 0.1]),
        "commercial_ok": rng.choice([1, 0], n, p=[0.8, 0.2]),
    })


def release_ids(table: pa.Table) -> dict:
    keys = sorted(table.column("pid").to_pylist())
    numbers = np.random.default_rng(11).permutation(len(keys))
    return {k: f"R{int(x) * 7 + 3000001:07d}" for k, x in zip(keys, numbers)}


RULES = ReleaseRules(
    participant_id="pid", race="race", sex="gender", identifiers=["name", "ssn"],
    centres={"site": "recode"}, technicians={"tech": "recode"}, sensitive=["drugs"], free_text=["other_specify"],
    dates=DateRule(reference="randdate"), age=AgeRule(column="age"),
    quasi_identifiers=[Protection("wtkg", "trim"), Protection("karnof", "collapse", KARNOF),
                       Protection("hemo", "delete"), Protection("race", "keep")],
    no_sharing=ConsentRule(column="share_ok", refused=[0]),
    no_commercial=ConsentRule(column="commercial_ok", refused=[0]),
)


def joined(result, table=None) -> pd.DataFrame:
    """Each released row beside its original row (columns of the original suffixed _orig)."""
    table = trial() if table is None else table
    back = {v: k for k, v in release_ids(table).items()}
    released = result.table.to_pandas()
    released["pid"] = released["release_id"].map(back)
    return released.merge(table.to_pandas(), on="pid", suffixes=("", "_orig"), validate="one_to_one")
