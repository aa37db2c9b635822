"""De-identification by the NHLBI rules, checked against plain pandas counts written here, not the code's own."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from repo.errors import InvalidInput
from repo.release.deidentify import deidentify
from repo.release.rules import AgeRule, ConsentRule, DateRule, Protection
from repo.release.scan import scan
from support.deidentify import KARNOF, RULES, joined, release_ids, trial


def run(table=None, rules=RULES, tier="commercial", excluded_ids=None, **options):
    table = trial() if table is None else table
    return deidentify(table, rules, tier, release_ids(table), [], excluded_ids or {}, **options)


def mod(result, variable: str, action: str | None = None):
    [m] = [m for m in result.modifications if m.variable == variable and (action is None or m.action == action)]
    return m


# -- what never leaves ------------------------------------------------------------------------------

def test_identifiers_sensitive_free_text_consent_and_the_key_are_gone():
    result = run()
    assert result.table.column_names == ["release_id", "race", "gender", "age", "wtkg", "karnof", "site", "tech",
                                         "death", "visit", "arm", "cd4"]
    original = trial()
    keys = {str(k) for k in original.column("pid").to_pylist()}
    for name in result.table.column_names:
        assert not keys & {str(v) for v in result.table.column(name).to_pylist()}, name
    for name in ("name", "ssn", "drugs", "other_specify", "hemo", "share_ok", "commercial_ok", "randdate"):
        assert mod(result, name).action == "delete"
    assert mod(result, "pid").action == "replace"
    assert all(not pa.types.is_date(f.type) and not pa.types.is_timestamp(f.type) for f in result.table.schema)
    assert scan(result.table) == []


def test_release_ids_replace_keys_and_rows_are_sorted_by_them():
    result = run(tier="noncommercial")
    ids = result.table.column("release_id").to_pylist()
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    both = joined(result)
    assert (both["arm"] == both["arm_orig"]).all() and (both["cd4"] == both["cd4_orig"]).all()
    assert set(both["pid"]) == set(trial().to_pandas().query("share_ok != 0")["pid"])


@pytest.mark.parametrize("tier", ["noncommercial", "commercial"])
def test_participants_who_refused_are_excluded_per_tier(tier):
    frame = trial().to_pandas()
    listed = set(frame["pid"].iloc[:30])  # a consent list from a file, as strings (as read from CSV)
    rules = dataclasses.replace(RULES, no_commercial=ConsentRule(file="source/consent/no-commercial.csv"))
    result = run(rules=rules, tier=tier, excluded_ids={"no_commercial": {str(k) for k in listed}})
    refused = frame["share_ok"] == 0
    commercial = frame["pid"].isin(listed) & ~refused
    kept = frame[~refused & ~commercial] if tier == "commercial" else frame[~refused]
    assert set(joined(result)["pid"]) == set(kept["pid"])
    assert result.excluded == {"no_sharing": int(refused.sum()),
                               "no_commercial": int(commercial.sum()) if tier == "commercial" else 0}
    assert "share_ok" not in result.table.column_names


def test_a_consent_file_that_was_not_read_is_refused():
    rules = dataclasses.replace(RULES, no_sharing=ConsentRule(file="source/consent/no-sharing.csv"))
    with pytest.raises(InvalidInput) as error:
        run(rules=rules)
    assert str(error.value) == "release.consent.no_sharing: the ID list source/consent/no-sharing.csv was not read"


def test_a_participant_without_a_release_id_is_refused():
    table = trial()
    ids = release_ids(table)
    del ids[50001]
    rules = dataclasses.replace(RULES, no_sharing=None, no_commercial=None)
    with pytest.raises(InvalidInput) as error:
        deidentify(table, rules, "commercial", ids, [], {})
    assert str(error.value) == "1 participant(s) have no release ID (e.g. pid 50001)"


@pytest.mark.parametrize("change, message", [
    ({"participant_id": "nope"}, "release.participant_id: no column 'nope'"),
    ({"dates": DateRule(reference=None)}, "release.dates.reference: dates are coded relative to a reference date; "
                                         "name a date column (now None)"),
    ({"dates": DateRule(reference="randdate", columns=["arm"])}, "release.dates.columns: arm is not a date column "
                                                                 "(string)"),
    ({"quasi_identifiers": [Protection("arm", "trim")]},
     "release.quasi_identifiers.arm: trim needs a numeric column, not string"),
    ({"quasi_identifiers": [Protection("arm", "collapse")]}, "release.quasi_identifiers.arm: collapse needs groups"),
    ({"age": AgeRule(column="arm")}, "release.age.column: arm is not numeric (string)"),
])
def test_rules_that_cannot_be_applied_are_refused(change, message):
    with pytest.raises(InvalidInput) as error:
        run(rules=dataclasses.replace(RULES, **change))
    assert str(error.value) == message
    with pytest.raises(InvalidInput) as error:
        run(tier="public")
    assert str(error.value) == "unknown tier 'public'; the tiers are noncommercial, commercial"


# -- dates ------------------------------------------------------------------------------------------

def test_relative_dates_are_days_since_randomisation():
    both = joined(run())
    expected = (pd.to_datetime(both["death_orig"]) - pd.to_datetime(both["randdate"])).dt.days
    assert both["death"].isna().equals(expected.isna())
    assert (both["death"].dropna() == expected.dropna()).all()
    visit = (pd.to_datetime(both["visit_orig"]).dt.normalize() - pd.to_datetime(both["randdate"])).dt.days
    assert (both["visit"] == visit).all()
    assert mod(run(), "death").parameters == {"reference": "randdate", "unit": "days"}


def test_shifted_dates_move_every_date_of_a_participant_by_one_offset():
    rules = dataclasses.replace(RULES, dates=DateRule(mode="shift"))
    result = run(rules=rules, secret=b"trial secret")
    assert [m.variable for m in result.modifications if m.action == "shift"] == ["randdate", "death", "visit"]
    assert "calendar dates are released by design" in mod(result, "randdate").rationale
    both = joined(result)
    offset = (pd.to_datetime(both["randdate"]) - pd.to_datetime(both["randdate_orig"])).dt.days
    assert (offset != 0).all() and offset.abs().max() <= 365 and offset.nunique() > 100
    death = (pd.to_datetime(both["death"]) - pd.to_datetime(both["death_orig"])).dt.days.dropna()
    assert (death == offset[death.index]).all()
    visit = pd.to_datetime(both["visit"]) - pd.to_datetime(both["visit_orig"])
    assert (visit == pd.to_timedelta(offset, unit="D")).all()
    again = joined(run(rules=rules, secret=b"trial secret"))
    assert (again["randdate"] == both["randdate"]).all()
    other = joined(run(rules=rules, secret=b"another secret"))
    assert (other["randdate"] != both["randdate"]).mean() > 0.9


# -- ages, centres, technicians ---------------------------------------------------------------------

def test_ages_of_90_and_over_become_one_category():
    result = run()
    both = joined(result)
    expected = both["age_orig"].map(lambda a: "90+" if a >= 90 else str(a))
    assert (both["age"] == expected).all()
    assert pa.types.is_string(result.table.schema.field("age").type)
    assert mod(result, "age").rows_affected == int((both["age_orig"] >= 90).sum())


def test_centres_and_technicians_get_stable_codes_in_order_of_their_values():
    result, other = run(), run(tier="noncommercial")
    both = joined(result)
    assert dict(zip(both["site_orig"], both["site"])) == {101: "C01", 205: "C02", 330: "C03"}
    assert dict(zip(both["tech_orig"], both["tech"])) == {"ak": "T01", "jb": "T02", "mm": "T03", "zz": "T04"}
    assert dict(zip(joined(other)["site_orig"], joined(other)["site"])) == {101: "C01", 205: "C02", 330: "C03"}
    deleted = run(rules=dataclasses.replace(RULES, centres={"site": "delete"}))
    assert "site" not in deleted.table.column_names and mod(deleted, "site").action == "delete"


# -- quasi-identifiers --------------------------------------------------------------------------------

def test_collapsed_values_meet_the_minimum_in_every_race_sex_cell():
    result = run()
    counts = result.table.to_pandas().groupby(["race", "gender", "karnof"], dropna=False).size()
    assert counts.min() >= 20
    assert set(result.table.column("karnof").to_pylist()) == {"<=70", "80", "90", "100"}
    m = mod(result, "karnof")
    assert m.parameters["min_cell_met"] is True and m.parameters["failing"] == []
    assert m.parameters["smallest"]["count"] == counts.min()
    both = joined(result)
    assert m.rows_affected == int(both["karnof_orig"].isin([60, 70]).sum())


def test_a_collapse_that_leaves_small_cells_names_them_and_missing_values_count():
    table = trial()
    karnof = table.column("karnof").to_pylist()
    karnof[:3] = [None, None, None]
    table = table.set_column(table.schema.get_field_index("karnof"), "karnof", pa.array(karnof))
    for groups, small in (({"<=80": [70, 80]}, {"60", None}), (KARNOF, {None}),
                          ({"<=70": [None, 60, 70], "80": [80]}, set())):
        rules = dataclasses.replace(RULES, quasi_identifiers=[Protection("karnof", "collapse", groups)])
        result = run(table, rules=rules)
        m = mod(result, "karnof")
        counts = result.table.to_pandas().groupby(["race", "gender", "karnof"], dropna=False).size()
        failing = counts[counts < 20]
        assert {None if pd.isna(v) else v for _, _, v in failing.index} == small
        assert m.parameters["min_cell_met"] is (not small)
        assert m.parameters["failing_total"] == len(failing)
        assert {(f["race"], f["gender"], f["value"], f["count"]) for f in m.parameters["failing"]} == {
            (r, g, None if pd.isna(v) else v, n) for (r, g, v), n in failing.items()}
        assert m.parameters["smallest"]["count"] == counts.min()
        assert "missing values count as a value of their own" in m.rationale


def test_trimmed_values_share_the_extremes_and_the_thresholds_are_the_least_extreme():
    result = run()
    both = joined(result)
    m = mod(result, "wtkg")
    top, bottom = m.parameters["top"], m.parameters["bottom"]
    assert (both["wtkg"] == both["wtkg_orig"].clip(bottom, top)).all()
    for _, cell in both.groupby(["race", "gender"]):
        assert (cell["wtkg"] == top).sum() >= 20 and (cell["wtkg"] == bottom).sum() >= 20
    higher = both.loc[both["wtkg_orig"] > top, "wtkg_orig"].min()
    lower = both.loc[both["wtkg_orig"] < bottom, "wtkg_orig"].max()
    assert min((cell["wtkg_orig"] >= higher).sum() for _, cell in both.groupby(["race", "gender"])) < 20
    assert min((cell["wtkg_orig"] <= lower).sum() for _, cell in both.groupby(["race", "gender"])) < 20
    assert m.parameters["rows_top_coded"] == int((both["wtkg_orig"] > top).sum())
    assert m.parameters["rows_bottom_coded"] == int((both["wtkg_orig"] < bottom).sum())
    assert m.rows_affected == m.parameters["rows_top_coded"] + m.parameters["rows_bottom_coded"]
    assert m.parameters["min_cell_met"] is True


@pytest.mark.parametrize("action", ["topcode", "bottomcode"])
def test_one_sided_coding_leaves_the_other_end(action):
    rules = dataclasses.replace(RULES, quasi_identifiers=[Protection("cd4", action)])
    result = run(rules=rules)
    both = joined(result)
    m = mod(result, "cd4")
    if action == "topcode":
        assert m.parameters["bottom"] is None and both["cd4"].min() == both["cd4_orig"].min()
        assert (both["cd4"] == both["cd4_orig"].clip(upper=m.parameters["top"])).all()
    else:
        assert m.parameters["top"] is None and both["cd4"].max() == both["cd4_orig"].max()
        assert (both["cd4"] == both["cd4_orig"].clip(lower=m.parameters["bottom"])).all()
    assert m.parameters["min_cell_met"] is True


def test_a_dichotomous_variable_is_grouped_or_deleted():
    grouped = dataclasses.replace(RULES, quasi_identifiers=[Protection("hemo", "group", {"any": [0, 1]})])
    result = run(rules=grouped)
    assert set(result.table.column("hemo").to_pylist()) == {"any"}
    assert mod(result, "hemo").parameters["min_cell_met"] is True
    assert "hemo" not in run().table.column_names


def test_an_age_also_trimmed_keeps_the_90_plus_category():
    rules = dataclasses.replace(RULES, quasi_identifiers=[Protection("age", "trim")])
    result = run(rules=rules)
    m = mod(result, "age", "trim")
    top, bottom = m.parameters["top"], m.parameters["bottom"]
    both = joined(result, trial())
    as_text = lambda a: "90+" if a >= 90 else str(a)  # noqa: E731
    assert (both["age"] == both["age_orig"].clip(upper=90).clip(bottom, top).map(as_text)).all()
    for _, cell in both.groupby(["race", "gender"]):
        assert (cell["age"] == as_text(top)).sum() >= 20 and (cell["age"] == as_text(bottom)).sum() >= 20
    assert m.parameters["min_cell_met"] is True and mod(result, "age", "age_top").parameters["category"] == "90+"


# -- the whole --------------------------------------------------------------------------------------

def _bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def test_the_same_inputs_give_the_same_bytes_in_any_row_order():
    table = trial()
    shuffled = table.take(np.random.default_rng(3).permutation(table.num_rows))
    first, second = run(table), run(shuffled)
    assert _bytes(first.table) == _bytes(second.table) == _bytes(run(table).table)
    assert first.modifications == second.modifications and first.dictionary == second.dictionary


def test_the_dictionary_describes_every_released_column():
    columns = [{"name": "wtkg", "type": "number", "label": "Weight (kg)"}, {"name": "arm", "label": "Arm"}]
    result = deidentify(trial(), RULES, "commercial", release_ids(trial()), columns, {})
    entries = {e["name"]: e for e in result.dictionary}
    assert list(entries) == result.table.column_names
    assert entries["wtkg"]["label"] == "Weight (kg)" and entries["arm"] == {
        "name": "arm", "type": "string", "label": "Arm", "recoding": "none"}
    assert entries["karnof"]["recoding"] == "collapsed: '<=70' = 60, 70; '80' = 80; '90' = 90; '100' = 100"
    assert entries["death"]["recoding"] == "days from randdate (negative: before it); no calendar dates"
    assert entries["age"]["type"] == "string" and "'90+'" in entries["age"]["recoding"]


# -- the scan -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, what", [
    (["none", "write to jane.doe@example.org"], "e-mail addresses"),
    (["none", "+44 20 7946 0958"], "phone numbers"),
    (["(555) 123-4567", "none"], "phone numbers"),
    (["123-45-6789", "none"], "US social security numbers"),
    (["485 777 3456", "none"], "UK NHS numbers"),
    (["4857773456", "none"], "UK NHS numbers"),
    (["seen 2020-03-12", "none"], "calendar dates"),
    (["31/12/2019", "none"], "calendar dates"),
    (["12/31/2019", "none"], "calendar dates"),
    (["12 Mar 2020", "none"], "calendar dates"),
    (["March 12, 2020", "none"], "calendar dates"),
    (["a" * 60, "b" * 45, "short"], "long free text"),
    ([f"patient felt dizzy on day {i}" for i in range(30)], "long free text"),
])
def test_the_scan_finds_identifying_text(values, what):
    table = pa.table({"n": range(len(values)), "ok": ["A"] * len(values), "text": values})
    assert (("text", what)) in scan(table)
    assert [column for column, _ in scan(table)] == ["text"] * len(scan(table))


def test_the_scan_passes_ordinary_categories_and_released_codes():
    n = 200
    table = pa.table({
        "release_id": [f"R{3000001 + i:07d}" for i in range(n)],
        "health": (["Very good", "Good", "Fair", "Poor", "Not at all well"] * 40),
        "age": [("90+" if i % 9 == 0 else str(20 + i % 60)) for i in range(n)],
        "site": [f"C{i % 12 + 1:02d}" for i in range(n)],
        "karnof": (["<=70", "80", "90", "100"] * 50),
        "dose": (["10 mg", "20 mg", "1.5-2.0 mg/kg"] * 67)[:n],
        "cat": pa.array((["a", "b"] * 100)).dictionary_encode(),
        "phone_as_number": range(5550000000, 5550000000 + n),
    })
    assert scan(table) == []


def test_the_curators_reasons_are_logged_with_the_rule():
    rules = dataclasses.replace(RULES, rationale={"wtkg": "weights identify the heaviest participants"})
    assert mod(run(rules=rules), "wtkg").rationale.endswith("; curator: weights identify the heaviest participants")


def test_a_kept_continuous_variable_is_checked_at_both_ends():
    result = run(rules=dataclasses.replace(RULES, quasi_identifiers=[Protection("cd4", "keep")]))
    m = mod(result, "cd4")
    frame = result.table.to_pandas()
    shares = [((cell["cd4"] == cell["cd4"].max()).sum(), (cell["cd4"] == cell["cd4"].min()).sum())
              for _, cell in frame.groupby(["race", "gender"])]
    assert (m.action, m.rows_affected) == ("keep", 0)
    assert m.parameters["min_cell_met"] is all(t >= 20 and b >= 20 for t, b in shares) is False
    assert m.parameters["failing_total"] == sum(t < 20 or b < 20 for t, b in shares)
