"""Release rules: exact refusals for bad rules, the defaults, and the rules proposed for real trials."""

from __future__ import annotations

import copy
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
import yaml
from conftest import ACTG175, GBSG2

from repo.backends import formats
from repo.errors import InvalidInput
from repo.release import rules
from repo.release.grouping import propose_groups
from repo.release.proposal import propose as propose_rules
from repo.release.ruleload import load as load_rules
from repo.release.rules import (
    AgeRule,
    ConsentRule,
    DateRule,
    Generalisation,
    Protection,
    ReleaseRules,
    Targets,
)

EXAMPLES = Path(__file__).parents[1] / "datasets"


def _column(name: str, kind: str, values: list | None = None) -> dict:
    return {"name": name, "type": kind, **({"values": [{"value": v, "count": 1} for v in values]} if values else {})}


META = {
    "trial": "t", "key": "pid", "roles": {"arm": "arm", "randomised": "randdate"},
    "columns": [_column("pid", "integer"), _column("arm", "string", ["A", "B"]), _column("age", "integer"),
                _column("sex", "string", ["F", "M"]), _column("wtkg", "number"),
                _column("karnof", "integer", [70, 80, 90, 100]), _column("randdate", "date"),
                _column("death", "date"), _column("name", "string"), _column("site", "integer"),
                _column("share_ok", "integer", [0, 1])],
}
COLUMNS = [c["name"] for c in META["columns"]]
WHERE = "datasets/t/dataset.yaml: release"


def load(release, **metadata):
    return load_rules({**copy.deepcopy(META), **metadata, "release": release}, COLUMNS)


