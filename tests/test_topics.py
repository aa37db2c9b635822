"""Topic repositories on real trials of treatments for primary biliary cirrhosis against placebo (R's survival:
the Mayo D-penicillamine trial ``pbc`` and the ursodeoxycholic acid trial ``udca``): each trial mapped onto one
dictionary by SQL expressions, pooled into versions of their own, checked side by side, kept up to date with the
trials' corrections and verified by pooling again."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from conftest import DATA, git, ipd, one_line_error, own_home
from conftest import run as ok

REAL = DATA / "real"
TOPIC = "pbc-treatment"
DICTIONARY = """\
topic: pbc-treatment
title: Active treatment against placebo in primary biliary cirrhosis (death or liver transplant)
variables:
  patient: {type: integer, role: participant, label: Participant ID within the trial}
  arm: {type: string, role: arm, label: Randomised arm, values: {active: active treatment, placebo: placebo}}
  days: {type: integer, role: outcome_time, unit: days, min: 0, label: "Days to death, transplant or last contact"}
  event: {type: integer, role: outcome_status, values: {0: censored, 1: death or transplant}}
  bili: {type: number, role: covariate, unit: mg/dl, label: Serum bilirubin at entry}
"""
MAPPINGS = {
    "pbc": """\
where: trt IS NOT NULL
variables:
  patient: id
  arm: trt
  days: time
  event: CASE WHEN status IN (1, 2) THEN 1 ELSE 0 END
  bili: bili
values:
  arm: {1: active, 2: placebo}
published: {participants: 312}
""",
    "udca": """\
variables:
  patient: id
  arm: trt
  days: coalesce(least("death.dt", "tx.dt"), "last.dt") - "entry.dt"
  event: CASE WHEN coalesce("death.dt", "tx.dt") IS NULL THEN 0 ELSE 1 END
  bili: bili
values:
  arm: {1: active, 0: placebo}
