"""Roles declared from the command line (`ipd roles`), checked against the latest version's rows, including a
status coded 0/1/2 (real PBC from R's survival package: censored, transplant, death) declared with its event
codes; the follow-up check then reads death alone as the event, as a Kaplan-Meier fit in the test does."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from lifelines import KaplanMeierFitter

from conftest import git, ipd, one_line_error

PBC = Path(__file__).parent / "data" / "real" / "pbc.csv"


@pytest.fixture
def pbc(tmp_repo):
    tmp_repo.ingest("pbc", PBC, "--key", "id")
    return tmp_repo


def roles_in_yaml(root: Path) -> dict:
    return yaml.safe_load((root / "datasets/pbc/dataset.yaml").read_text()).get("roles") or {}


def test_a_status_coded_0_1_2_is_refused_without_its_event_codes_and_nothing_is_written(pbc):
    before = pbc.state()
    result = ipd("roles", "pbc", "--status", "status", "--time", "time", "--repo", pbc.root)
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == (
        "error: pbc@v1: roles.status: column 'status' must be 0/1 or boolean, first other value at key 1: 2; "
        "for a status coded 0, 1, 2, say which are events: roles.status: {column: status, event: [...]} "
        "(`ipd roles TRIAL --status status --event CODE`)")
    assert pbc.state() == before


def test_roles_with_event_codes_are_written_in_one_commit_and_the_follow_up_check_reads_death_as_the_event(pbc):
    result = ipd("roles", "pbc", "--arm", "trt", "--time", "time", "--status", "status", "--event", "2",
                 "--baseline", "age", "--baseline", "bili", "--repo", pbc.root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["pbc: roles declared", "  arm: trt", "  baseline: age, bili",
                                          "  time: time", "  status: status (events: 2)"]
    assert roles_in_yaml(pbc.root) == {"arm": "trt", "time": "time", "status": {"column": "status", "event": [2]},
                                       "baseline": ["age", "bili"]}
    assert pbc.ipd("log", "pbc").exit_code == 0
    assert git(pbc.root, "log", "-1", "--format=%s") == "pbc: roles arm=trt baseline=age,bili time=time status=status " \
                                                          "status events=2"
    assert git(pbc.root, "status", "--porcelain") == ""

    report = json.loads(ipd("check", "pbc", "--json", "--repo", pbc.root).stdout)
    follow_up = next(r for r in report["results"] if r["name"] == "follow-up: median by reverse Kaplan–Meier")
    rows = pd.read_csv(PBC)
    rows = rows[rows["trt"].notna()]
    expected = {}
    for arm, group in rows.groupby("trt"):  # reverse KM: alive at the end of follow-up is the event
        fit = KaplanMeierFitter().fit(group["time"], event_observed=group["status"] != 2)
        expected[str(int(arm))] = float(fit.median_survival_time_)  # the CSV's 1.0/2.0 are stored as 1/2
    assert follow_up["details"]["median_days"] == expected


def test_event_codes_must_be_values_of_the_status_and_need_a_status(pbc):
    before = pbc.state()
    result = ipd("roles", "pbc", "--status", "status", "--event", "3", "--repo", pbc.root)
    assert one_line_error(result.stderr) == \
        "error: pbc@v1: roles.status.event: 3 is not a value of column 'status' (its values: 0, 1, 2)"
    result = ipd("roles", "pbc", "--event", "2", "--repo", pbc.root)
    assert one_line_error(result.stderr) == \
        "error: --event names the status's event codes: declare the status column too (--status)"
    assert pbc.state() == before


@pytest.mark.parametrize(("args", "message"), [
    (["--randomised", "age"], "error: pbc@v1: roles.randomised: column 'age' is number, not a date"),
    (["--baseline", "age", "--baseline", "nope"], "error: pbc@v1: roles.baseline: column 'nope' is not in the data"),
    (["--unset", "death"], "error: roles.death is not declared: nothing to remove"),
    (["--unset", "colour"], "error: no role 'colour': the roles are arm, randomised, death, death_flag, events, "
                            "last_contact, baseline, time, status"),
])
def test_a_role_the_rows_do_not_bear_out_is_a_one_line_error_and_nothing_changes(pbc, args, message):
    before = pbc.state()
    result = ipd("roles", "pbc", *args, "--repo", pbc.root)
    assert result.exit_code == 2
    assert one_line_error(result.stderr) == message
    assert pbc.state() == before


def test_roles_are_shown_removed_and_a_repeat_changes_nothing(pbc):
    assert ipd("roles", "pbc", "--repo", pbc.root).stdout.splitlines() == \
        ["  no roles declared (see `ipd roles --help`)"]
    assert ipd("roles", "pbc", "--time", "time", "--arm", "trt", "--repo", pbc.root).exit_code == 0
    state = pbc.state()
    result = ipd("roles", "pbc", "--time", "time", "--repo", pbc.root)
    assert result.stdout.splitlines()[0] == "pbc: roles unchanged"
    assert pbc.state() == state
    result = ipd("roles", "pbc", "--unset", "arm", "--json", "--repo", pbc.root)
    assert json.loads(result.stdout)["roles"] == {"time": "time"}
    assert roles_in_yaml(pbc.root) == {"time": "time"}


@pytest.mark.parametrize(("status", "message"), [
    ({"column": "status", "event": []}, "d.yaml: roles.status.event must be a list of the values that are events "
                                        "(e.g. [2]), not a list"),
    ({"column": "status", "event": [True]}, "d.yaml: roles.status.event must be a list of the values that are "
                                            "events (e.g. [2]), not a list"),
    ({"event": [2]}, "d.yaml: roles.status.column must be a column name, not nothing"),
    ({"column": "status", "event": [2], "censored": [0]},
     "d.yaml: roles.status has censored: a coded role names its column and event codes only"),
])
def test_a_coded_status_written_by_hand_is_checked_when_dataset_yaml_is_read(status, message):
    from repo.errors import InvalidInput
    from repo.repository.metadata import Metadata

    with pytest.raises(InvalidInput) as caught:
        Metadata.parse(yaml.safe_dump({"trial": "pbc", "roles": {"status": status}}), "d.yaml")
    assert str(caught.value) == message
