"""Disclosure figures, each checked against a plain pandas group count written in the test itself."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pyarrow as pa
import pytest

from repo.release.deidentify import deidentify
from repo.release.disclosure import disclosure
from repo.release.rules import AgeRule, ConsentRule, Protection
from support.deidentify import KARNOF, RULES, joined, release_ids, trial

QIS = ["race", "gender", "age", "wtkg", "karnof", "site"]  # the recoded centre counts; technicians do not


def figures(table=None, rules=RULES, tier="commercial", with_log=True):
    table = trial() if table is None else table
    result = deidentify(table, rules, tier, release_ids(table), [], {})
    return result, disclosure(result.table, rules, table, result.excluded,
                              result.modifications if with_log else None)


def with_missing(table: pa.Table) -> pa.Table:
    """A few missing races and weights, which must count as groups of their own."""
    for name in ("race", "wtkg"):
        values = table.column(name).to_pylist()
        for i in range(0, 40, 7):
            values[i] = None
        table = table.set_column(table.schema.get_field_index(name), name, pa.array(values))
    return table


def class_sizes(frame: pd.DataFrame, qis: list[str]) -> pd.Series:
    """k of each record: the size of its equivalence class, missing values a value of their own."""
    return frame.groupby(qis, dropna=False)["release_id"].transform("size")


@pytest.mark.parametrize("table", [trial(), with_missing(trial())], ids=["complete", "missing"])
def test_joint_k_risk_and_uniques_match_a_plain_group_count(table):
    result, d = figures(table)
    assert d.quasi_identifiers == QIS  # hemo was deleted, so it is not in the set
    frame = result.table.to_pandas()
    sizes = class_sizes(frame, QIS)
    assert d.records == len(frame)
    assert d.k == sizes.min()
    assert d.equivalence_classes == frame.groupby(QIS, dropna=False).ngroups
    assert d.sample_uniques == int((sizes == 1).sum())
    assert d.prosecutor == {"max": pytest.approx(1 / sizes.min(), abs=1e-6),
                            "mean": pytest.approx((1 / sizes).mean(), abs=1e-6), "threshold": 0.2,
                            "share_above": pytest.approx((1 / sizes > 0.2).mean(), abs=1e-6)}


def test_a_coarse_quasi_identifier_set_reaches_the_minimum():
    rules = dataclasses.replace(RULES, age=AgeRule(column=None), centres={"site": "delete"},
                                quasi_identifiers=[Protection("karnof", "collapse", KARNOF)])
    result, d = figures(rules=rules)
    frame = result.table.to_pandas()
    sizes = class_sizes(frame, ["race", "gender", "karnof"])
    assert d.quasi_identifiers == ["race", "gender", "karnof"]  # a deleted centre is no quasi-identifier
    assert d.k == sizes.min() >= 20
    assert d.sample_uniques == 0 and d.prosecutor["share_above"] == 0
    assert d.prosecutor["max"] == pytest.approx(1 / sizes.min(), abs=1e-6)


@pytest.mark.parametrize("table", [trial(), with_missing(trial())], ids=["complete", "missing"])
def test_smallest_cell_counts_of_polychotomous_variables(table):
    result, d = figures(table)
    frame = result.table.to_pandas()
    assert sorted(d.polychotomous) == ["karnof", "race"]
    for name, figure in d.polychotomous.items():
        counts = frame.groupby(["race", "gender", name], dropna=False).size()
        smallest = figure["smallest"]
        assert smallest["count"] == counts.min()
        minimal = {tuple(None if pd.isna(k) else k for k in key) for key, n in counts.items() if n == counts.min()}
        assert (smallest["race"], smallest["gender"], smallest["value"]) in minimal
        assert figure["min_cell_met"] is bool(counts.min() >= 20)
    cells = frame.groupby(["race", "gender"], dropna=False).size()
    assert sorted((c["race"] or "", c["gender"], c["count"]) for c in d.cells) == sorted(
        ("" if pd.isna(r) else r, g, n) for (r, g), n in cells.items())


@pytest.mark.parametrize("table", [trial(), with_missing(trial())], ids=["complete", "missing"])
def test_top_and_bottom_shares_of_continuous_variables(table):
    result, d = figures(table)
    frame = result.table.to_pandas()
    frame["age_n"] = frame["age"].str.rstrip("+").astype(int)
    assert sorted(d.continuous) == ["age", "wtkg"]
    for name, numeric in (("wtkg", "wtkg"), ("age", "age_n")):
        expected = {}
        for (race, gender), cell in frame.dropna(subset=[numeric]).groupby(["race", "gender"], dropna=False):
            top, bottom = cell[numeric].max(), cell[numeric].min()
            expected[(None if pd.isna(race) else race, gender)] = (
                int((cell[numeric] == top).sum()), int((cell[numeric] == bottom).sum()), len(cell))
        got = {(c["race"], c["gender"]): (c["top_count"], c["bottom_count"], c["participants"])
               for c in d.continuous[name]["cells"]}
        assert got == expected
        met = all(t >= 20 and b >= 20 for t, b, _ in expected.values())
        assert d.continuous[name]["min_cell_met"] is met
    assert {c["top"] for c in d.continuous["age"]["cells"] if c["race"]} == {"90+"}


@pytest.mark.parametrize("with_log", [True, False])
def test_information_lost(with_log):
    result, d = figures(with_log=with_log)
    lost = d.information_lost
    assert lost["variables_dropped"] == ["name", "ssn", "hemo", "randdate", "drugs", "other_specify", "share_ok",
                                         "commercial_ok"]
    assert lost["replaced"] == {"pid": "release_id"}
    assert lost["categories"] == {"karnof": {"before": 5, "after": 4, "values": ["100", "80", "90", "<=70"]}}
    original = trial().to_pandas()
    both = joined(result)
    wtkg = lost["coded"]["wtkg"]
    source = both["wtkg_orig"] if with_log else original["wtkg"]
    assert wtkg["values_top_coded"] == int((source > wtkg["top"]).sum())
    assert wtkg["values_bottom_coded"] == int((source < wtkg["bottom"]).sum())
    assert wtkg["counted_in"] == ("release" if with_log else "original")
    ages = both["age_orig"] if with_log else original["age"]
    assert lost["coded"]["age"]["top_category"]["values"] == int((ages >= 90).sum())
    refused = original["share_ok"] == 0
    assert lost["records"] == {"original": len(original), "released": result.table.num_rows,
                               "excluded": {"no_sharing": int(refused.sum()),
                                            "no_commercial": int(((original["commercial_ok"] == 0) & ~refused).sum())}}
    assert len(original) - sum(lost["records"]["excluded"].values()) == result.table.num_rows


def test_the_figures_are_json_and_say_how_missing_values_count():
    _, d = figures(with_missing(trial()))
    text = json.dumps(d.to_json(), sort_keys=True)
    assert json.loads(text)["k"] == d.k
    assert "missing values count as a value of their own" in d.missing_values
    assert json.dumps(figures(with_missing(trial()))[1].to_json(), sort_keys=True) == text


def test_a_release_without_participants_has_no_k():
    rules = dataclasses.replace(RULES, no_sharing=ConsentRule(column="arm", refused=["A", "B"]))
    result, d = figures(rules=rules)
    assert result.table.num_rows == 0 and result.excluded == {"no_sharing": 1000, "no_commercial": 0}
    assert (d.k, d.records, d.equivalence_classes, d.sample_uniques) == (None, 0, 0, 0)
