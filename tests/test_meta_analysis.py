"""Meta-analysis of a topic's pooled rows (issue 17): per-trial Cox and Woolf estimates, inverse-variance
pooling (fixed, DerSimonian-Laird, REML), the one-stage model, and the forest plot, on real trial data.

Two pooled tables are built from real trials:

* ``topic``: four real randomised trials harmonised to one dictionary (``arm`` active/control, ``time``,
  ``status`` 1 = event): CGD (rIFN-g against placebo, time to first serious infection), PBC
  (D-penicillamine against placebo, death; transplant censored; its 106 non-randomised participants have
  no arm), colon (levamisole + 5-FU against observation, death; the levamisole-alone arm is set to no arm,
  so it is left out) and GBSG-2 from lifelines (hormonal therapy or not, recurrence-free survival, arm as
  delivered). Different diseases and treatments in one topic is a test device, not a clinical question:
  it gives real heterogeneity (τ² > 0), which the random-effects formulas need to be tested at all.
* ``cgd_by``: the one CGD trial split into pseudo-trials by its own hospital columns (``hos.cat``: four
  hospital groups; ``center``: thirteen centres, two of them with no infection at all).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.datasets import load_gbsg2

from repo.errors import InvalidInput, StorageError
from repo.topics.forest import forest_png
from repo.topics.meta import analyse
from repo.topics.pooling import pool, reml_tau2

REAL = Path(__file__).parent / "data" / "real"
Z = 1.959963984540054
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def topic() -> pd.DataFrame:
    cgd = pd.read_csv(REAL / "cgd.csv").query("enum == 1")  # each participant's first infection (or censoring)
    pbc = pd.read_csv(REAL / "pbc.csv")
    colon = pd.read_csv(REAL / "colon.csv").query("etype == 2")  # etype 2: death
    gbsg2 = load_gbsg2()
    return pd.concat([
        pd.DataFrame({"trial": "cgd", "arm": cgd["treat"].map({"rIFN-g": "active", "placebo": "control"}),
                      "time": cgd["tstop"], "status": cgd["status"]}),
        pd.DataFrame({"trial": "pbc", "arm": pbc["trt"].map({1.0: "active", 2.0: "control"}),
                      "time": pbc["time"], "status": (pbc["status"] == 2).astype(int)}),
        pd.DataFrame({"trial": "colon", "arm": colon["rx"].map({"Lev+5FU": "active", "Obs": "control"}),
                      "time": colon["time"], "status": colon["status"]}),
        pd.DataFrame({"trial": "gbsg2", "arm": gbsg2["horTh"].map({"yes": "active", "no": "control"}),
                      "time": gbsg2["time"], "status": gbsg2["cens"]}),
    ], ignore_index=True)


@pytest.fixture(scope="module")
def cgd_by() -> pd.DataFrame:
    return pd.read_csv(REAL / "cgd.csv").query("enum == 1").reset_index(drop=True)


@pytest.fixture(scope="module")
def analysis(topic):
    return analyse(topic, "arm", "active", "time", "status", versions={"cgd": "v1", "pbc": "v2"}, one_stage=True)


def cox_directly(rows: pd.DataFrame, strata: list[str] | None = None) -> tuple[float, float]:
    """The log hazard ratio and its SE of a Cox model on the arm alone, fitted here on the rows given."""
    frame = rows.dropna(subset=["arm", "time", "status"])
    data = pd.DataFrame({"T": frame["time"], "E": frame["status"], "rx": (frame["arm"] == "active").astype(int)})
    if strata:
        data["trial"] = frame["trial"]
    fitted = CoxPHFitter().fit(data, duration_col="T", event_col="E", strata=strata)
    return float(fitted.params_["rx"]), float(fitted.standard_errors_["rx"])


def inverse_variance(y: np.ndarray, se: np.ndarray) -> dict:
    """Fixed effect and DerSimonian-Laird random effects, written out (Borenstein et al. 2009, ch. 11-16)."""
    w = 1 / se ** 2
    fixed = (w * y).sum() / w.sum()
    q = (w * (y - fixed) ** 2).sum()
    df = len(y) - 1
    tau2 = max(0.0, (q - df) / (w.sum() - (w ** 2).sum() / w.sum()))
    w_star = 1 / (se ** 2 + tau2)
    return {"fixed": fixed, "fixed_se": math.sqrt(1 / w.sum()), "q": q, "tau2": tau2,
            "i2": max(0.0, (q - df) / q), "random": (w_star * y).sum() / w_star.sum(),
            "random_se": math.sqrt(1 / w_star.sum())}


def test_each_trial_estimate_is_a_cox_model_fitted_on_that_trials_rows(topic, analysis):
    assert [t.trial for t in analysis.trials] == ["cgd", "pbc", "colon", "gbsg2"]
    for trial in analysis.trials:
        rows = topic[topic["trial"] == trial.trial]
        estimate, se = cox_directly(rows)
        assert trial.effect.estimate == pytest.approx(estimate, rel=1e-9, abs=1e-12)
        assert trial.effect.se == pytest.approx(se, rel=1e-9)
        usable = rows.dropna(subset=["arm"])
        for side, arm in (("active", trial.active), ("control", trial.control)):
            part = usable[usable["arm"] == side]
            assert (arm.n, arm.events) == (len(part), int(part["status"].sum()))
        assert trial.left_out == rows["arm"].isna().sum()
    left_out = {t.trial: t.left_out for t in analysis.trials}
    assert left_out["pbc"] == 106 and left_out["colon"] == 310 and left_out["cgd"] == left_out["gbsg2"] == 0


def test_pooled_estimates_equal_an_independent_inverse_variance_computation(analysis):
    y = np.array([t.effect.estimate for t in analysis.trials])
    se = np.array([t.effect.se for t in analysis.trials])
    expected = inverse_variance(y, se)
    assert expected["tau2"] > 0.01  # real heterogeneity: the random-effects weights differ from the fixed
    fixed, random = analysis.fixed, analysis.random
    assert fixed.estimate == pytest.approx(expected["fixed"], rel=1e-12)
    assert fixed.se == pytest.approx(expected["fixed_se"], rel=1e-12)
    assert (fixed.ci_low, fixed.ci_high) == pytest.approx((expected["fixed"] - Z * expected["fixed_se"],
                                                           expected["fixed"] + Z * expected["fixed_se"]), rel=1e-12)
    assert random.estimate == pytest.approx(expected["random"], rel=1e-12)
    assert random.se == pytest.approx(expected["random_se"], rel=1e-12)
    assert random.ci_high == pytest.approx(expected["random"] + Z * expected["random_se"], rel=1e-12)
    assert (random.tau2, random.i2, random.q) == pytest.approx((expected["tau2"], expected["i2"], expected["q"]),
                                                               rel=1e-12)
    from scipy.stats import chi2

    assert random.q_p == pytest.approx(chi2.sf(expected["q"], len(y) - 1), rel=1e-12)
    assert random.method == "DerSimonian-Laird"


def test_reml_maximises_the_restricted_likelihood(analysis):
    """τ² by REML is where the restricted log likelihood of the four trials peaks, found here by a
    bounded search (scipy), not by the scoring the module uses."""
    from scipy.optimize import minimize_scalar

    y = np.array([t.effect.estimate for t in analysis.trials])
    v = np.array([t.effect.se for t in analysis.trials]) ** 2

    def minus_log_likelihood(tau2):
        w = 1 / (v + tau2)
        mu = (w * y).sum() / w.sum()
        return 0.5 * (np.log(v + tau2).sum() + np.log(w.sum()) + (w * (y - mu) ** 2).sum())

    peak = minimize_scalar(minus_log_likelihood, bounds=(0, 5), method="bounded", options={"xatol": 1e-12}).x
    reml = analysis.reml
    assert reml.tau2 == pytest.approx(peak, rel=1e-6)
    assert reml.tau2 > analysis.random.tau2 > 0  # here REML finds more heterogeneity than DerSimonian-Laird
    w = 1 / (v + reml.tau2)
    assert reml.estimate == pytest.approx((w * y).sum() / w.sum(), rel=1e-12)
    assert reml.se == pytest.approx(math.sqrt(1 / w.sum()), rel=1e-12)
    assert reml.method == "REML"


def test_pooling_matches_metafor_on_the_bcg_trials():
    """The 13 BCG vaccine trials (Colditz et al. 1994; metafor's dat.bcg), log risk ratios. metafor's own
    tests give FE -0.4303, Q 152.2330, DL τ² 0.3088 with -0.7141 [-1.0644, -0.3638]; its REML τ² is
    0.313243325980895 (metafor stops at a change under 1e-5, so it agrees to about 1e-7), estimate
    -0.7145323."""
    counts = np.array([[4, 119, 11, 128], [6, 300, 29, 274], [3, 228, 11, 209], [62, 13536, 248, 12619],
                       [33, 5036, 47, 5761], [180, 1361, 372, 1079], [8, 2537, 10, 619], [505, 87886, 499, 87892],
                       [29, 7470, 45, 7232], [17, 1699, 65, 1600], [186, 50448, 141, 27197], [5, 2493, 3, 2338],
                       [27, 16886, 29, 17825]], float)
    tpos, tneg, cpos, cneg = counts.T
    y = np.log(tpos / (tpos + tneg) / (cpos / (cpos + cneg)))
    v = 1 / tpos - 1 / (tpos + tneg) + 1 / cpos - 1 / (cpos + cneg)
    pooled = pool(y, np.sqrt(v))
    assert round(pooled.fixed.estimate, 4) == -0.4303 and round(pooled.random.q, 4) == 152.2330
    assert round(pooled.random.tau2, 4) == 0.3088 and round(pooled.random.estimate, 4) == -0.7141
    assert (round(pooled.random.ci_low, 4), round(pooled.random.ci_high, 4)) == (-1.0644, -0.3638)
    assert pooled.reml.tau2 == pytest.approx(0.313243325980895, abs=1e-6)
    assert round(pooled.reml.estimate, 7) == -0.7145323
    assert reml_tau2(y, v) == pytest.approx(pooled.reml.tau2, rel=1e-9)  # the same from τ² = 0 as from DL's


def test_without_heterogeneity_tau2_is_zero_and_random_effects_are_the_fixed(cgd_by):
    """CGD's four hospital groups agree more than chance allows (Q < its degrees of freedom): the
    DerSimonian-Laird τ², negative as computed, is 0, and so is REML's."""
    found = analyse(cgd_by, "treat", "rIFN-g", "tstop", "status", trial="hos.cat")
    y = np.array([t.effect.estimate for t in found.trials])
    expected = inverse_variance(y, np.array([t.effect.se for t in found.trials]))
    assert expected["q"] < len(y) - 1
    assert (found.random.tau2, found.random.i2, found.reml.tau2) == (0.0, 0.0, 0.0)
    assert found.random.estimate == found.reml.estimate == pytest.approx(expected["fixed"], rel=1e-12)
    assert found.random.se == pytest.approx(expected["fixed_se"], rel=1e-12)


def test_one_trial_is_its_own_pooled_estimate(topic, tmp_path):
    found = analyse(topic[topic["trial"] == "cgd"], "arm", "active", "time", "status")
    (trial,) = found.trials
    assert found.fixed.estimate == found.random.estimate == found.reml.estimate == trial.effect.estimate
    made = json.loads(json.dumps(found.to_json(), allow_nan=False))
    assert (made["random"]["tau2"], made["random"]["i2"], made["random"]["q_p"]) == (0.0, None, None)
    assert forest_png(found, tmp_path / "one.png", "CGD").read_bytes()[:8] == PNG


def test_one_stage_is_a_cox_model_stratified_by_trial(topic, analysis):
    estimate, se = cox_directly(topic, strata=["trial"])
    one = analysis.one_stage
    assert (one.estimate, one.se) == pytest.approx((estimate, se), rel=1e-9)
    assert (one.n, one.events, one.trials) == (1745, 759, 4)


def test_json_keeps_the_contract(analysis):
    made = json.loads(json.dumps(analysis.to_json(), allow_nan=False))
    assert made["method"] == "cox"
    for trial in made["trials"]:
        assert {"trial", "version", "n", "events", "estimate", "se", "arms", "reason"} <= set(trial)
    assert [(t["trial"], t["version"]) for t in made["trials"]] == [("cgd", "v1"), ("pbc", "v2"), ("colon", None),
                                                                    ("gbsg2", None)]
    assert made["trials"][1]["arms"] == {"active": {"n": 158, "events": 65}, "control": {"n": 154, "events": 60}}
    assert set(made["fixed"]) == {"estimate", "se", "ci_low", "ci_high"}
    assert {"estimate", "se", "ci_low", "ci_high", "tau2", "i2", "q", "q_p"} <= set(made["random"])
    assert made["random"]["method"] == "DerSimonian-Laird" and made["reml"]["method"] == "REML"
    assert made["one_stage"]["method"] == "Cox stratified by trial"
    assert made["random"]["estimate"] == analysis.random.estimate  # the log scale


def test_a_binary_outcome_is_woolfs_log_odds_ratio(cgd_by):
    found = analyse(cgd_by, "treat", "rIFN-g", None, "status", trial="hos.cat")
    assert found.method == "logistic" and found.to_json()["method"] == "logistic"
    for trial in found.trials:
        rows = cgd_by[cgd_by["hos.cat"] == trial.trial]
        table = pd.crosstab(rows["treat"], rows["status"])
        a, b = table.loc["rIFN-g", 1], table.loc["rIFN-g", 0]
        c, d = table.loc["placebo", 1], table.loc["placebo", 0]
        assert trial.effect.estimate == pytest.approx(math.log(a * d / (b * c)), rel=1e-12)
        assert trial.effect.se == pytest.approx(math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), rel=1e-12)
        assert not trial.effect.corrected