@pytest.mark.parametrize("release, message", [
    ([1], ": expected a mapping of rules"),
    ({"min_cells": 5}, ".min_cells: unknown rule (the rules are: min_cell, race, sex, participant_id, identifiers, "
                       "centres, technicians, sensitive, free_text, dates, age, quasi_identifiers, consent, keep, "
                       "rationale, exceptions, targets, generalise)"),
    ({"targets": {"k": 0}}, ".targets.k: must be a positive integer, not 0"),
    ({"targets": {"average_risk": 1.5}}, ".targets.average_risk: must be a share above 0 up to 1, not 1.5"),
    ({"targets": {"commercial": {"suppression": -0.1}}},
     ".targets.commercial.suppression: must be a share from 0 up to 1, not -0.1"),
    ({"targets": {"l": 3}}, ".targets.l: unknown setting (k, average_risk, suppression, or a tier: noncommercial, "
                            "commercial)"),
    ({"generalise": {"wtkg": {"width": 5, "groups": {"a": [1]}}}},
     ".generalise.wtkg: give one of width (bands of numbers), groups (categories) or pool (centres)"),
    ({"generalise": {"sex": {"width": 5}}}, ".generalise.sex: bands need a numeric column, not string"),
    ({"generalise": {"wtkg": {"width": 5, "bottom": 90, "top": 40}}},
     ".generalise.wtkg: bottom (90) must be below top (40)"),
    ({"generalise": {"karnof": {"pool": [70]}}},
     ".generalise.karnof: karnof cannot be generalised this way: pool is for recoded centre columns"),
    ({"keep": ["wtkg"], "generalise": {"wtkg": {"width": 5}}},
     ".generalise.wtkg: wtkg cannot be generalised this way: it is in release.keep"),
    ({"quasi_identifiers": {"wtkg": "trim"}, "generalise": {"wtkg": {"width": 5}}},
     ".generalise.wtkg: wtkg cannot be generalised this way: it is in release.quasi_identifiers"),
    ({"min_cell": 0}, ".min_cell: must be a positive integer, not 0"),
    ({"min_cell": "20"}, ".min_cell: must be a positive integer, not '20'"),
    ({"min_cell": 2.5}, ".min_cell: must be a positive integer, not 2.5"),
    ({"min_cell": True}, ".min_cell: must be a positive integer, not True"),
    ({"race": "ethnicity"}, ".race: no column 'ethnicity' in the data"),
    ({"participant_id": "id"}, ".participant_id: no column 'id' in the data"),
    ({"identifiers": ["nam"]}, ".identifiers: no column 'nam' in the data"),
    ({"identifiers": "name"}, ".identifiers: expected a list of columns"),
    ({"identifiers": [["name"]]}, ".identifiers: expected a column name, not ['name']"),
    ({"centres": {"site": "hide"}}, ".centres.site: unknown action 'hide' (delete or recode)"),
    ({"centres": ["site"]}, ".centres: expected a mapping of column: delete or recode"),
    ({"technicians": {"tech": "recode"}}, ".technicians.tech: no column 'tech' in the data"),
    ({"quasi_identifiers": {"wtkg": {"action": "shrink"}}},
     ".quasi_identifiers.wtkg: unknown action 'shrink' (one of keep, collapse, trim, topcode, bottomcode, group, "
     "delete)"),
    ({"quasi_identifiers": {"wtkg": "trim", "wt": "trim"}}, ".quasi_identifiers.wt: no column 'wt' in the data"),
    ({"quasi_identifiers": {"wtkg": {"action": "trim", "cut": 3}}},
     ".quasi_identifiers.wtkg: unknown setting 'cut' (action, groups)"),
    ({"quasi_identifiers": {"karnof": "collapse"}},
     ".quasi_identifiers.karnof: collapse needs groups: each new value and the values it stands for"),
    ({"quasi_identifiers": {"karnof": {"action": "collapse", "groups": {"low": [70, 75]}}}},
     ".quasi_identifiers.karnof.groups: 75 is not a value of karnof"),
    ({"quasi_identifiers": {"karnof": {"action": "collapse", "groups": {"low": [70, 80], "mid": [80, 90]}}}},
     ".quasi_identifiers.karnof.groups: 80 is in two groups ('low' and 'mid')"),
    ({"quasi_identifiers": {"wtkg": {"action": "trim", "groups": {"a": [1]}}}},
     ".quasi_identifiers.wtkg.groups: groups go with collapse or group, not trim"),
    ({"quasi_identifiers": {"name": "topcode"}}, ".quasi_identifiers.name: topcode needs a numeric column, not string"),
    ({"identifiers": ["name"], "keep": ["age", "name"]}, ".keep: name is also in release.identifiers; a column takes "
                                                         "one rule"),
    ({"identifiers": ["site"], "centres": {"site": "delete"}},
     ".centres.site: site is also in release.identifiers; a column takes one rule"),
    ({"identifiers": ["wtkg"], "quasi_identifiers": {"wtkg": "trim"}},
     ".quasi_identifiers.wtkg: wtkg is also in release.identifiers; a column takes one rule"),
    ({"keep": ["pid"]}, ".keep: pid is also in release.participant_id; a column takes one rule"),
    ({"keep": ["death"]}, ".keep: death is also in release.dates; a column takes one rule"),
    ({"dates": {"columns": ["randdate"]}, "keep": ["death"]},
     ".keep: death is a date column: dates are released only relative to release.dates.reference (or shifted), "
     "never as they are"),
    ({"dates": {"mode": "fuzzy"}}, ".dates.mode: unknown mode 'fuzzy' (relative or shift)"),
    ({"dates": {"reference": "age"}}, ".dates.reference: age is not a date column (integer)"),
    ({"dates": {"columns": ["death", "age"]}}, ".dates.columns: age is not a date column (integer)"),
    ({"dates": {"start": "randdate"}}, ".dates.start: unknown setting (mode, reference, columns, anchors)"),
    ({"age": {"column": "sex"}}, ".age.column: sex is not numeric (string)"),
    ({"age": {"column": "age", "top": -1}}, ".age.top: must be a positive integer, not -1"),
    ({"consent": {"no_sharing": {"refused": [0]}}},
     ".consent.no_sharing: name a column (with its refused values), a file of the refusing participants' IDs, "
     "or state none: true with a reason"),
    ({"consent": {"no_sharing": {"none": True}}},
     ".consent.no_sharing.reason: say why nobody refused (silence is not consent)"),
    ({"consent": {"no_sharing": {"none": "yes", "reason": "public"}}},
     ".consent.no_sharing.none: none: true states that nobody refused; not 'yes'"),
    ({"consent": {"no_sharing": {"none": True, "reason": "public", "column": "share_ok", "refused": [0]}}},
     ".consent.no_sharing: none: true says nobody refused; it goes without a column or a file"),
    ({"consent": {"no_sharing": {"column": "share_ok", "refused": [0], "id_column": "pid"}}},
     ".consent.no_sharing.id_column: goes with file"),
    ({"consent": {"no_sharing": {"none": True, "reason": "  "}}},
     ".consent.no_sharing.reason: expected text, not '  '"),
    ({"consent": {"no_sharing": {"column": "share_ok"}}}, ".consent.no_sharing.refused: list the values of share_ok "
                                                           "that mean refusal"),
    ({"consent": {"no_sharing": {"column": "share", "refused": [0]}}},
     ".consent.no_sharing.column: no column 'share' in the data"),
    ({"consent": {"no_selling": {"file": "x.csv"}}}, ".consent.no_selling: unknown consent rule (no_sharing, "
                                                       "no_commercial)"),
    ({"consent": {"no_commercial": {"file": "../../elsewhere.csv"}}},
     ".consent.no_commercial.file: expected a path inside the trial's directory, not '../../elsewhere.csv'"),
])
def test_bad_rules_are_refused_in_one_line(release, message):
    with pytest.raises(InvalidInput) as caught:
        load(release)
    assert str(caught.value) == WHERE + message


