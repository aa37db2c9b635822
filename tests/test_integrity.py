"""Integrity checks on small synthetic trials with known answers, and on the real ACTG 175 and GBSG-2 data."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from lifelines import KaplanMeierFitter
from scipy import stats

from repo.checks import followup, integrity, randomisation
from repo.checks.results import MAX_KEYS
from repo.errors import InvalidInput

LIFELINES = Path(__import__("lifelines").__file__).parent / "datasets"
ACTG175 = LIFELINES / "ACTG175.csv"
GBSG2 = LIFELINES / "lymph_node.csv"
MONDAY = dt.date(2021, 1, 4)


def run(table: pa.Table, metadata: dict, thresholds: dict | None = None) -> dict:
    """The checks by name, run on ``table`` registered as a DuckDB view."""
    con = duckdb.connect()
    con.register("trial", table)
    results = integrity.run(con, "trial", table.schema, metadata, thresholds)
    assert all(r.kind == "integrity" for r in results)
    names = [r.name for r in results]
    assert len(names) == len(set(names)), names
    return {r.name: r for r in results}


TYPES = {"id": pa.int64(), "arm": pa.string(), "randdate": pa.date32(), "death_date": pa.date32(),
         "died": pa.int8(), "prog_date": pa.date32(), "last_fu": pa.date32()}


def dated_trial(n: int = 10, **columns) -> pa.Table:
    """n participants, alternating arms (A first), randomised on consecutive Mondays, followed for a year."""
    base = {
        "id": list(range(1, n + 1)),
        "arm": ["A" if i % 2 else "B" for i in range(1, n + 1)],
        "randdate": [MONDAY + dt.timedelta(weeks=i) for i in range(n)],
        "death_date": [None] * n,
        "died": [0] * n,
        "prog_date": [None] * n,
        "last_fu": [MONDAY + dt.timedelta(weeks=i, days=365) for i in range(n)],
    } | columns
    return pa.table({name: pa.array(values, TYPES.get(name)) for name, values in base.items()})


DATED = {"key": "id", "roles": {"arm": "arm", "randomised": "randdate", "death": "death_date", "death_flag": "died",
                                "events": ["prog_date"], "last_contact": "last_fu"},
         "design": {"cutoff": "2023-12-31"}}


# --- dates ------------------------------------------------------------------------------------

def test_death_before_randomisation_names_exactly_those_participants():
    table = dated_trial()
    deaths = table["death_date"].to_pylist()
    died = table["died"].to_pylist()
    for key in (9, 2, 7):  # out of key order on purpose
        deaths[key - 1], died[key - 1] = MONDAY - dt.timedelta(days=key), 1
    deaths[4], died[4] = MONDAY + dt.timedelta(weeks=4, days=30), 1  # a death after randomisation is fine
    last = table["last_fu"].to_pylist()
    for key in (2, 5, 7, 9):
        last[key - 1] = deaths[key - 1]  # last contact at death
    table = table.set_column(3, "death_date", pa.array(deaths, pa.date32()))
    table = table.set_column(4, "died", pa.array(died, pa.int8()))
    table = table.set_column(6, "last_fu", pa.array(last, pa.date32()))
    results = run(table, DATED)
    result = results["dates: randomised (randdate) on or before death (death_date)"]
    assert not result.success
    assert (result.unexpected_count, result.unexpected_keys) == (3, [2, 7, 9])
    assert result.details["compared"] == 4
    assert results["dates: death flag agrees with death date"].success


def test_nothing_recorded_after_death_and_events_within_follow_up():
    n = 6
    deaths = [None, MONDAY + dt.timedelta(days=100), None, MONDAY + dt.timedelta(weeks=3, days=50), None, None]
    prog = [MONDAY + dt.timedelta(days=50), MONDAY + dt.timedelta(weeks=1, days=200), None,
            MONDAY + dt.timedelta(weeks=3, days=20), MONDAY + dt.timedelta(weeks=4, days=400), None]
    last = [MONDAY + dt.timedelta(weeks=i, days=365) for i in range(n)]
    last[1], last[3] = deaths[1] + dt.timedelta(days=10), deaths[3]
    table = dated_trial(n, death_date=deaths, died=[int(d is not None) for d in deaths], prog_date=prog,
                        last_fu=last)
    results = run(table, DATED)
    assert results["dates: event (prog_date) on or before death (death_date)"].unexpected_keys == [2]
    assert results["dates: last contact (last_fu) on or before death (death_date)"].unexpected_keys == [2]
    # 2 progressed after death and after being last seen (10 days after death); 5 after last contact
    assert results["dates: event (prog_date) on or before last contact (last_fu)"].unexpected_keys == [2, 5]
    assert results["dates: randomised (randdate) on or before event (prog_date)"].success
    assert results["dates: event (prog_date) on or before cut-off (2023-12-31)"].success


def test_dates_after_the_cut_off():
    table = dated_trial()
    metadata = {**DATED, "design": {"cutoff": dt.date(2022, 2, 28)}}  # YAML gives a date
    results = run(table, metadata)
    # last contact is a year after randomisation, on Tuesdays from 2022-01-04: the last two are after the cut-off
    result = results["dates: last contact (last_fu) on or before cut-off (2022-02-28)"]
    assert (result.unexpected_count, result.unexpected_keys) == (2, [9, 10])
    assert results["dates: randomised (randdate) on or before cut-off (2022-02-28)"].success


def test_death_flag_and_date_must_agree():
    deaths = [None, MONDAY + dt.timedelta(days=100), None, MONDAY + dt.timedelta(weeks=3, days=50)] + [None] * 6
    died = [0, 1, 1, 0] + [0] * 6
    table = dated_trial(death_date=deaths, died=died)
    result = run(table, DATED)["dates: death flag agrees with death date"]
    assert (result.unexpected_keys, result.details) == ([3, 4], {"flag_without_date": 1, "date_without_flag": 1})


def test_row_level_keys_are_capped_but_counted_exactly():
    n = MAX_KEYS + 50
    table = dated_trial(n, last_fu=[MONDAY - dt.timedelta(days=1)] * n)
    result = run(table, DATED)["dates: randomised (randdate) on or before last contact (last_fu)"]
    assert result.unexpected_count == n
    assert result.unexpected_keys == list(range(1, MAX_KEYS + 1))


# --- randomisation ----------------------------------------------------------------------------

def allocation_trial(counts: dict[str, int]) -> pa.Table:
    arms = [a for a, n in counts.items() for _ in range(n)]
    return pa.table({"id": [f"P{i:04d}" for i in range(len(arms))], "arm": arms})


def test_two_to_one_allocation_under_a_one_to_one_plan_fails():
    table = allocation_trial({"A": 200, "B": 100})
    result = run(table, {"key": "id", "roles": {"arm": "arm"},
                         "design": {"planned_ratio": {"A": 1, "B": 1}}})["randomisation: allocation ratio"]
    statistic = 50 ** 2 / 150 * 2  # (200 - 150)² / 150 + (100 - 150)² / 150
    assert not result.success
    assert result.details["statistic"] == pytest.approx(statistic)
    assert result.details["p_value"] == pytest.approx(math.erfc(math.sqrt(statistic / 2)))  # chi-square, 1 df
    assert result.figures[0].rows == [["A", 1.0, 200, 0.6667, 150.0, 0.5], ["B", 1.0, 100, 0.3333, 150.0, 0.5]]


def test_two_to_one_allocation_under_a_two_to_one_plan_passes_and_unplanned_arms_fail():
    metadata = {"key": "id", "roles": {"arm": "arm"}, "design": {"planned_ratio": {"A": 2, "B": 1}}}
    assert run(allocation_trial({"A": 200, "B": 100}), metadata)["randomisation: allocation ratio"].success
    result = run(allocation_trial({"A": 200, "B": 100, "C": 3}), metadata)["randomisation: allocation ratio"]
    assert not result.success and result.details["unplanned_arms"] == ["C"]


def test_weekend_randomisations_are_listed():
    days = [MONDAY + dt.timedelta(days=i) for i in range(14)]  # two full weeks, one per day
    table = pa.table({"id": list(range(100, 114)), "arm": ["A", "B"] * 7, "randdate": days})
    result = run(table, {"key": "id", "roles": {"arm": "arm", "randomised": "randdate"}})[
        "randomisation: weekday by arm"]
    assert result.unexpected_keys == [105, 106, 112, 113]  # Saturdays and Sundays
    assert result.success  # listed for query, not a failure by themselves
    assert result.figures[0].rows[5:] == [["Saturday", 1, 1, 2], ["Sunday", 1, 1, 2]]


def test_allocation_that_depends_on_the_weekday_fails():
    days = [MONDAY + dt.timedelta(weeks=i) for i in range(20)] + [MONDAY + dt.timedelta(weeks=i, days=1)
                                                                  for i in range(20)]
    table = pa.table({"id": list(range(40)), "arm": ["A"] * 20 + ["B"] * 20, "randdate": days})
    result = run(table, {"key": "id", "roles": {"arm": "arm", "randomised": "randdate"}})[
        "randomisation: weekday by arm"]
    assert not result.success
    assert result.details["p_value"] == pytest.approx(stats.chi2.sf(40, 1))  # perfect 2×2 association: chi² = n


def test_accrual_drift_between_arms_fails_by_quarter_and_by_month():
    days = [dt.date(2021, 1, 4) + dt.timedelta(days=i) for i in range(30)] + \
           [dt.date(2021, 5, 3) + dt.timedelta(days=i) for i in range(30)]
    arms = ["A"] * 25 + ["B"] * 5 + ["B"] * 25 + ["A"] * 5
    table = pa.table({"id": list(range(60)), "arm": arms, "randdate": days})
    metadata = {"key": "id", "roles": {"arm": "arm", "randomised": "randdate"}}
    quarterly = run(table, metadata)["randomisation: accrual by arm"]
    assert not quarterly.success
    assert quarterly.figures[0].rows == [["2021-Q1", 25, 5, 30], ["2021-Q2", 5, 25, 30]]
    observed = np.array([[25, 5], [5, 25]])
    assert quarterly.details["p_value"] == pytest.approx(stats.chi2_contingency(observed, correction=False).pvalue)
    monthly = run(table, metadata, {"accrual_period": "month"})["randomisation: accrual by arm"]
    assert [r[0] for r in monthly.figures[0].rows] == ["2021-01", "2021-02", "2021-05", "2021-06"]


def test_standardised_differences_by_hand():
    table = pa.table({
        "id": list(range(1, 9)),
        "arm": ["A"] * 4 + ["B"] * 4,
        "age": [40.0, 50.0, 60.0, None, 45.0, 55.0, 65.0, 75.0],
        "sex": ["M", "M", "M", "F", "M", "F", "F", "F"],
        "stage": ["I", "II", "III", "III", "I", "I", "II", "III"],
        "site": [1, 2, 3, 4, 1, 2, 3, 4],
    })
    metadata = {"key": "id", "roles": {"arm": "arm", "baseline": ["age", "sex", "stage", "site"]}}
    result = run(table, metadata)["randomisation: baseline balance"]
    d = {row[0]: row[-1] for row in result.figures[0].rows}
    # age: A mean 50, variance 100; B mean 60, variance 166.67 → 10 / sqrt(133.33)
    assert d["age"] == pytest.approx(10 / math.sqrt((100 + 500 / 3) / 2), abs=1e-4)
    # sex: share of M (levels sorted, F dropped) 3/4 vs 1/4 → |−0.5| / sqrt((3/16 + 3/16) / 2)
    assert d["sex"] == pytest.approx(0.5 / math.sqrt(3 / 16), abs=1e-4)
    # stage, Yang–Dalton over levels II and III: A (1/4, 1/2), B (1/4, 1/4)
    p1, p0 = np.array([0.25, 0.25]), np.array([0.25, 0.5])
    pooled = (np.diag(p1) - np.outer(p1, p1) + np.diag(p0) - np.outer(p0, p0)) / 2
    assert d["stage"] == pytest.approx(math.sqrt((p1 - p0) @ np.linalg.inv(pooled) @ (p1 - p0)), abs=1e-4)
    assert d["site"] == 0.0
    assert not result.success
    assert {o["covariate"] for o in result.details["offenders"]} == {"age", "sex", "stage"}
    assert result.details["reference_arm"] == "A"


def test_yang_dalton_for_two_levels_is_the_usual_binary_formula():
    for p1, p0 in [(0.3, 0.5), (0.9, 0.85), (0.01, 0.2)]:
        expected = abs(p1 - p0) / math.sqrt((p1 * (1 - p1) + p0 * (1 - p0)) / 2)
        assert randomisation.yang_dalton(np.array([1 - p1, p1]), np.array([1 - p0, p0])) == pytest.approx(expected)
    assert randomisation.yang_dalton(np.array([1.0, 0.0]), np.array([0.0, 1.0])) is None  # no variation, yet different


def test_balanced_covariate_within_threshold_passes():
    table = pa.table({"id": list(range(8)), "arm": ["A", "B"] * 4, "x": [1.0, 1.01, 2.0, 2.01, 3.0, 3.01, 4.0, 3.99]})
    metadata = {"key": "id", "roles": {"arm": "arm", "baseline": ["x"]}}
    result = run(table, metadata)["randomisation: baseline balance"]
    assert result.success, result.details
    assert not run(table, metadata, {"standardised_difference": 0.001})["randomisation: baseline balance"].success


def sequence(arms: list[str]) -> integrity.CheckResult:
    table = pa.table({"id": list(range(1, len(arms) + 1)), "arm": arms})
    return run(table, {"key": "id", "roles": {"arm": "arm"}})["randomisation: sequence of arms by ID"]


def test_strict_alternation_and_long_runs_are_flagged():
    alternating = sequence(["A", "B"] * 10)
    assert not alternating.success and alternating.details["pattern"] == "strict alternation"
    assert alternating.details["same_arm_as_previous"] == 0.0
    blocks = sequence(["A"] * 30 + ["B"] * 30)
    assert not blocks.success and blocks.details["pattern"].startswith("fewer runs")
    assert blocks.details["longest_run"] == {"A": 30, "B": 30}
    mean, variance = randomisation.runs_moments(np.array([30.0, 30.0]))
    assert blocks.details["z"] == pytest.approx((2 - mean) / math.sqrt(variance))


def test_random_sequence_passes_and_runs_moments_are_exact():
    rng = np.random.default_rng(175)
    assert sequence(list(rng.choice(["A", "B", "C"], size=300))).success
    for sizes in [(3, 2, 2), (4, 4), (2, 2, 2, 1)]:  # against every ordering
        orders = set(itertools.permutations([i for i, s in enumerate(sizes) for _ in range(s)]))
        runs = np.array([1 + sum(a != b for a, b in zip(o, o[1:])) for o in orders])
        mean, variance = randomisation.runs_moments(np.array(sizes, dtype=float))
        assert (mean, variance) == pytest.approx((runs.mean(), runs.var()))


def test_chi_square_tail_agrees_with_scipy():
    for df in (1, 2, 3, 4, 7, 10, 51, 300, 717):
        for x in (0.01, 1.0, 5.0, 30.0, 400.0, 2000.0):
            assert randomisation.chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-9, abs=1e-300)


def test_the_checks_import_neither_scipy_nor_lifelines():
    code = "import sys, repo.checks.integrity; print(sorted({'scipy', 'lifelines', 'pandas'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "scipy" not in out and "lifelines" not in out


def test_sequence_is_skipped_when_ids_are_not_near_sequential():
    table = pa.table({"id": [i * 1000 for i in range(20)], "arm": ["A", "B"] * 10})
    result = run(table, {"key": "id", "roles": {"arm": "arm"}})["randomisation: sequence of arms by ID"]
    assert result.success and "skipped" in result.details


# --- follow-up --------------------------------------------------------------------------------

def test_kaplan_meier_matches_lifelines():
    rng = np.random.default_rng(1996)
    times = rng.integers(1, 60, size=400).astype(float)  # many ties
    events = rng.random(400) < 0.6
    t, s = followup.kaplan_meier(times, events)
    fitted = KaplanMeierFitter().fit(times, events)
    reference = fitted.survival_function_["KM_estimate"]
    assert np.allclose(s, reference.loc[t].to_numpy())
    assert followup.survival_time(t, s, 0.5) == fitted.median_survival_time_


def test_reverse_km_median_per_arm_from_dates_matches_lifelines():
    rng = np.random.default_rng(175)
    n = 300
    randomised = [dt.date(2015, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 1500, n)]
    follow = rng.integers(30, 2000, n)
    dead = rng.random(n) < 0.3
    deaths = [r + dt.timedelta(days=int(f)) if x else None for r, f, x in zip(randomised, follow, dead)]
    last = [r + dt.timedelta(days=int(f)) for r, f in zip(randomised, follow)]  # the dead: last seen at death
    arms = list(rng.choice(["A", "B"], size=n))
    table = pa.table({"id": list(range(n)), "arm": arms, "randdate": randomised, "death_date": deaths,
                      "last_fu": last})
    metadata = {"key": "id", "roles": {"arm": "arm", "randomised": "randdate", "death": "death_date",
                                       "last_contact": "last_fu"}}
    result = run(table, metadata)["follow-up: median by reverse Kaplan–Meier"]
    assert result.details["source"] == "dates"
    frame = pd.DataFrame({"arm": arms, "days": follow, "alive": ~dead})
    for arm, group in frame.groupby("arm"):
        fitted = KaplanMeierFitter().fit(group["days"], group["alive"])  # censoring is the event
        assert result.details["median_days"][arm] == fitted.median_survival_time_


def test_loss_to_follow_up_lists_alive_participants_last_seen_before_the_window():
    last = [dt.date(2023, 6, 1)] * 10
    last[2], last[7] = dt.date(2022, 1, 15), dt.date(2022, 12, 30)  # the window opens on 2022-12-31
    last[4] = dt.date(2021, 1, 1)
    deaths = [None] * 10
    deaths[4] = dt.date(2021, 1, 1)  # dead, so not lost
    table = dated_trial(last_fu=last, death_date=deaths, died=[0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    result = run(table, DATED)["follow-up: lost to follow-up"]
    assert (result.unexpected_count, result.unexpected_keys) == (2, [3, 8])
    assert result.details["lost_by_arm"] == {"A": 1, "B": 1}
    wider = run(table, DATED, {"loss_to_follow_up_days": 720})["follow-up: lost to follow-up"]
    assert wider.unexpected_keys == []


# --- missing data, publication ----------------------------------------------------------------

def test_missing_data_that_differ_by_arm_fail():
    n = 40
    table = pa.table({"id": list(range(n)), "arm": ["A"] * 20 + ["B"] * 20,
                      "cd4": [None] * 12 + [1.0] * 28, "note": [""] * 3 + ["x"] * 37,
                      "wt": [float("nan")] + [70.0] * 39})
    result = run(table, {"key": "id", "roles": {"arm": "arm"}})["missing data: by arm"]
    assert not result.success
    assert result.details["offenders"] == [{"variable": "cd4", "missing": 12, "share_by_arm": {"A": 0.6, "B": 0.0}}]
    assert result.figures[0].columns == ["variable", "arm A (n=20)", "arm B (n=20)"]
    assert result.figures[0].rows == [["cd4", "12 (60.0%)", "0 (0.0%)"], ["note", "3 (15.0%)", "0 (0.0%)"],
                                      ["wt", "1 (5.0%)", "0 (0.0%)"]]
    assert result.details["complete_variables"] == 0
    fewer = run(table, {"key": "id", "roles": {"arm": "arm"}}, {"missing_min_count": 13})
    assert fewer["missing data: by arm"].success


def test_agreement_with_the_publication():
    table = dated_trial(died=[1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
                        death_date=[MONDAY + dt.timedelta(days=9), None, None, MONDAY + dt.timedelta(days=60)]
                        + [None] * 6)
    published = {"randomised": {"A": 5, "B": 6}, "events": {"A": 1, "B": 1}}
    results = run(table, {**DATED, "design": {"publication": published}})
    randomised = results["publication: randomised by arm"]
    assert not randomised.success
    assert randomised.details == {"published": {"A": 5, "B": 6}, "observed": {"A": 5, "B": 5}}
    assert randomised.figures[0].rows == [["A", 5, 5, 0], ["B", 6, 5, -1]]
    assert results["publication: events by arm"].success
    total = run(table, {**DATED, "design": {"publication": {"randomised": 10}}})["publication: randomised"]
    assert total.success and total.figures[0].rows == [["all", 10, 10, 0]]


# --- what is declared -------------------------------------------------------------------------

def test_checks_run_only_when_their_inputs_are_declared():
    table = dated_trial()
    assert run(table.drop_columns(["arm"]), {"key": "id"}) == {}
    assert set(run(table, {"key": "id"})) == {"text: cells a spreadsheet would run as formulas"}  # arm is text
    assert set(run(table, {"key": "id", "roles": {"arm": "arm"}})) == {
        "randomisation: sequence of arms by ID", "missing data: by arm",
        "text: cells a spreadsheet would run as formulas"}
    dates_only = run(table.drop_columns(["arm"]), {"key": "id", "roles": {"randomised": "randdate",
                                                                         "death": "death_date"}})
    assert set(dates_only) == {"dates: randomised (randdate) on or before death (death_date)"}
    no_cutoff = run(table, {**DATED, "design": {}})
    assert not any("cut-off" in name for name in no_cutoff) and "follow-up: lost to follow-up" not in no_cutoff
    assert "follow-up: median by reverse Kaplan–Meier" in no_cutoff


def test_string_dates_in_one_format_are_read():
    table = dated_trial()
    text = pa.array([d.strftime("%d/%m/%Y") for d in table["randdate"].to_pylist()])
    results = run(table.set_column(2, "randdate", text), DATED)
    assert results["randomisation: weekday by arm"].figures[0].rows[0] == ["Monday", 5, 5, 10]


def test_yes_no_flags_with_blanks_are_read():
    deaths = [MONDAY + dt.timedelta(days=40)] + [None] * 9
    flags = pa.array(["Yes", " no", ""] + ["NO"] * 7)
    table = dated_trial(death_date=deaths).set_column(4, "died", flags)
    result = run(table, DATED)["dates: death flag agrees with death date"]
    assert result.success and result.details == {"flag_without_date": 0, "date_without_flag": 0}


@pytest.mark.parametrize(("change", "message"), [
    ({"roles": {"arm": "treatment"}}, "roles.arm: column 'treatment' is not in the data"),
    ({"roles": {"events": ["prog_date", "relapse"]}}, "roles.events: column 'relapse' is not in the data"),
    ({"roles": {"randomised": "arm"}},
     "roles.randomised: column 'arm' has values that are not dates, first at key 1: 'A'"),
    ({"roles": {"death_flag": "randdate"}},
     "roles.death_flag: column 'randdate' is date, not a 0/1 or boolean indicator"),
    ({"roles": {"time": "arm"}}, "roles.time: column 'arm' is string, not a number of days"),
    ({"key": "pid"}, "key: column 'pid' is not in the data"),
    ({"design": {"cutoff": "31/12/2023"}}, "design.cutoff: '31/12/2023' is not a date (expected YYYY-MM-DD)"),
    ({"design": {"planned_ratio": {"A": 0, "B": 1}}},
     "design.planned_ratio: arm 'A' has ratio 0, expected a positive number"),
    ({"design": {"publication": {"events": {"A": "forty"}}}},
     "design.publication.events: expected a count, or a count per arm, got {'A': 'forty'}"),
])
def test_unusable_roles_are_one_line_errors(change, message):
    metadata = {**DATED, **change}
    with pytest.raises(InvalidInput) as caught:
        run(dated_trial(), metadata)
    assert str(caught.value) == message


def test_unparseable_date_names_the_first_offending_key_and_value():
    text = [d.isoformat() for d in dated_trial()["last_fu"].to_pylist()]
    text[6], text[3] = "2022-02-30", "unknown"
    table = dated_trial().set_column(6, "last_fu", pa.array(text))
    with pytest.raises(InvalidInput) as caught:
        run(table, DATED)
    assert str(caught.value) == ("roles.last_contact: column 'last_fu' has values that are not dates, "
                                 "first at key 4: 'unknown'")
    assert "\n" not in str(caught.value)


def test_ambiguous_dates_and_bad_indicators_and_thresholds_are_refused():
    ambiguous = pa.array(["01/02/2021", "03/04/2021"] * 5)
    with pytest.raises(InvalidInput, match="day/month and as month/day"):
        run(dated_trial().set_column(2, "randdate", ambiguous), DATED)
    with pytest.raises(InvalidInput, match=r"roles.death_flag: column 'died' must be 0/1 or boolean, "
                                           r"first other value at key 2: 2"):
        run(dated_trial(died=[0, 2] * 5), DATED)
    with pytest.raises(InvalidInput, match="thresholds.weekday_p: expected a non-negative number"):
        run(dated_trial(), DATED, {"weekday_p": "small"})
    assert run(dated_trial(), DATED, {"other_checks_threshold": "ignored"})


# --- real trials ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def actg175() -> pa.Table:
    return pacsv.read_csv(ACTG175)


ACTG_METADATA = {
    "key": "pidnum",
    "roles": {"arm": "arms", "baseline": ["age", "wtkg", "karnof", "cd40", "cd80", "gender", "race"],
              "time": "days", "status": "cens"},
    # Hammer et al. 1996 randomised 2,467; this public subset has 2,139 with these counts per arm
    "design": {"planned_ratio": {0: 1, 1: 1, 2: 1, 3: 1},
               "publication": {"randomised": {0: 532, 1: 522, 2: 524, 3: 561}, "events": {0: 181, 1: 103, 2: 109,
                                                                                         3: 128}}},
}


def test_actg175_figures(actg175):
    results = run(actg175, ACTG_METADATA)
    allocation = results["randomisation: allocation ratio"]
    assert allocation.success
    assert allocation.details["statistic"] == pytest.approx(1.8228144, abs=1e-6)
    assert allocation.details["p_value"] == pytest.approx(stats.chisquare([532, 522, 524, 561]).pvalue)

    balance = results["randomisation: baseline balance"]
    # wtkg, zidovudine+zalcitabine (2) vs zidovudine (0): (74.71 − 76.06) / pooled SD, checked with pandas
    assert balance.details["offenders"] == [{"covariate": "wtkg", "arm": 2, "d": pytest.approx(-0.1019982, abs=1e-6)}]
    d = {(r[0], r[2]): r[-1] for r in balance.figures[0].rows}
    assert d[("gender", 3)] == pytest.approx(0.0678, abs=1e-4)
    assert len(balance.figures[0].rows) == 7 * 3

    assert results["randomisation: sequence of arms by ID"].details["skipped"]
    follow = results["follow-up: median by reverse Kaplan–Meier"]
    assert follow.details["source"] == "time and status"
    assert follow.details["median_days"] == {"0": 1041.0, "1": 1067.0, "2": 1062.0, "3": 1056.0}
    frame = actg175.select(["arms", "days", "cens"]).to_pandas()
    for arm, group in frame.groupby("arms"):
        fitted = KaplanMeierFitter().fit(group["days"], 1 - group["cens"])
        assert follow.details["median_days"][str(arm)] == fitted.median_survival_time_

    missing = results["missing data: by arm"]
    assert missing.success
    assert missing.figures[0].rows == [["cd496", "211 (39.7%)", "189 (36.2%)", "187 (35.7%)", "210 (37.4%)"]]
    assert results["publication: randomised by arm"].success and results["publication: events by arm"].success


def test_gbsg2_string_dates_weekends_and_order():
    table = pacsv.read_csv(GBSG2)
    assert table.schema.field("diagdateb").type == pa.string()  # dd-mm-YYYY, left as text
    metadata = {"key": "id", "roles": {"arm": "hormone", "randomised": "diagdateb", "events": ["recdate"],
                                       "last_contact": "deathdate", "baseline": ["age", "size", "grade"]},
                "design": {"cutoff": "1992-12-31"}}
    results = run(table, metadata)
    frame = table.to_pandas()
    weekend = frame[pd.to_datetime(frame["diagdateb"], format="%d-%m-%Y").dt.dayofweek >= 5]["id"]
    weekday = results["randomisation: weekday by arm"]
    assert weekday.unexpected_keys == sorted(weekend) and len(weekend) == 3
    assert sum(r[-1] for r in weekday.figures[0].rows) == 686
    order = [r for name, r in results.items() if name.startswith("dates:")]
    assert len(order) == 6 and all(r.success for r in order)
    assert results["randomisation: accrual by arm"].figures[0].rows[0][0] == "1984-Q2"