def test_a_zero_cell_gets_the_continuity_correction_and_says_so(cgd_by):
    found = analyse(cgd_by, "treat", "rIFN-g", None, "status", trial="center")
    texas = next(t for t in found.trials if t.trial == "Texas Children's Hosp")  # rIFN-g 0/4, placebo 2/4
    assert (texas.active.n, texas.active.events, texas.control.n, texas.control.events) == (4, 0, 4, 2)
    assert texas.effect.corrected and texas.to_json()["continuity_correction"] is True
    a, b, c, d = 0.5, 4.5, 2.5, 2.5
    assert texas.effect.estimate == pytest.approx(math.log(a * d / (b * c)), rel=1e-12)
    assert texas.effect.se == pytest.approx(math.sqrt(1 / a + 1 / b + 1 / c + 1 / d), rel=1e-12)


def test_a_trial_with_no_events_is_listed_with_its_reason_and_left_out_of_the_pooling(cgd_by):
    found = analyse(cgd_by, "treat", "rIFN-g", "tstop", "status", trial="center")
    reasons = {t.trial: t.reason for t in found.trials if t.effect is None}
    assert reasons == {"Harvard Medical Sch": "no events", "Univ. of Washington": "no events",
                       **{name: "no events in the active arm: the hazard ratio is not estimable"
                          for name in ("Univ. of Utah", "Mt. Sinai Medical Ctr", "Texas Children's Hosp",
                                       "Copenhagen")}}
    harvard = next(t for t in found.to_json()["trials"] if t["trial"] == "Harvard Medical Sch")
    assert (harvard["pooled"], harvard["estimate"], harvard["se"], harvard["n"]) == (False, None, None, 4)
    pooled = found.pooled_trials
    assert len(pooled) == 7
    expected = inverse_variance(np.array([t.effect.estimate for t in pooled]), np.array([t.effect.se for t in pooled]))
    assert found.fixed.estimate == pytest.approx(expected["fixed"], rel=1e-12)


