"""Shared calendar anchors: UDCA's common end of follow-up gives every censored participant's randomisation date
back from the released days, the plan says so per tier, and each remedy the rules choose leaves nobody
recoverable exactly (checked by running the attack on the released rows), at a cost the plan states."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

import repo
from conftest import git, ipd, own_home
from repo.release.deidentify import deidentify
from repo.release.plan import plan, plan_metadata
from repo.release.ruleload import load as load_rules
from support.releases import RULES as SYNTHETIC_RULES
from support.releases import one_line, synthetic

REAL = Path(__file__).parent / "data" / "real"
END = "1993-06-30"
NOBODY = {"none": True, "reason": "no consent restrictions in this public data set"}
UDCA_RULES = {"min_cell": 5, "participant_id": "id", "dates": {"reference": "entry.dt"}, "keep": ["trt"],
              "consent": {"no_sharing": NOBODY, "no_commercial": NOBODY}}
SECRET = bytes(range(32))


def run(*args):
    result = ipd(*args)
    assert result.exit_code == 0, result.output + result.stderr
    return result


@pytest.fixture(scope="module")
def trials(tmp_path_factory) -> Path:
    """One repository with UDCA as delivered, CGD with its randomisation date as a date and futime as its
    time role, and the synthetic trial (random dates, no shared one)."""
    base = tmp_path_factory.mktemp("anchors")
    with own_home(base / "home"):
        root = base / "repo"
        run("init", root, "--remote", base / "remote")
        run("ingest", "udca", REAL / "udca.csv", "--key", "id", "--arm", "trt", "--randomised", "entry.dt",
            "--repo", root)
        cgd = pd.read_csv(REAL / "cgd0.csv")
        cgd["random"] = pd.to_datetime(cgd["random"].astype(str).str.zfill(6), format="%m%d%y").dt.date
        cgd.to_csv(base / "cgd0.csv", index=False)
        run("ingest", "cgd", base / "cgd0.csv", "--key", "id", "--arm", "treat", "--randomised", "random",
            "--repo", root)
        metadata = yaml.safe_load((root / "datasets/cgd/dataset.yaml").read_text())
        metadata["roles"]["time"] = "futime"
        (root / "datasets/cgd/dataset.yaml").write_text(yaml.safe_dump(metadata, sort_keys=False))
        git(root, "commit", "-qam", "futime is the follow-up time")
        synthetic().to_parquet(base / "t.parquet")
        run("ingest", "t", base / "t.parquet", "--key", "pid", "--arm", "arm", "--randomised", "randdate",
            "--repo", root)
    return root


def set_release(root: Path, trial: str, release: dict | None, anchors: dict | None = None) -> None:
    path = root / f"datasets/{trial}/dataset.yaml"
    metadata = yaml.safe_load(path.read_text())
    metadata.pop("release", None)
    if release is not None:
        metadata["release"] = json.loads(json.dumps(release))
        if anchors is not None:
            metadata["release"]["dates"]["anchors"] = anchors
    path.write_text(yaml.safe_dump(metadata, sort_keys=False))
    git(root, "commit", "-qam", f"release rules of {trial}", "--allow-empty")


def released(root: Path, trial: str, tier: str = "noncommercial", secret: bytes = SECRET, planned: bool = True):
    """The plan (when ``planned``), and the tier's released rows as the build makes them (keyed by ``secret``)
    with each participant's original key beside its release ID."""
    opened = repo.open(root)
    found = plan(opened, trial, "v1") if planned else None
    table = opened.dataset(trial).version("v1").to_arrow()
    metadata = plan_metadata(opened.dataset(trial), "v1")
    rules = load_rules(metadata, table.column_names)
    ids = {k: f"R{i:04d}" for i, k in enumerate(table[rules.participant_id].to_pylist())}
    done = deidentify(table, rules, tier, ids, metadata.columns, {}, secret)
    rows = done.table.to_pandas()
    rows["key"] = rows["release_id"].map({v: k for k, v in ids.items()})
    return found, rows, done


def udca_attack(rows: pd.DataFrame) -> pd.DataFrame:
    """Per participant censored on the end date: the true entry date, the released days, and the attacker's
    guess end − days."""
    source = pd.read_csv(REAL / "udca.csv", parse_dates=["entry.dt", "last.dt"])
    at = source[source["last.dt"] == pd.Timestamp(END)].merge(rows[["key", "last.dt"]], left_on="id", right_on="key",
                                                              suffixes=("", "_released"))
    at["true_days"] = (at["last.dt"] - at["entry.dt"]).dt.days
    at["guess"] = pd.Timestamp(END) - pd.to_timedelta(at["last.dt_released"], unit="D")
    return at