def test_the_randomised_role_must_be_a_date_to_be_the_default_reference():
    with pytest.raises(InvalidInput) as caught:
        load({}, roles={"randomised": "age"})
    assert str(caught.value) == WHERE + ".dates.reference: age (the trial's randomised role) is not a date column " \
                                        "(integer)"


def test_dates_need_a_reference():
    with pytest.raises(InvalidInput) as caught:
        load({}, roles={})
    assert str(caught.value) == WHERE + ".dates.reference: dates are coded relative to a reference date: name a " \
                                        "date column here, or give the trial a randomised role"


def test_defaults():
    assert load({}) == ReleaseRules(participant_id="pid", min_cell=20,
                                    dates=DateRule("relative", "randdate", ["randdate", "death"]), age=AgeRule(None, 90))
    # a date that is an identifier is no longer a date to code relative to randomisation
    assert load({"identifiers": ["death"]}).dates.columns == ["randdate"]


FULL = {
    "min_cell": 5, "sex": "sex", "participant_id": "pid", "identifiers": ["name"], "centres": {"site": "recode"},
    "dates": {"mode": "shift", "reference": "randdate", "columns": ["randdate", "death"]},
    "age": {"column": "age", "top": 85},
    "quasi_identifiers": {"wtkg": {"action": "trim"},
                          "karnof": {"action": "collapse", "groups": {"<=80": [70, 80], "90": [90], "100": [100]}},
                          "age": {"action": "topcode"}},
    "consent": {"no_sharing": {"column": "share_ok", "refused": [0]},
                "no_commercial": {"file": "source/consent/no-commercial.csv"}},
    "keep": ["arm"], "rationale": {"wtkg": "anthropometry"},
}


def test_full_rules_load_and_round_trip():
    loaded = load(FULL)
    assert loaded == ReleaseRules(
        participant_id="pid", min_cell=5, sex="sex", identifiers=["name"], centres={"site": "recode"},
        dates=DateRule("shift", "randdate", ["randdate", "death"]), age=AgeRule("age", 85),
        quasi_identifiers=[Protection("wtkg", "trim"),
                           Protection("karnof", "collapse", {"<=80": [70, 80], "90": [90], "100": [100]}),
                           Protection("age", "topcode")],
        no_sharing=ConsentRule("share_ok", [0]), no_commercial=ConsentRule(file="source/consent/no-commercial.csv"),
        keep=["arm"], rationale={"wtkg": "anthropometry"})
    assert rules.to_yaml(loaded) == FULL
    assert rules.from_yaml(rules.to_yaml(loaded)) == loaded
    assert load(rules.to_yaml(loaded)) == loaded


def test_recorded_consent_statements_round_trip():
    """What `ipd release consent` writes: a list with its ID column, SHA-256, who, when and why; or nobody."""
    consent = {"no_sharing": {"file": "source/consent/no_sharing/1/optouts.csv", "id_column": "patid",
                              "sha256": "ab" * 32, "by": "A Curator <a@example.org>", "when": "2026-12-02T05:00:00+00:00"},
               "no_commercial": {"none": True, "reason": "public data set", "by": "A Curator <a@example.org>",
                                 "when": "2026-12-02T05:01:00+00:00"}}
    loaded = load({"consent": consent})
    assert loaded.no_commercial == ConsentRule(none=True, reason="public data set", by="A Curator <a@example.org>",
                                               when="2026-12-02T05:01:00+00:00")
    assert loaded.no_sharing.id_column == "patid"
    assert rules.to_yaml(loaded)["consent"] == consent
    assert rules.from_yaml(rules.to_yaml(loaded)) == loaded
    assert not rules.has_rules({"release": {"consent": consent}})  # consent alone: the rest is still to propose
    assert rules.has_rules({"release": {"consent": consent, "min_cell": 20}})


def test_short_forms():
    loaded = load({"age": "age", "quasi_identifiers": {"wtkg": "trim"},
                   "consent": {"no_sharing": {"column": "share_ok", "refused": 0}}})
    assert loaded.age == AgeRule("age", 90)
    assert loaded.quasi_identifiers == [Protection("wtkg", "trim")]
    assert loaded.no_sharing == ConsentRule("share_ok", [0])