def test_no_trial_left_to_pool_is_an_error(cgd_by):
    rows = cgd_by[cgd_by["center"].isin(["Harvard Medical Sch", "Univ. of Washington"])]
    with pytest.raises(InvalidInput) as raised:
        analyse(rows, "treat", "rIFN-g", "tstop", "status", trial="center")
    assert str(raised.value) == ("no trial's effect can be estimated (Harvard Medical Sch: no events; "
                                 "Univ. of Washington: no events)")


def test_a_status_that_is_not_0_or_1_is_a_one_line_error_naming_the_trial(topic):
    raw = topic.astype({"status": object})
    pbc = pd.read_csv(REAL / "pbc.csv")
    raw.loc[raw["trial"] == "pbc", "status"] = pbc["status"].to_numpy()  # PBC as delivered: 0, 1 (transplant), 2
    with pytest.raises(InvalidInput) as raised:
        analyse(raw, "arm", "active", "time", "status")
    assert str(raised.value) == "trial pbc: status is 2; a status is 1 (event) or 0 (censored / no event)"
    raw.loc[raw.index[raw["trial"] == "gbsg2"][3], "status"] = "dead"
    with pytest.raises(InvalidInput, match=r"^trial pbc: status is 2;"):
        analyse(raw, "arm", "active", "time", "status")
    with pytest.raises(InvalidInput) as raised:
        analyse(raw[raw["trial"] == "gbsg2"], "arm", "active", "time", "status")
    assert str(raised.value) == "trial gbsg2: status is 'dead'; a status is 1 (event) or 0 (censored / no event)"