def test_udca_end_of_follow_up_is_found_per_tier_in_json_and_text(trials):
    source = pd.read_csv(REAL / "udca.csv")
    counts = source["last.dt"].value_counts()
    assert (counts.index[0], int(counts.iloc[0])) == (END, 108)  # the figure, counted here by pandas
    others = [c for c in source.columns if c.endswith(".dt") and c not in ("entry.dt", "last.dt")]
    assert max(int(source[c].value_counts().max()) for c in others) <= 3  # no other column shares a date
    set_release(trials, "udca", UDCA_RULES)
    result = run("release", "plan", "udca@v1", "--json", "--repo", trials)
    expected = {"column": "last.dt", "anchor": END, "reference": "entry.dt", "exposed": int(counts.iloc[0]),
                "remedy": None, "values_changed": 0, "max_change_days": 0, "recoverable": int(counts.iloc[0]),
                "within_days": 0, "reason": None}
    assert json.loads(result.stdout)["date_anchors"] == {"noncommercial": [expected], "commercial": [expected]}
    text = run("release", "plan", "udca@v1", "--repo", trials).stdout
    assert ("  noncommercial: last.dt = 1993-06-30 for 108 participants (entry.dt = 1993-06-30 − released days): "
            "entry.dt recoverable exactly for 108; no remedy in release.dates.anchors yet") in text.splitlines()

    # approval is refused while no rule deals with it, and leaves nothing behind
    head = git(trials, "rev-parse", "HEAD")
    assert one_line(ipd("release", "approve", "udca@v1", "--by", "Dr A", "--repo", trials)) == (
        "udca@v1: last.dt holds 1993-06-30 for 108 participants (noncommercial tier): whoever knows that date "
        "recovers their entry.dt; choose a remedy under release.dates.anchors.last.dt in "
        "datasets/udca/dataset.yaml (coarsen with unit, jitter with days, or none with a reason)")
    assert git(trials, "rev-parse", "HEAD") == head and git(trials, "status", "--porcelain") == ""


def test_the_attack_works_on_a_release_without_remedy(trials):
    set_release(trials, "udca", UDCA_RULES)
    _, rows, _ = released(trials, "udca", planned=False)
    at = udca_attack(rows)
    assert len(at) == 108 and (at["guess"] == at["entry.dt"]).all()


