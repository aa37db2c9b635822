"""Identifiers and sensitive variables found by content: planted in a real trial (PBC), each found with its exact
evidence; the real trials as they are give no false alarm; a plan that releases a finding stops, an exception lets
it through and is approved with the plan."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
import yaml

import repo
from conftest import ACTG175, DATA, GBSG2, TmpRepo, ipd, own_home
from repo.release.content import scan
from repo.release.plan import plan

REAL = DATA / "real"
N = 418  # PBC's participants
FIRST = ["Robert", "Mary", "James", "Patricia", "John", "Linda"]
LAST = ["Lee", "Smith", "Brown", "Garcia", "Taylor", "Walker"]
PHONES = ["(202) 555-0143", "+44 20 7946 0958", "020 7946 0958", "617.555.0199", "+1 617 555 0199", "07911 123456"]
SYMPTOMS = ["knee pain after a fall", "rash on both arms", "headache since the last visit"]


def ssn(i: int) -> int:
    """A valid SSN as a number: area 100-599 (every tenth 010-059: stored with eight digits), group 01-99."""
    area = 10 + i % 50 if i % 10 == 9 else 100 + i % 500
    return area * 1_000_000 + (1 + i % 99) * 10_000 + 1000 + i


def planted() -> pd.DataFrame:
    """PBC with identifiers and sensitive variables under names that say nothing, as the audit found them."""
    i = range(N)
    return pd.read_csv(REAL / "pbc.csv").assign(
        v12=[ssn(k) for k in i],
        pt=[f"{FIRST[k % 6]} {LAST[k % 6]}/{FIRST[(k + 1) % 6]} {LAST[(k + 2) % 6]}" for k in i],
        c1=[None if k % 7 == 6 else PHONES[k % 7] for k in i],
        c2=[f"pt{k}@example.org" if k % 3 == 0 else None for k in i],
        md=[["Dr. Alan Grant", "Dr Patel", "Dr. Ellie Sattler"][k % 3] for k in i],
        other_sp=[f"Other, specify: {SYMPTOMS[k % 3]} (visit {k // 20})" if k % 20 == 0 else None for k in i],
        z=[f"{2139 + 11 * k:05d}" for k in i],
        home=[["SW1A 1AA", "M1 1AE"][k // 2 % 2] if k % 2 == 0 else None for k in i],
        hosp_no=[f"H{482113 + 7 * k}" for k in i],
        alcoholism=[k % 2 for k in i], cocaine_use=[k % 3 == 0 for k in i],
        psych_dx=[["none", "schizophrenia", "none", "bipolar disorder"][k % 4] for k in i],
        ivdrug=[k % 5 == 0 for k in i],
        comorbid=[("heroin dependence" if k % 10 == 0 else ["none", "asthma"][k % 2]) for k in i])


EXPECTED = {  # column: (kind, where the rules put it, evidence), counted by hand from planted()
    "v12": ("social security numbers", "identifiers", "418 of 418 values, e.g. '***-**-1000'"),
    "pt": ("personal names", "identifiers", "418 of 418 values, e.g. 'R***** L**/M*** B****'"),
    "c1": ("phone numbers", "identifiers", "359 of 359 values, e.g. '(***) ***-**43'"),  # 59 rows k % 7 == 6
    "c2": ("e-mail addresses", "identifiers", "140 of 140 values, e.g. 'p***@***.org'"),
    "md": ("personal names", "identifiers", "418 of 418 values, e.g. 'D*. A*** G****'"),
    "other_sp": ("free text", "free_text", "21 of 21 values, e.g. 'O****, s******: k*** p*** a**** a f*** (…'"),
    "z": ("US ZIP codes", "identifiers", "418 of 418 values, e.g. '0****'"),
    "home": ("UK postcodes", "identifiers", "209 of 209 values, e.g. 'S*** ***'"),
    "hosp_no": ("record numbers", "identifiers", "418 of 418 values, e.g. '*****13'"),
    "alcoholism": ("substance use", "sensitive", "its name says 'alcoholism'"),
    "cocaine_use": ("substance use", "sensitive", "its name says 'cocaine'"),
    "psych_dx": ("psychiatric diagnoses", "sensitive", "its name says 'psych'"),
    "ivdrug": ("substance use", "sensitive", "its name says 'ivdrug'"),
    "comorbid": ("substance use", "sensitive", "42 of 418 values, e.g. 'heroin'"),
}


def test_every_planted_column_is_found_with_its_evidence():
    found = scan(pa.Table.from_pandas(planted(), preserve_index=False), {}, ("id",))
    assert [f.column for f in found] == list(EXPECTED)  # one finding each, in column order
    assert {f.column: (f.kind, f.rule, f.evidence) for f in found} == EXPECTED
    v12 = found[0]
    assert (v12.matches, v12.present, v12.example) == (418, 418, "***-**-1000")
    assert v12.said == "holds social security numbers (418 of 418 values, e.g. '***-**-1000')"


@pytest.mark.parametrize("name", ["pbc", "cgd0", "udca", "colon"])
def test_real_trials_as_they_are_give_no_finding(name):
    """Numeric lab values, days, centre numbers, dates as text, factor labels: no SSN, phone, ZIP or name."""
    frame = pd.read_csv(REAL / f"{name}.csv")
    if name == "colon":
        frame = frame[frame.etype == 2]
    assert scan(pa.Table.from_pandas(frame, preserve_index=False), {}, ("id",)) == []


def test_the_example_trials_find_only_what_their_rules_delete():
    """ACTG 175's `homo` and `drugs` (deleted as sensitive by its approved rules); nothing in GBSG2."""
    labels = {c["name"]: c["label"] for c in repo.open(Path(__file__).parents[1]).dataset("actg175").metadata().columns}
    found = scan(pa.Table.from_pandas(pd.read_csv(ACTG175), preserve_index=False), labels, ("pidnum",))
    assert [(f.column, f.kind, f.evidence) for f in found] == [
        ("homo", "sexual behaviour", "its name says 'homo'"), ("drugs", "substance use", "its name says 'drugs'")]
    assert scan(pa.Table.from_pandas(pd.read_csv(GBSG2), preserve_index=False), {}, ("id",)) == []


