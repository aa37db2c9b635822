"""Text and HTML check reports say why each failing check failed: the figures, the threshold and what was over
it, as the JSON report has them (real CGD: infections recorded more often in one arm; hand-made results for the
other shapes of details)."""

from __future__ import annotations

from pathlib import Path

from conftest import ipd
from repo.checks.results import CheckResult
from repo.checks.why import why

REAL = Path(__file__).parent / "data" / "real"


def test_ingest_and_check_say_cgd_missing_data_by_arm_differs_with_the_variables_and_shares(tmp_repo, tmp_path):
    root = tmp_repo.root
    result = ipd("ingest", "cgd0", REAL / "cgd0.csv", "--key", "id", "--arm", "treat", "--repo", root)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "1 check(s) fail on cgd0@v1 (`ipd check cgd0@v1` for the report):",
        "  FAIL missing data: by arm: missing shares differ between arms by more than 0.1: etime1 (53.8% vs 77.8%), "
        "etime2 (81.5% vs 92.1%)"]
    result = ipd("check", "cgd0", "--repo", root)
    assert result.exit_code == 1
    reasons = [line for line in result.stdout.splitlines() if line.startswith("FAIL ")]
    assert reasons == ["FAIL missing data: by arm: missing shares differ between arms by more than 0.1: etime1 "
                       "(53.8% vs 77.8%), etime2 (81.5% vs 92.1%)"]
    result = ipd("check", "cgd0", "--html", tmp_path / "report", "--repo", root)
    page = (tmp_path / "report").glob("*.html")
    html = next(page).read_text()
    assert "<th>why it failed</th>" in html
    assert "missing shares differ between arms by more than 0.1: etime1 (53.8% vs 77.8%)" in html


def failing(**details) -> CheckResult:
    return CheckResult(name="c", success=False, kind="integrity", details=details)


def test_each_shape_of_details_gives_its_reason():
    assert why(CheckResult(name="c", success=True)) == ""
    assert why(failing(mismatched={"missing": ["arms"], "unexpected": ["arm"]}, observed_value=["arm", "id"])) == \
        "missing column(s) arms; unexpected column(s) arm"
    assert why(failing(test="chi-square goodness of fit", p_value=0.00123, threshold=0.01, arm_missing=106,
                       unplanned_arms=[])) == \
        "p = 0.00123 < 0.01 (chi-square goodness of fit); arm missing for 106 participant(s)"
    assert why(failing(p_value=0.5, threshold=0.01, arm_missing=3)) == "arm missing for 3 participant(s)"
    assert why(failing(threshold=0.15, reference_arm=0, offenders=[
        {"covariate": "age", "arm": 1, "d": 0.6123}, {"covariate": "meno", "arm": 1, "d": None}])) == \
        "standardised difference over 0.15 against arm 0: age (arm 1: d = 0.61), meno (arm 1: d = n/a (neither " \
        "arm varies))"
    assert why(failing(published={"0": 532, "1": 522}, observed={"0": 532, "1": 519})) == \
        "arm 1: 522 published, 519 in the data"
    assert why(failing(published=2139, observed=2138)) == "2139 published, 2138 in the data"
    assert why(failing(pattern="strict alternation", runs=40, expected_runs=20.5, p_value=0.3, threshold=0.01)) \
        == "strict alternation: 40 runs, 20.5 expected"
    unexpected = CheckResult(name="c", success=False, unexpected_count=4,
                             details={"element_count": 100, "unexpected_percent": 4.0})
    assert why(unexpected) == "4 unexpected value(s) (4.0%)"
    assert why(failing(exception="column 'x' not found")) == "could not run: column 'x' not found"