@pytest.mark.parametrize("unit", [7, 30])
def test_coarsen_leaves_each_entry_date_one_of_unit_dates(trials, unit):
    set_release(trials, "udca", UDCA_RULES, {"last.dt": {"remedy": "coarsen", "unit": unit}})
    found, rows, done = released(trials, "udca")
    at = udca_attack(rows)
    error = at["last.dt_released"] - at["true_days"]
    # rounded to the nearest multiple, halves up: off by -(unit - 1) // 2 … unit // 2 days
    assert (at["last.dt_released"] % unit == 0).all() and error.between(-((unit - 1) // 2), unit // 2).all()
    # end − days names a window of `unit` dates, one of them the truth: no guess is known to be right
    windows = [{g + pd.Timedelta(days=e) for e in range(-((unit - 1) // 2), unit // 2 + 1)} for g in at["guess"]]
    assert all(len(w) == unit and t in w for w, t in zip(windows, at["entry.dt"]))
    changed = int((error != 0).sum())
    [exposure] = found.tiers[0].anchors
    assert (exposure.remedy, exposure.exposed, exposure.recoverable, exposure.within_days) == \
        ("coarsen", 108, 0, unit // 2)
    assert (exposure.values_changed, exposure.max_change_days) == (changed, int(error.abs().max()))
    log = {m.action: m for m in done.modifications if m.variable == "last.dt"}
    assert log["anchor_coarsen"].rows_affected == changed
    assert log["anchor_coarsen"].parameters == {"anchors": [END], "unit_days": unit, "at_most_days": unit // 2}
    # the other participants' follow-up is released exactly, as analysed
    source = pd.read_csv(REAL / "udca.csv", parse_dates=["entry.dt", "last.dt"]).set_index("id")
    rest = rows[~rows["key"].isin(at["id"])].set_index("key")
    truth = (source["last.dt"] - source["entry.dt"]).dt.days
    assert (rest["last.dt"] == truth.loc[rest.index]).all()


def test_jitter_is_keyed_the_same_in_both_tiers_and_leaves_nobody_exact(trials):
    set_release(trials, "udca", UDCA_RULES, {"last.dt": {"remedy": "jitter", "days": 5}})
    found, rows, done = released(trials, "udca")
    at = udca_attack(rows)
    moved = at["last.dt_released"] - at["true_days"]
    assert int((at["guess"] == at["entry.dt"]).sum()) == 0
    assert moved.abs().between(1, 5).all() and moved.nunique() == 10  # every offset in ±5 but 0 is used
    [exposure] = found.tiers[0].anchors
    assert (exposure.remedy, exposure.exposed, exposure.values_changed, exposure.recoverable,
            exposure.within_days) == ("jitter", 108, 108, 0, 5)
    assert exposure.max_change_days <= 5
    log = {m.action: m for m in done.modifications if m.variable == "last.dt"}
    assert (log["anchor_jitter"].rows_affected, log["anchor_jitter"].parameters) == \
        (108, {"anchors": [END], "days": 5})
    # keyed, never random: the same secret gives the same bytes, and both tiers the same values
    _, again, _ = released(trials, "udca", planned=False)
    assert again.equals(rows)
    _, commercial, _ = released(trials, "udca", "commercial", planned=False)
    assert commercial.set_index("key")["last.dt"].equals(rows.set_index("key")["last.dt"])
    _, other, _ = released(trials, "udca", secret=bytes(32), planned=False)
    assert not other["last.dt"].equals(rows["last.dt"])


def test_accepting_records_the_reason_in_the_plan_and_the_approval(trials):
    reason = "the end of follow-up was never published"
    set_release(trials, "udca", UDCA_RULES, {"last.dt": {"remedy": "none", "reason": reason}})
    found, rows, done = released(trials, "udca")
    assert int((udca_attack(rows)["guess"] == udca_attack(rows)["entry.dt"]).sum()) == 108
    [exposure] = found.tiers[1].anchors
    assert (exposure.remedy, exposure.recoverable, exposure.reason) == ("none", 108, reason)
    log = {m.action: m for m in done.modifications if m.variable == "last.dt"}
    assert (log["anchor_accepted"].rows_affected, log["anchor_accepted"].parameters) == \
        (0, {"anchors": [END], "exposed": 108, "reason": reason})
    run("release", "approve", "udca@v1", "--by", "Dr A", "--repo", trials)
    approval = json.loads((trials / "datasets/udca/releases/approvals/v1.json").read_text())
    assert approval["rules"]["dates"]["anchors"] == {"last.dt": {"remedy": "none", "reason": reason}}
    assert approval["plan_sha256"] == found.sha256
    text = run("release", "plan", "udca@v1", "--repo", trials).stdout
    assert f"last.dt = 1993-06-30 for 108 participants (entry.dt = 1993-06-30 − released days): accepted " \
           f"({reason}); entry.dt recoverable exactly for 108" in text


@pytest.mark.parametrize("anchors, message", [
    ({"last.dt": {"remedy": "blur"}}, "release.dates.anchors.last.dt.remedy: unknown remedy 'blur' "
                                      "(coarsen, jitter or none)"),
    ({"last.dt": {"remedy": "coarsen"}}, "release.dates.anchors.last.dt.unit: coarsen needs the days to round to: "
                                         "an integer of 2 or more (7: weeks), not None"),
    ({"last.dt": {"remedy": "coarsen", "unit": 7, "days": 3}},
     "release.dates.anchors.last.dt.days: goes with remedy jitter, not coarsen"),
    ({"last.dt": {"remedy": "jitter", "days": 0}}, "release.dates.anchors.last.dt.days: jitter needs the most "
                                                   "days a value may move: a positive integer, not 0"),
    ({"last.dt": "none"}, "release.dates.anchors.last.dt.reason: say why the exposure is accepted (reason: …)"),
    ({"entry.dt": {"remedy": "jitter", "days": 3}},
     "release.dates.anchors.entry.dt: entry.dt is the reference date: it is not released"),
    ({"stage": {"remedy": "jitter", "days": 3, "when": 1}},
     "release.dates.anchors.stage.when: unknown setting (remedy, unit, days, reason)"),
    ({"last_dt": "none"}, "release.dates.anchors.last_dt: no column 'last_dt' in the data"),
])
def test_bad_anchor_rules_are_one_line(trials, anchors, message):
    set_release(trials, "udca", UDCA_RULES, anchors)
    assert one_line(ipd("release", "plan", "udca@v1", "--repo", trials)) == \
        f"datasets/udca/dataset.yaml: {message}"


def test_a_follow_up_time_in_days_is_an_anchor_too(trials):
    """CGD's futime (its time role) added to the randomisation date meets the study's close: 9 participants on
    1989-09-28 and 7 on 1989-11-04, at least 5% of 128 each (counted here by pandas)."""
    source = pd.read_csv(REAL / "cgd0.csv")
    random = pd.to_datetime(source["random"].astype(str).str.zfill(6), format="%m%d%y")
    ends = (random + pd.to_timedelta(source["futime"], unit="D")).dt.strftime("%Y-%m-%d").value_counts()
    shared = ends[ends >= 0.05 * len(source)]
    assert shared.to_dict() == {"1989-09-28": 9, "1989-11-04": 7}
    rules = {"participant_id": "id", "dates": {"reference": "random"},
             "consent": {"no_sharing": NOBODY, "no_commercial": NOBODY}}
    set_release(trials, "cgd", rules)
    found = plan(repo.open(trials), "cgd", "v1")
    assert [(e.column, e.anchor, e.exposed, e.recoverable) for e in found.tiers[0].anchors] == \
        [("futime", day, n, n) for day, n in shared.items()]

    set_release(trials, "cgd", rules, {"futime": {"remedy": "jitter", "days": 3}})
    found, rows, _ = released(trials, "cgd")
    merged = source.assign(random=random).merge(rows[["key", "futime"]], left_on="id", right_on="key",
                                                suffixes=("", "_released"))
    guess = merged["random"] + pd.to_timedelta(merged["futime_released"], unit="D")
    at = merged[(merged["random"] + pd.to_timedelta(merged["futime"], unit="D")).dt.strftime("%Y-%m-%d")
                .isin(shared.index)]
    assert len(at) == 16 and int(guess.loc[at.index].dt.strftime("%Y-%m-%d").isin(shared.index).sum()) == 0
    untouched = merged.drop(at.index)
    assert (untouched["futime_released"] == untouched["futime"]).all()  # the rest released as analysed
    assert [(e.remedy, e.values_changed, e.recoverable) for e in found.tiers[0].anchors] == \
        [("jitter", 9, 0), ("jitter", 7, 0)]


def test_a_follow_up_no_role_declares_is_recognised_as_an_anchor_too():
    """CGD as R exports it with an event indicator beside futime and no roles: futime is recognised as the
    follow-up (``outcomes``), so the anchor search looks at it as it would at a declared time role."""
    import pyarrow as pa

    from repo.release.anchors import exposures
    from repo.release.outcomes import with_follow_up
    from repo.release.rules import DateRule, ReleaseRules

    source = pd.read_csv(REAL / "cgd0.csv")
    source["random"] = pd.to_datetime(source["random"].astype(str).str.zfill(6), format="%m%d%y").dt.date
    source["status"] = source["etime1"].notna().astype(int)  # an infection during follow-up
    table = pa.Table.from_pandas(source, preserve_index=False)
    assert with_follow_up({}, table) == {"time": "futime"}
    assert with_follow_up({"time": "etime1"}, table) == {"time": "etime1"}  # a declared role is kept
    assert with_follow_up({}, table.drop(["status"])) == {}  # a time alone may be anything: not taken
    rules = ReleaseRules(participant_id="id", dates=DateRule("relative", "random", ["random"]))
    ids = {key: f"R{key}" for key in source["id"]}
    released = pa.table({"release_id": [f"R{key}" for key in source["id"]], "futime": source["futime"]})
    found = exposures(table, released, ids, rules, with_follow_up({}, table))
    assert [(e.column, e.anchor, e.exposed, e.recoverable) for e in found] == \
        [("futime", "1989-09-28", 9, 9), ("futime", "1989-11-04", 7, 7)]
    assert exposures(table, released, ids, rules, {}) == []


def test_a_trial_without_a_shared_date_has_no_finding(trials):
    source = synthetic()
    assert source["death_date"].value_counts().max() < 5  # dates spread: no calendar anchor
    set_release(trials, "t", SYNTHETIC_RULES)
    result = run("release", "plan", "t@v1", "--json", "--repo", trials)
    assert json.loads(result.stdout)["date_anchors"] == {"noncommercial": [], "commercial": []}


def test_shifted_dates_give_the_offset_away_and_jitter_hides_it(trials):
    """Shifted, the anchor leaks the participant's offset (shifted last.dt − end), hence every true date."""
    shifted = {**UDCA_RULES, "dates": {"mode": "shift", "reference": "entry.dt"}}
    set_release(trials, "udca", shifted)
    assert [(e.column, e.anchor, e.exposed, e.recoverable) for e in plan(repo.open(trials), "udca", "v1").tiers[0]
            .anchors] == [("last.dt", END, 108, 108)]
    set_release(trials, "udca", shifted, {"last.dt": {"remedy": "jitter", "days": 4}})
    found, rows, _ = released(trials, "udca")
    source = pd.read_csv(REAL / "udca.csv", parse_dates=["entry.dt", "last.dt"])
    at = source[source["last.dt"] == pd.Timestamp(END)].merge(rows, left_on="id", right_on="key",
                                                              suffixes=("", "_released"))
    guess = pd.to_datetime(at["last.dt_released"]) - pd.Timestamp(END)
    offset = pd.to_datetime(at["entry.dt_released"]) - at["entry.dt"]
    assert len(at) == 108 and int((guess == offset).sum()) == 0 and (guess - offset).abs().max().days <= 4
    assert [(e.remedy, e.recoverable) for e in found.tiers[0].anchors] == [("jitter", 0)]