def test_labels_and_other_types_are_read():
    table = pa.table({
        "q7": [0, 1] * 15, "ssn_float": [float(ssn(k)) if k % 4 else None for k in range(30)],
        "tel": [2025550100 + k for k in range(30)], "cd4": [250 + 37 * k for k in range(30)],
        "mrn": [7_300_000 + 13 * k for k in range(30)],
        "dose": (["10 mg", "20 mg", "1.5-2.0 mg/kg"] * 10), "race": (["White", "Black", "Asian"] * 10)})
    found = scan(table, {"q7": "Ever injected drugs"}, ())
    assert [(f.column, f.kind, f.evidence) for f in found] == [
        ("q7", "substance use", "its label says 'injected drug'"),
        ("ssn_float", "social security numbers", "22 of 22 values, e.g. '***-**-1001'"),
        ("tel", "phone numbers", "30 of 30 values, e.g. '********00'"),
        ("mrn", "record numbers", "30 of 30 values, e.g. '*****00'")]


# -- the plan --------------------------------------------------------------------------------------------

CONSENT = {"no_sharing": {"none": True, "reason": "public data set"},
           "no_commercial": {"none": True, "reason": "public data set"}}
DELETED = {"identifiers": ["pt", "c1", "c2", "md", "z", "home", "hosp_no"],
           "sensitive": ["alcoholism", "cocaine_use", "psych_dx", "ivdrug", "comorbid"], "free_text": ["other_sp"]}


@pytest.fixture(scope="module")
def trial(tmp_path_factory) -> TmpRepo:
    """The planted trial, ingested once (tests set the rules they need)."""
    base = tmp_path_factory.mktemp("content")
    with own_home(base / "home"):
        root = base / "repo"
        assert ipd("init", root, "--remote", base / "remote").exit_code == 0
        path = base / "pbc.parquet"
        planted().to_parquet(path)
        trial = TmpRepo(root, base / "remote")
        trial.ingest("t", path, "--key", "id")
    return trial


def set_rules(trial: TmpRepo, release: dict | None) -> None:
    path = trial.root / "datasets/t/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata.pop("release", None)
    if release is not None:
        metadata["release"] = release
    path.write_text(yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True))


def plan_cli(trial: TmpRepo, *args: str):
    return ipd("release", "plan", "t", *args, "--repo", trial.root)


def one_line(result) -> str:
    assert result.exit_code == 2, result.output + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0].removeprefix("error: ")