# -- proposals ------------------------------------------------------------------------------------------

def propose(path: Path, trial: str) -> tuple[ReleaseRules, dict, list[str]]:
    delivery = formats.read(path)
    metadata = yaml.safe_load((EXAMPLES / trial / "dataset.yaml").read_text())
    metadata.pop("release", None)
    con = duckdb.connect()
    con.register("rows", delivery.table)
    return propose_rules(metadata, con, "rows", delivery.table.schema), metadata, delivery.table.column_names


def one_rule_each(proposed: ReleaseRules, columns: list[str]) -> None:
    named = [proposed.participant_id, *proposed.identifiers, *proposed.centres, *proposed.technicians,
             *proposed.sensitive, *proposed.free_text, *proposed.dates.columns, *proposed.keep,
             *(p.column for p in proposed.quasi_identifiers)]
    assert len(named) == len(set(named))  # no column in two rules
    # every column has a rule: the age, race and sex columns and the generalised ones may have theirs alone
    generalised = [n for n in proposed.generalise if n not in named]
    cells = [n for n in (proposed.age.column, proposed.race, proposed.sex) if n and n not in named + generalised]
    assert sorted(named + generalised + cells) == sorted(columns)
    assert set(proposed.rationale) == set(columns)


def test_proposal_for_actg175():
    proposed, metadata, columns = propose(ACTG175, "actg175")
    assert (proposed.participant_id, proposed.race, proposed.sex, proposed.min_cell) == ("pidnum", "race", "gender", 20)
    assert proposed.identifiers == ["column00"]  # R's row numbers: a second participant ID
    assert proposed.sensitive == ["homo", "drugs"]  # sexual behaviour, intravenous drug use (NHLBI IV.B.4.c)
    assert proposed.dates == DateRule("relative", None, [])
    assert proposed.age == AgeRule("age", 90)
    # a dichotomous variable with a value rarer than k = 5 in a race-sex cell is a quasi-identifier the targets
    # decide on, no longer deleted (haemophilia: 2 women of one race); one whose cells are all k or more is kept
    # as it is (18 symptomatic non-white women: below NHLBI's example of 20, above k)
    assert proposed.quasi_identifiers == [Protection("hemo", "keep"), Protection("oprior", "keep")]
    # the least loss meeting k >= 5 and average risk <= 0.09 over race, gender, age, hemo, oprior, wtkg and
    # karnof: ages in bands of 10 (60 and over together), Karnofsky 70-90 together, weight with no information
    # left (the proposal says to delete it or keep it as a documented exception)
    assert proposed.targets == {"noncommercial": Targets(), "commercial": Targets()}
    assert proposed.generalise == {"age": Generalisation("age", 10, None, 60), "wtkg": Generalisation("wtkg", 200),
                                   "karnof": Generalisation("karnof", groups={"<=90": [70, 80, 90]})}
    assert "leave it one value: delete it in the release rules" in proposed.rationale["wtkg"]
    assert proposed.rationale["symptom"].endswith("kept rather than deleted (NHLBI IV.B.7.c), since every count is "
                                                  "at least the risk targets' k of 5")
    assert proposed.keep == ["z30", "zprior", "preanti", "str2", "strat", "symptom", "treat", "offtrt", "cd40",
                             "cd420", "cd496", "r", "cd80", "cd820", "cens", "days", "arms"]
    assert proposed.rationale["arms"].startswith("the trial's arm (role arm)")
    assert proposed.rationale["wtkg"].startswith("anthropometric or socio-economic variable (wtkg")
    one_rule_each(proposed, columns)
    assert load_rules({**metadata, "release": rules.to_yaml(proposed)}, columns) == proposed


def test_proposal_for_gbsg2_codes_its_dates_relative_to_randomisation():
    proposed, metadata, columns = propose(GBSG2, "gbsg2")
    assert (proposed.participant_id, proposed.race, proposed.sex) == ("id", None, None)
    assert proposed.dates == DateRule("relative", "diagdateb", ["diagdateb", "recdate", "deathdate"])
    assert proposed.age == AgeRule("age", 90)
    assert proposed.quasi_identifiers == []
    assert proposed.generalise == {"age": Generalisation("age", 1, 30, 76)}  # whole years, the tails coded
    assert proposed.rationale["recdate"] == "date: coded as days relative to diagdateb (NHLBI IV.B.5)"
    one_rule_each(proposed, columns)
    assert load_rules({**metadata, "release": rules.to_yaml(proposed)}, columns) == proposed


