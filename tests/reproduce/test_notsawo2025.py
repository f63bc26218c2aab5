from pathlib import Path

import numpy as np
import pytest

from grokbeyond.harness import expand_suite, make_run, override_suite, run_suites
from grokbeyond.reproduce import get_paper, write_paper_report
from grokbeyond.reproduce.notsawo2025 import SUITES
from grokbeyond.reproduce.notsawo2025 import reference as ref
from grokbeyond.reproduce.notsawo2025.claims import CLAIMS, DETECTION, GRID, REFERENCE, settling_step

REFERENCE_DIR = Path(__file__).resolve().parents[3] / "shared" / "reference"
PAPER = get_paper("notsawo2025")


def _suite(name, quick=False):
    return next(s for s in PAPER.suites(quick=quick) if s["name"] == name)


def test_the_suites_hold_the_authors_code_settings():
    assert PAPER.suite_names() == list(SUITES) and set(DETECTION) == set(SUITES)
    runs = expand_suite(_suite(REFERENCE))
    assert len(runs) == 9 and {r["case"] for r in runs} == {"l1, beta 1e-3", "l1, beta 1e-5", "l2, beta 1e-5"}
    data, model = make_run(runs[0])
    assert data.X_train.shape == (30, 100) and np.count_nonzero(data.coef) == 5
    # ½‖Xa − y‖² + (β₂/2)‖a‖² + β₁‖a‖₁ with step α in LinearRegression's per-datapoint terms.
    assert model.noise_variance == pytest.approx(2 / 30) and model.lr == 0.1 and model.weight_init == 10.0
    l2 = next(r for r in runs if r["case"] == "l2, beta 1e-5")["model"]
    assert l2["prior_variance"] == pytest.approx(2 / (1e-5 * 30)) and l2["l1_penalty"] == 0.0
    grid = expand_suite(_suite(GRID))
    assert len(grid) == 48 and len({(r["model"]["lr"], r["model"]["l1_penalty"]) for r in grid}) == 16


def test_settling_step_reads_the_last_entry_into_the_late_band():
    steps = np.arange(10) * 100
    values = np.array([50, 40, 30, 1.0, 1.2, 0.9, 1.05, 1.0, 0.95, 1.02])
    assert settling_step(steps, values) == 500  # 1.2 at step 400 is outside ±10% of the late median 1.0
    assert np.isnan(settling_step(steps, np.r_[values[:-1], 2.0]))  # not settled by the end


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    reference = override_suite(_suite(REFERENCE), seeds=[0], cases=[
        {"label": "l1, beta 2e-3", "model.l1_penalty": 2e-3, "model.prior_variance": float("inf"),
         "model.max_iter": 150_000},
        {"label": "l2, beta 1e-3", "model.l1_penalty": 0.0, "model.prior_variance": 2 / (1e-3 * 30),
         "model.max_iter": 60_000}])
    grid = override_suite(_suite(GRID), seeds=[0], settings={"model.max_iter": 60_000},
                          grid={"model.lr": [0.05, 0.1], "model.l1_penalty": [0.01, 0.02]})
    store = tmp_path_factory.mktemp("notsawo2025")
    run_suites([reference, grid], store, n_jobs=1, progress=False)
    return store


def test_claims_and_page_from_a_small_store(small_store, tmp_path):
    out = write_paper_report("notsawo2025", small_store, report_dir=tmp_path, reference_dir=REFERENCE_DIR)
    claims = out["claims"]
    assert len(claims) == len(CLAIMS) and claims["holds"].tolist() == ["yes", "yes", "yes"], claims["measured"].tolist()
    assert "slope -1.0" in claims["measured"].iloc[2] or "slope -0.9" in claims["measured"].iloc[2]
    page = (tmp_path / "README.md").read_text()
    assert "reference.png" in page and "delay_law.png" in page


def test_reference_curves_are_read():
    curves = ref.recovery_curves(REFERENCE_DIR)
    if curves is None:
        pytest.skip("shared/reference is not beside the project")
    l2 = curves[curves["case"] == "l2, beta 1e-5"]
    assert l2["recovery_error"].iloc[-1] == pytest.approx(0.79, abs=0.01)
    assert ref.recovery_curves(None) is None