def test_the_proposal_deletes_what_the_values_hold(trial):
    set_rules(trial, None)
    found = plan(repo.open(trial.root), "t")
    assert found.source == "proposed"
    rules = found.rules
    assert (rules.identifiers, rules.sensitive, rules.free_text) == (
        ["v12", *DELETED["identifiers"]], DELETED["sensitive"], DELETED["free_text"])
    assert rules.rationale["v12"] == ("holds social security numbers (418 of 418 values, e.g. '***-**-1000'), "
                                      "whatever its name: a direct identifier, deleted (NHLBI IV.B.3.a)")
    assert rules.rationale["cocaine_use"] == "sensitive variable ('cocaine'): deleted (NHLBI IV.B.4.c)"
    assert rules.rationale["comorbid"] == ("is a sensitive variable on substance use (42 of 418 values, e.g. "
                                           "'heroin'), whatever its name: deleted (NHLBI IV.B.4.c)")
    assert all(not t.released for t in found.findings)


def test_a_released_finding_stops_the_plan(trial):
    set_rules(trial, {"participant_id": "id", "min_cell": 1, **{k: v for k, v in DELETED.items() if k != "free_text"},
                      "keep": ["v12"], "consent": CONSENT})
    before = trial.state()
    assert one_line(plan_cli(trial)) == (
        "datasets/t/dataset.yaml: release: v12 is released as it is (release.keep) but holds social security "
        "numbers (418 of 418 values, e.g. '***-**-1000'): delete it (release.identifiers) or record why it may be "
        "released (release.exceptions.v12: REASON); also other_sp (free text)")
    assert one_line(ipd("release", "approve", "t@v1", "--by", "Dr A", "--repo", trial.root)).startswith(
        "datasets/t/dataset.yaml: release: v12 is released as it is (release.keep) but holds social security")
    assert trial.state() == before

    set_rules(trial, {"participant_id": "id", "quasi_identifiers": {"v12": "trim"}})  # protected is still released
    assert one_line(plan_cli(trial)).startswith(
        "datasets/t/dataset.yaml: release: v12 is released, trim (release.quasi_identifiers) but holds social "
        "security numbers (418 of 418 values, e.g. '***-**-1000'): delete it (release.identifiers) or record why it "
        "may be released (release.exceptions.v12: REASON); also pt (personal names), c1 (phone numbers), ")


def test_an_exception_lets_the_plan_through_and_is_approved_with_it(trial):
    reason = "v12 is the lab's sample number, checked against the CRFs: not an SSN"
    set_rules(trial, {"participant_id": "id", "min_cell": 1, **DELETED, "keep": ["v12"], "consent": CONSENT,
                      "exceptions": {"v12": reason}})
    result = plan_cli(trial, "--json")
    assert result.exit_code == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["rules"]["exceptions"] == {"v12": reason}
    assert found["findings"][0] == {
        "column": "v12", "kind": "social security numbers", "rule": "identifiers",
        "evidence": "418 of 418 values, e.g. '***-**-1000'", "matches": 418, "present": 418, "example": "***-**-1000",
        "treatment": "released as it is (release.keep)", "released": True, "exception": reason}
    assert [(f["column"], f["treatment"]) for f in found["findings"][1:4]] == [
        ("pt", "deleted (release.identifiers)"), ("c1", "deleted (release.identifiers)"),
        ("c2", "deleted (release.identifiers)")]
    text = plan_cli(trial).stdout
    assert ("  v12: holds social security numbers (418 of 418 values, e.g. '***-**-1000'): released as it is "
            f"(release.keep); exception: {reason}") in text.splitlines()
    assert "  comorbid: is a sensitive variable on substance use (42 of 418 values, e.g. 'heroin'): deleted " \
           "(release.sensitive)" in text.splitlines()

    approved = ipd("release", "approve", "t@v1", "--by", "Dr A", "--repo", trial.root)
    assert approved.exit_code == 0, approved.stderr
    record = json.loads((trial.root / "datasets/t/releases/approvals/v1.json").read_text())
    assert record["rules"]["exceptions"] == {"v12": reason} and record["plan_sha256"] == found["sha256"]


@pytest.mark.parametrize("exceptions, message", [
    ({"nope": "x"}, "release.exceptions.nope: no column 'nope' in the data"),
    ({"v12": "  "}, "release.exceptions.v12: say why v12 may be released (text), not '  '"),
    (["v12"], "release.exceptions: expected a mapping of column: reason"),
])
def test_bad_exceptions_are_one_line(trial, exceptions, message):
    set_rules(trial, {"participant_id": "id", **DELETED, "exceptions": exceptions})
    assert one_line(plan_cli(trial)) == f"datasets/t/dataset.yaml: {message}"