published: {participants: 170}
""",
}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def topic(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("topic")
    with own_home(base / "home"):
        root = base / "repo"
        ok("init", root, "--remote", base / "remote")
        for trial in ("pbc", "udca"):
            ok("ingest", trial, REAL / f"{trial}.csv", "--key", "id", "--repo", root)
        ok("topic", "init", TOPIC, "--dictionary", write(base, "dictionary.yaml", DICTIONARY), "--repo", root)
        for trial, text in MAPPINGS.items():
            ok("topic", "map", TOPIC, f"{trial}@v1", "--mapping", write(base, f"{trial}.yaml", text), "--repo", root)
        ok("topic", "build", TOPIC, "--repo", root)
    return root


def pooled(root: Path, version: str = "v1") -> pd.DataFrame:
    return pd.read_parquet(sorted((root / "datasets" / TOPIC / "data").glob("*.parquet"))) if version is None else \
        _pulled(root, version)


def _pulled(root: Path, version: str) -> pd.DataFrame:
    out = root.parent / f"pulled-{version}"
    if not out.exists():
        ok("pull", f"{TOPIC}@{version}", "--from", root, "--out", out, "--format", "csv")
    return pd.read_csv(out / f"{TOPIC}.csv")


def udca_days() -> pd.Series:
    """Days to death or transplant, else to last contact, computed from the delivered dates."""
    rows = pd.read_csv(REAL / "udca.csv", parse_dates=["entry.dt", "last.dt", "death.dt", "tx.dt"])
    end = rows[["death.dt", "tx.dt"]].min(axis=1).fillna(rows["last.dt"])
    return pd.Series((end - rows["entry.dt"]).dt.days.values, index=rows["id"])


def test_a_topic_pools_each_trial_mapped_onto_its_dictionary(topic):
    record = json.loads((topic / f"datasets/{TOPIC}/versions/v1.json").read_text())
    assert (record["kind"], record["rows"]) == ("pooled", 312 + 170)
    assert record["columns"] == ["pooled_id", "trial", "patient", "arm", "days", "event", "bili"]
    for source in record["sources"]:
        trial = json.loads((topic / f"datasets/{source['trial']}/versions/v1.json").read_text())
        mapping = (topic / f"datasets/{TOPIC}/mappings/{source['trial']}.yaml").read_bytes()
        assert (source["version"], source["fingerprint"], source["mapping_sha256"]) == \
            ("v1", trial["fingerprint"], hashlib.sha256(mapping).hexdigest())
    rows = pooled(topic)
    udca = rows[rows["trial"] == "udca"].set_index("patient")
    assert (udca["days"] == udca_days().loc[udca.index]).all()
    delivered = pd.read_csv(REAL / "udca.csv").set_index("id")
    assert (udca["arm"] == delivered.loc[udca.index, "trt"].map({1: "active", 0: "placebo"})).all()
    pbc = rows[rows["trial"] == "pbc"].set_index("patient")
    source = pd.read_csv(REAL / "pbc.csv").dropna(subset=["trt"]).set_index("id")
    assert sorted(pbc.index) == sorted(source.index)
    assert (pbc["event"] == source.loc[pbc.index, "status"].isin([1, 2]).astype(int)).all()
    assert set(rows["pooled_id"]) == {f"{t}:{p}" for t, p in zip(rows["trial"], rows["patient"])}


def test_the_pooled_version_is_checked_against_the_dictionary_s_suite_and_traced_in_prov(topic):
    suite = json.loads((topic / f"expectations/{TOPIC}.json").read_text())
    in_set = {e["kwargs"]["column"]: e["kwargs"]["value_set"] for e in suite["expectations"]
              if e["type"] == "expect_column_values_to_be_in_set"}
    assert in_set == {"trial": ["pbc", "udca"], "arm": ["active", "placebo"], "event": [0, 1]}
    assert ok("check", TOPIC, "--repo", topic).exit_code == 0
    prov = json.loads((topic / f"provenance/{TOPIC}/v1.json").read_text())
    assert {k for k, v in prov["entity"].items() if v["prov:type"] == "ipd:TopicMapping"} == {
        f"ipd:{TOPIC}/mappings/{t}.yaml#{hashlib.sha256((topic / f'datasets/{TOPIC}/mappings/{t}.yaml').read_bytes()).hexdigest()[:12]}"
        for t in ("pbc", "udca")}
    shown = ok("show", TOPIC, "--repo", topic).stdout
    assert "  kind         pooled" in shown and "  pooled from  pbc@v1 (fingerprint " in shown
    described = json.loads(ok("show", TOPIC, "--json", "--repo", topic).stdout)
    assert [(s["trial"], s["version"]) for s in described["sources"]] == [("pbc", "v1"), ("udca", "v1")]
    lineage = ok("lineage", TOPIC, "--repo", topic).stdout
    assert "version pbc@v1" in lineage and "version udca@v1" in lineage
    assert "pbc, pbc-treatment, udca: verified" in ok("verify", "--rebuild", "--repo", topic).stdout


def test_the_trials_side_by_side_flag_what_does_not_fit(topic, tmp_path):
    found = json.loads(ok("topic", "check", TOPIC, "--json", "--repo", topic).stdout)
    rows = pooled(topic)
    udca = rows[rows["trial"] == "udca"]
    assert found["variables"]["days"]["udca"]["mean"] == round(udca["days"].mean(), 4)
    assert found["variables"]["arm"]["pbc"]["shares"] == {
        a: round(n / 312, 4) for a, n in rows[rows["trial"] == "pbc"]["arm"].value_counts().items()}
    copy = tmp_path / "repo"
    shutil.copytree(topic, copy, symlinks=True)
    months = MAPPINGS["udca"].replace('- "entry.dt"', '- "entry.dt") / 30', 1).replace("days: coalesce", "days: (coalesce")
    months = months.replace("participants: 170", "participants: 171")
    ok("topic", "map", TOPIC, "udca", "--mapping", write(tmp_path, "udca.yaml", months), "--repo", copy)
    ok("topic", "build", TOPIC, "--repo", copy)
    flags = {(f["trial"], f["variable"]): f["what"]
             for f in json.loads(ok("topic", "check", TOPIC, "--json", "--repo", copy).stdout)["flags"]}
    assert flags[("udca", "participants")] == "170 participants pooled, 171 published"
    assert flags[("udca", "days")].endswith("another unit or coding?")


@pytest.mark.parametrize("change, expected", [
    (("bili: bili", "bili: bilirubin"), "variables.bili, over udca@v1: Binder Error: Referenced column "
                                        "\"bilirubin\" not found in FROM clause!"),
    (("arm: {1: active, 0: placebo}", "arm: {1: active, 0: control}"),
     "variables.arm: value 'control' (84 row(s) over udca@v1) is not one of the codes (active, placebo); recode it "
     "under values:"),
    (("event: CASE WHEN coalesce(\"death.dt\", \"tx.dt\") IS NULL THEN 0 ELSE 1 END", "event: \"'x'\""),
     "variables.event: 170 value(s) over udca@v1 are not of type integer (e.g. 'x')"),
    (("  bili: bili\n", "  bili: bili\n  stage: stage\n"), "variables.stage: not a variable of the topic's "
                                                         "dictionary (patient, arm, days, event, bili)"),
    (("days: coalesce(least(\"death.dt\", \"tx.dt\"), \"last.dt\") - \"entry.dt\"",
      "days: 0 - (coalesce(least(\"death.dt\", \"tx.dt\"), \"last.dt\") - \"entry.dt\")"),
     "variables.days: 169 value(s) over udca@v1 are below the minimum 0"),  # one participant left on day 0
])
def test_a_mapping_that_does_not_fit_is_refused_in_one_line(topic, tmp_path, change, expected):
    head = git(topic, "rev-parse", "HEAD")
    mapping = write(tmp_path, "udca.yaml", MAPPINGS["udca"].replace(*change))
    before = (topic / f"datasets/{TOPIC}/mappings/udca.yaml").read_bytes()
    refused = ipd("topic", "map", TOPIC, "udca@v1", "--mapping", mapping, "--repo", topic)
    assert refused.exit_code != 0
    assert one_line_error(refused.stderr) == f"error: {mapping}: {expected}"
    assert git(topic, "rev-parse", "HEAD") == head
    assert (topic / f"datasets/{TOPIC}/mappings/udca.yaml").read_bytes() == before


def test_a_trial_of_several_rows_a_participant_needs_a_row_filter(topic, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(topic, copy, symlinks=True)
    ok("ingest", "cgd", REAL / "cgd.csv", "--key", "id", "--key", "enum", "--participant", "id", "--repo", copy)
    episodes = "variables:\n  patient: id\n  arm: \"CASE WHEN treat = 'placebo' THEN 'placebo' ELSE 'active' END\"\n"
    refused = ipd("topic", "map", TOPIC, "cgd", "--mapping", write(tmp_path, "cgd.yaml", episodes), "--repo", copy)
    assert one_line_error(refused.stderr) == (
        f"error: {tmp_path / 'cgd.yaml'}: variables.patient: the participant's ID is missing in 0 and repeated in 75 "
        "row(s) over cgd@v1: a topic holds one row a participant (filter the rows with where:)")
    ok("topic", "map", TOPIC, "cgd", "--mapping", write(tmp_path, "cgd.yaml", "where: enum = 1\n" + episodes),
       "--repo", copy)


def test_a_correction_makes_the_topic_stale_and_the_rebuild_changes_the_traced_cell(topic, tmp_path):
    copy = tmp_path / "repo"
    shutil.copytree(topic, copy, symlinks=True)
    assert json.loads(ok("topic", "status", TOPIC, "--json", "--repo", copy).stdout)["stale"] is False
    ok("correct", "udca", "--key", "5", "--column", "last.dt", "--value", "1993-01-31", "--reason", "CRF",
       "--repo", copy)
    ok("commit", "udca", "-m", "query round", "--repo", copy)
    status = json.loads(ok("topic", "status", TOPIC, "--json", "--repo", copy).stdout)
    assert status["behind"] == [{"trial": "udca", "pooled": "v1", "latest": "v2", "corrections": ["c1"]}]
    assert status["rebuild"] == {"cells": 1, "added": 0, "removed": 0, "columns": []}
    ok("topic", "build", TOPIC, "-m", "udca corrected", "--repo", copy)
    diff = json.loads(ok("diff", f"{TOPIC}@v1", "v2", "--json", "--repo", copy).stdout)
    old = int(udca_days().loc[5])
    new = old - (pd.Timestamp("1993-06-30") - pd.Timestamp("1993-01-31")).days
    assert diff["cells"] == [{"key": "udca:5", "column": "days", "old": old, "new": new, "correction": "udca:c1"}]
    assert diff["corrections"]["udca:c1"]["reason"] == "CRF"
    compared = json.loads(ok("analyse", f"{TOPIC}@v2", "--treatment", "arm", "--active", "active", "--outcome",
                             "days,event", "--compare", "v1", "--json", "--repo", copy).stdout)
    now, before = ({t["trial"]: t for t in r["trials"]} for r in (compared, compared["compare"]))
    assert (compared["version"], compared["compare"]["version"]) == ("v2", "v1")
    assert (now["udca"]["version"], before["udca"]["version"]) == ("v2", "v1")
    assert now["udca"]["estimate"] != before["udca"]["estimate"]  # the correction moved udca's hazard ratio
    assert now["pbc"]["estimate"] == before["pbc"]["estimate"]
    again = ipd("topic", "build", TOPIC, "--repo", copy)
    assert one_line_error(again.stderr) == (f"error: {TOPIC}@v2 is pooled from pbc@v1, udca@v2 with these mappings "
                                            "already: nothing to build")
    assert "pbc, pbc-treatment, udca: verified" in ok("verify", "--rebuild", "--repo", copy).stdout
    record = copy / f"datasets/{TOPIC}/versions/v2.json"
    tampered = json.loads(record.read_text())
    tampered["sources"][1]["fingerprint"] = "sha256:" + "0" * 64
    record.write_text(json.dumps(tampered, indent=2) + "\n")
    found = ipd("verify", "--rebuild", "--repo", copy)
    assert found.exit_code != 0
    assert f"{TOPIC}@v2: cannot be pooled again: udca@v2 has fingerprint" in found.stdout + found.stderr


def test_analyse_fits_each_trial_and_pools_by_inverse_variance(topic, tmp_path):
    import numpy as np
    from lifelines import CoxPHFitter

    plot = tmp_path / "forest.png"
    result = json.loads(ok("analyse", TOPIC, "--treatment", "arm", "--active", "active", "--outcome", "days,event",
                           "--plot", plot, "--json", "--repo", topic).stdout)
    assert (result["topic"], result["version"], result["method"]) == (TOPIC, "v1", "cox")
    rows = pooled(topic)
    estimates, variances = [], []
    for trial in result["trials"]:
        mine = rows[rows["trial"] == trial["trial"]].assign(active=lambda r: (r["arm"] == "active").astype(int))
        fitted = CoxPHFitter().fit(mine[["days", "event", "active"]], "days", "event")
        assert (trial["version"], trial["n"], trial["events"]) == ("v1", len(mine), int(mine["event"].sum()))
        assert trial["estimate"] == pytest.approx(fitted.params_["active"], rel=1e-9)
        assert trial["se"] == pytest.approx(fitted.standard_errors_["active"], rel=1e-9)
        estimates.append(trial["estimate"])
        variances.append(trial["se"] ** 2)
    y, w = np.array(estimates), 1 / np.array(variances)
    fixed = (w * y).sum() / w.sum()
    q = (w * (y - fixed) ** 2).sum()
    tau2 = max(0.0, (q - (len(y) - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    assert result["fixed"]["estimate"] == pytest.approx(fixed, rel=1e-9)
    assert result["fixed"]["se"] == pytest.approx(np.sqrt(1 / w.sum()), rel=1e-9)
    assert result["random"]["tau2"] == pytest.approx(tau2, rel=1e-9, abs=1e-12)
    random = 1 / (np.array(variances) + tau2)
    assert result["random"]["estimate"] == pytest.approx((random * y).sum() / random.sum(), rel=1e-9)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    refused = ipd("analyse", "udca", "--treatment", "trt", "--active", "1", "--outcome", "days,event", "--repo", topic)
    assert one_line_error(refused.stderr) == "error: udca is not a topic: `ipd analyse` meta-analyses a topic's " \
                                             "pooled versions"
