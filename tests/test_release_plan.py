"""Release plans and their approval: exact plans, recorded approvals, stale approvals, untouched repositories."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

import repo
from conftest import git
from repo.errors import InvalidInput, NotFound
from repo.release.approve import approval_path, current_approval
from repo.release.plan import plan

ROWS = {
    "pid": [101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112],
    "name": ["Ann Lee", "Bo Chen", "Cy Diaz", "Di Fox", "Ed Gray", "Flo Hart", "Gus Ives", "Hal Jones", "Ida Kim",
             "Jo Lund", "Kai Moss", "Lu Nash"],
    "arm": ["A", "B"] * 6,
    "sex": ["F", "M"] * 6,
    "age": [34, 45, 51, 29, 92, 38, 47, 66, 58, 41, 36, 73],
    "wtkg": [60.0, 64.0, 72.0, 90.0, 66.0, 70.0, 58.0, 62.0, 55.0, 81.0, 85.0, 77.0],
    "site": [11, 22, 11, 33, 22, 11, 33, 22, 11, 11, 22, 33],
    "randdate": [f"2020-01-{d:02d}" for d in range(3, 15)],
    "visit": ["2020-02-03", "2020-02-14", "2020-02-05", "", "2020-01-07", "2020-02-08", "2020-04-09", "2020-01-30",
              "2020-03-01", "2020-02-20", "2020-02-21", "2020-02-22"],
    "share_ok": [1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    "commercial_ok": [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1],
}
RULES = {
    "min_cell": 2, "sex": "sex", "identifiers": ["name"], "centres": {"site": "recode"}, "age": {"column": "age"},
    "quasi_identifiers": {"wtkg": "trim"},
    "consent": {"no_sharing": {"column": "share_ok", "refused": [0]},
                "no_commercial": {"column": "commercial_ok", "refused": [0]}},
    "keep": ["arm"], "rationale": {"wtkg": "anthropometry (NHLBI IV.B.6.d)"},
}


@pytest.fixture
def trial(tmp_repo, tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame(ROWS).to_csv(path, index=False)
    tmp_repo.ingest("t", path, "--key", "pid", "--arm", "arm", "--randomised", "randdate")
    return tmp_repo


def set_rules(tmp_repo, release: dict | None, commit: bool = False) -> None:
    path = tmp_repo.root / "datasets" / "t" / "dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata.pop("release", None)
    if release is not None:
        metadata["release"] = release
    path.write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True))
    if commit:
        git(tmp_repo.root, "commit", "-qam", "release rules")


def release(tmp_repo, *args: str):
    return tmp_repo.ipd("release", *args, "--repo", tmp_repo.root)


def one_line(result, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0].removeprefix("error: ")


GOLDEN = Path(__file__).parent / "data" / "release-plan.json"


def test_plan_json_is_exact(trial):
    """Rules from dataset.yaml, defaults filled in (dates relative to the randomised role), every modification
    per tier with its parameters and rows (checked by hand: 103 refused sharing, 106 commercial use; wtkg is
    coded above 66 and below 64, the least extreme values two participants of each sex share)."""
    set_rules(trial, RULES)
    result = release(trial, "plan", "t@v1", "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    if os.environ.get("IPD_UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    assert found == json.loads(GOLDEN.read_text())
    assert found["sha256"] == plan(repo.open(trial.root), "t", "v1").sha256


def test_plan_text_lists_rules_exclusions_and_modifications(trial):
    set_rules(trial, RULES)
    result = release(trial, "plan", "t")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "t@v1: rules from datasets/t/dataset.yaml",
        "  race–sex cells: sex; minimum 2 participants per cell",
        "  noncommercial: 1 excluded by consent (1 refused sharing)",
        "  commercial: 2 excluded by consent (1 refused sharing, 1 refused commercial use)",
    ]
    assert lines[4] == f"  plan sha256 {json.loads(GOLDEN.read_text())['sha256']}"
    rows = {cells[0]: cells[1:] for line in lines if line.startswith("│")
            for cells in [[c.strip() for c in line.split("│")[1:-1]]] if cells[0]}
    assert {name: (row[0], row[2], row[3]) for name, row in rows.items()} == {
        "pid": ("replace", "11", "10"),
        "name": ("delete", "11", "10"), "age": ("age_top", "1", "1"), "wtkg": ("trim", "9", "8"),
        "site": ("recode", "11", "10"), "randdate": ("delete", "11", "10"), "visit": ("relative", "10", "9"),
        "share_ok": ("delete", "11", "10"), "commercial_ok": ("delete", "11", "10")}
    assert rows["wtkg"][1] == "top: 66, bottom: 64,"  # wrapped: "every cell >= 2" follows; wtkg's whole
    # kilograms (60.0, 64.0, ...) are stored as integers
    assert "  wtkg: continuous quasi-identifier (NHLBI)" in result.stdout
    assert "curator: anthropometry (NHLBI IV.B.6.d)" in result.stdout


def test_plan_proposes_rules_when_there_are_none(trial):
    before = trial.state()
    result = release(trial, "plan", "t", "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["source"] == "proposed"
    rules = found["rules"]
    assert (rules["participant_id"], rules["sex"], rules["identifiers"], rules["centres"]) == \
        ("pid", "sex", ["name"], {"site": "recode"})
    assert rules["dates"] == {"mode": "relative", "reference": "randdate", "columns": ["randdate", "visit"]}
    assert rules["age"] == {"column": "age", "top": 90}
    # risk targets, and the quasi-identifiers at their levels; 12 participants cannot meet them (the average risk
    # of 0.09 would take one class), and the plan says so rather than pretending
    assert rules["targets"] == {"k": 5, "average_risk": 0.09, "suppression": 0.05}
    risk = found["tiers"]["noncommercial"]["risk"]
    # sex: each value shared by at least k = 5 participants, so it stays (NHLBI's example of 20 would delete it)
    assert risk["quasi_identifiers"] == ["sex", "age", "site", "wtkg"]
    assert (risk["met"], risk["before"]["k"]) == (False, 1)
    assert trial.state() == before  # a plan writes nothing
    assert "rules PROPOSED from the dictionary and the data" in release(trial, "plan", "t").stdout


def test_bad_rules_are_one_line(trial):
    set_rules(trial, {**RULES, "identifiers": ["nmae"]})
    assert one_line(release(trial, "plan", "t")) == \
        "datasets/t/dataset.yaml: release.identifiers: no column 'nmae' in the data"
    set_rules(trial, {**RULES, "consent": {"no_sharing": {"file": "source/consent/refused.csv"}}})
    assert one_line(release(trial, "plan", "t")) == \
        "datasets/t/source/consent/refused.csv: no such file (the ID list of release.consent.no_sharing)"


def test_consent_lists_in_files_are_exclusions(trial):
    (trial.root / "datasets/t/consent").mkdir()
    (trial.root / "datasets/t/consent/refused.csv").write_text("pid\n101\n102\n")
    set_rules(trial, {**RULES, "consent": {"no_sharing": {"file": "consent/refused.csv"}}})
    found = plan(repo.open(trial.root), "t", "v1")
    assert [t.excluded for t in found.tiers] == [{"no_sharing": 2, "no_commercial": 0}] * 2


# -- saving a proposal ----------------------------------------------------------------------------------

def test_save_writes_the_proposal_in_one_commit(trial):
    head = git(trial.root, "rev-parse", "HEAD")
    result = release(trial, "plan", "t", "--save")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "Saved the proposed release rules into datasets/t/dataset.yaml; review and edit them there.",
        "t@v1: rules from datasets/t/dataset.yaml"]
    assert git(trial.root, "rev-parse", "HEAD~1") == head
    assert git(trial.root, "log", "-1", "--format=%s") == "Release rules for t proposed from t@v1"
    assert git(trial.root, "show", "--name-only", "--format=", "HEAD") == "datasets/t/dataset.yaml"
    assert git(trial.root, "status", "--porcelain") == ""
    metadata = yaml.safe_load((trial.root / "datasets/t/dataset.yaml").read_text())
    assert metadata["release"]["identifiers"] == ["name"]
    assert metadata["release"]["rationale"]["name"] == "direct identifier (its name or label says 'name'): deleted " \
                                                        "(NHLBI IV.B.3.a)"
    assert metadata["columns"][0]["name"] == "pid"  # the rest of dataset.yaml is as it was

    before = trial.state()
    assert one_line(release(trial, "plan", "t", "--save")) == \
        "datasets/t/dataset.yaml already has release rules: edit them there, or replace them with the proposal " \
        "(--replace)"
    assert one_line(release(trial, "plan", "t", "--replace")) == \
        "--replace goes with --save (replace the rules in dataset.yaml with the proposal)"
    assert trial.state() == before

    set_rules(trial, RULES, commit=True)
    result = release(trial, "plan", "t", "--save", "--replace", "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["saved"]["replaced"] is True
    assert git(trial.root, "log", "-1", "--format=%s") == \
        "Release rules for t proposed from t@v1 (replacing the previous rules)"

    before = trial.state()
    again = release(trial, "plan", "t", "--save", "--replace")  # the same rules again: nothing to commit
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines()[0] == \
        "The release rules in datasets/t/dataset.yaml are already the proposal: nothing changed."
    assert trial.state() == before


# -- approval ---------------------------------------------------------------------------------------------

def approve(trial, *args: str):
    return release(trial, "approve", "t@v1", *args)


def test_approval_records_the_plan_and_goes_stale_when_the_rules_change(trial):
    set_rules(trial, RULES)
    found = plan(repo.open(trial.root), "t", "v1")
    result = approve(trial, "--by", "Dr Ada Director", "--note", "reviewed at the DSMB meeting")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == (
        f"Approved the release plan of t@v1 (plan sha256 {found.sha256[:12]}) by Dr Ada Director: 9 modifications "
        "and 1 exclusions (noncommercial), 9 modifications and 2 exclusions (commercial); recorded in "
        "datasets/t/releases/approvals/v1.json")
    record = json.loads((trial.root / approval_path("t", "v1")).read_text())
    golden = json.loads(GOLDEN.read_text())
    assert record == {
        "trial": "t", "version": "v1", "fingerprint": golden["fingerprint"], "rules": golden["rules"],
        # the plan's risk figures are shown, but rules without targets are not approved on them: the approval is
        # as it was before targets
        "modifications": {tier: {k: v for k, v in found.items() if k != "risk"}
                          for tier, found in golden["tiers"].items()},
        "plan_sha256": golden["sha256"], "by": "Dr Ada Director",
        "note": "reviewed at the DSMB meeting", "when": record["when"],
        "recorded_by": "Test Curator <curator@example.org>"}
    # one commit: the approval and the rules it approves
    assert git(trial.root, "log", "-1", "--format=%s") == \
        f"Release plan of t@v1 approved by Dr Ada Director (plan sha256 {found.sha256[:12]})"
    assert sorted(git(trial.root, "show", "--name-only", "--format=", "HEAD").split()) == \
        ["datasets/t/dataset.yaml", "datasets/t/releases/approvals/v1.json"]
    assert git(trial.root, "status", "--porcelain") == ""

    approval = current_approval(repo.open(trial.root), "t", "v1")
    assert (approval.plan_sha256, approval.by, approval.rules) == (found.sha256, "Dr Ada Director", found.rules)

    before = trial.state()
    assert one_line(approve(trial, "--by", "Dr Ada Director")) == (
        f"the release plan of t@v1 is already approved (plan sha256 {found.sha256[:12]}, by Dr Ada Director on "
        f"{record['when'][:10]})")
    assert trial.state() == before

    set_rules(trial, {**RULES, "min_cell": 3})
    with pytest.raises(InvalidInput) as stale:
        current_approval(repo.open(trial.root), "t", "v1")
    assert str(stale.value) == (
        f"the release rules of t@v1 changed since its approved plan (sha256 {found.sha256[:12]}, approved by "
        f"Dr Ada Director on {record['when'][:10]}): review `ipd release plan t@v1` and approve again")
    result = approve(trial, "--by", "Dr Ada Director")
    assert result.exit_code == 0, result.stderr
    assert git(trial.root, "log", "-1", "--format=%s").startswith("Release plan of t@v1 re-approved by Dr Ada")
    assert current_approval(repo.open(trial.root), "t", "v1").rules.min_cell == 3


def test_no_approval_is_one_line(trial):
    set_rules(trial, RULES)
    with pytest.raises(NotFound) as missing:
        current_approval(repo.open(trial.root), "t", "v1")
    assert str(missing.value) == "t@v1 has no approved release plan: run `ipd release plan t@v1` and " \
                                 "`ipd release approve t@v1 --by NAME`"


@pytest.mark.parametrize("rules, args, message", [
    (None, ["--by", "Dr A"], "t has no release rules in datasets/t/dataset.yaml: save the proposal with "
                             "`ipd release plan t@v1 --save`, review it, then approve"),
    (RULES, ["--by", "  "], "an approval needs the approver's name (--by NAME)"),
    ({**RULES, "min_cell": -2}, ["--by", "Dr A"],
     "datasets/t/dataset.yaml: release.min_cell: must be a positive integer, not -2"),
    ({k: v for k, v in RULES.items() if k != "consent"}, ["--by", "Dr A"],
     "t: no rule says who refused sharing beyond the study (release.consent.no_sharing in "
     "datasets/t/dataset.yaml): record it with `ipd release consent t FILE --refused sharing` (or "
     "`--none --reason TEXT` if nobody did)"),
])
def test_refused_approvals_leave_the_repository_unchanged(trial, rules, args, message):
    set_rules(trial, rules)
    before = trial.state()
    assert one_line(approve(trial, *args)) == message
    assert trial.state() == before


def test_an_approval_is_for_one_version(trial):
    set_rules(trial, RULES)
    assert one_line(release(trial, "approve", "t", "--by", "Dr A")) == "an approval is for one version: t@vN"
    assert one_line(release(trial, "approve", "t@v2", "--by", "Dr A")) == "t has no version v2 (latest is v1)"