def test_an_active_value_no_row_has_is_an_error(topic):
    with pytest.raises(InvalidInput) as raised:
        analyse(topic, "arm", "treated", "time", "status")
    assert str(raised.value) == "no row has arm = 'treated' (its values: active, control): name the active arm's value"
    with pytest.raises(InvalidInput, match="^no column 'days' in the pooled rows$"):
        analyse(topic, "arm", "active", "days", "status")


def test_the_active_value_given_as_text_matches_a_numeric_arm(cgd_by):
    numeric = cgd_by.assign(treat=(cgd_by["treat"] == "rIFN-g").astype(int))
    as_text = analyse(numeric, "treat", "1", "tstop", "status", trial="hos.cat")
    as_label = analyse(cgd_by, "treat", "rIFN-g", "tstop", "status", trial="hos.cat")
    assert as_text.fixed == as_label.fixed and as_text.control == ("0",)


def test_the_forest_plot_is_a_png_written_whole(tmp_path, topic, analysis, monkeypatch):
    earlier = analyse(topic[topic["trial"] != "gbsg2"], "arm", "active", "time", "status", one_stage=True)
    path = forest_png(analysis, tmp_path / "forest.png", "Four real trials", compare=earlier, labels=("v2", "v1"))
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest.png"]

    from matplotlib.figure import Figure

    def fails_halfway(self, target, **kwargs):
        Path(target).write_bytes(PNG)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", fails_halfway)
    with pytest.raises(StorageError, match="cannot write the forest plot"):
        forest_png(analysis, tmp_path / "second.png", "Four real trials")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forest.png"]
    with pytest.raises(InvalidInput, match="name the file"):
        forest_png(analysis, tmp_path / "forest.pdf", "Four real trials")