def test_proposal_finds_identifiers_centres_text_and_dates_by_name_and_content():
    n = 40
    table = pa.table({
        "subject": list(range(1, n + 1)),
        "Surname": [f"Name{i}" for i in range(n)],
        "patient_email": [f"p{i}@example.org" for i in range(n)],
        "dob": pa.array([None] * n, pa.date32()),
        "siteID": [i % 3 for i in range(n)],
        "interviewer": ["ab", "cd"] * (n // 2),
        "other_specify": [f"answer number {i} in words" for i in range(n)],
        "comment": ["x" * 50] * n,
        "visit_code": [f"V{i:03d}" for i in range(n)],
        "sex": ["F", "M"] * (n // 2),
        "Ethnicity": ["a"] * n,
        "income": [float(i) for i in range(n)],
        "enrol_date": pa.array([None] * n, pa.date32()),
        "followup": pa.array([None] * n, pa.date32()),
        "alcohol_use": [0, 1] * (n // 2),
        "lab": [i * 7 % 13 for i in range(n)],
    })
    con = duckdb.connect()
    con.register("rows", table)
    proposed = propose_rules({"trial": "t", "key": "subject", "columns": []}, con, "rows", table.schema)
    assert proposed.identifiers == ["Surname", "patient_email", "dob", "visit_code"]
    assert proposed.centres == {"siteID": "recode"}
    assert proposed.technicians == {"interviewer": "recode"}
    assert proposed.free_text == ["other_specify", "comment"]
    assert proposed.sensitive == ["alcohol_use"]
    assert proposed.dates == DateRule("relative", "enrol_date", ["enrol_date", "followup"])
    assert (proposed.race, proposed.sex) == ("Ethnicity", "sex")
    assert "income" in proposed.generalise or Protection("income", "keep") in proposed.quasi_identifiers
    assert "lab" in proposed.keep
    one_rule_each(proposed, table.column_names)


def test_targets_and_generalisations_read_back_as_written():
    release = {"targets": {"k": 11, "commercial": {"average_risk": 0.05}},
               "age": {"column": "age"}, "centres": {"site": "recode"},
               "generalise": {"age": {"width": 5, "bottom": 30, "top": 70}, "site": {"pool": [1, 2]},
                              "karnof": {"groups": {"<=80": [70, 80]}}}}
    loaded = load(release)
    assert loaded.targets == {"noncommercial": Targets(11, 0.09, 0.05), "commercial": Targets(11, 0.05, 0.05)}
    assert loaded.generalise == {"age": Generalisation("age", 5, 30, 70), "site": Generalisation("site", pool=[1, 2]),
                                 "karnof": Generalisation("karnof", groups={"<=80": [70, 80]})}
    written = rules.to_yaml(loaded)
    assert written["targets"] == {"noncommercial": {"k": 11, "average_risk": 0.09, "suppression": 0.05},
                                  "commercial": {"k": 11, "average_risk": 0.05, "suppression": 0.05}}
    assert load(written) == loaded == rules.from_yaml(written)
    assert "targets" not in rules.to_yaml(load({}))  # rules without targets are written as they were


def _groups(counts: dict, min_cell: int = 20):
    values, cells = [], []
    for (value, cell), n in counts.items():
        values += [value] * n
        cells += [cell] * n
    con = duckdb.connect()
    con.register("t", pa.table({"v": values, "cell": cells}))
    return propose_groups(con, "t", ["cell"], "v", min_cell)


def test_groups_merge_the_rarest_with_its_rarer_neighbour():
    found = _groups({(1, "a"): 30, (2, "a"): 5, (3, "a"): 8, (4, "a"): 40, (5, "a"): 3, (6, "a"): 50,
                     (1, "b"): 25, (4, "b"): 20, (6, "b"): 21})
    assert (found.smallest, found.small_cells, found.dichotomous) == (3, 3, False)
    # 5 (3) joins 4 (smallest cell 20 < 6's 21); 2 (5) joins 3 (8 < 1's 25); {2, 3} (13) joins {4, 5} (20 < 25)
    assert found.groups == {"1": [1], "2-5": [2, 3, 4, 5], "6": [6]}


def test_missing_values_are_a_group_of_their_own_and_text_is_joined():
    found = _groups({("x", "a"): 30, ("y", "a"): 30, ("z", "a"): 25, (None, "a"): 2})
    assert found.groups == {"x": ["x"], "y": ["y"], "z or missing": ["z", None]}
    assert _groups({(0, "a"): 30, (1, "a"): 2}).groups is None  # dichotomous: delete
    assert _groups({(0, "a"): 30, (1, "a"): 2, (2, "a"): 1}).groups is None  # only one group would remain
    assert _groups({(0, "a"): 30, (1, "a"): 20}).small_cells == 0
