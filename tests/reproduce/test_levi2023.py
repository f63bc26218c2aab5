import json

import numpy as np
import pandas as pd
import pytest

from grokbeyond.harness import expand_suite, make_run, override_suite, run_suites
from grokbeyond.reproduce import get_paper, write_paper_report
from grokbeyond.reproduce.levi2023 import SUITES
from grokbeyond.reproduce.levi2023.claims import (CLAIMS, DETECTION, OUTPUT, RATIO, THRESHOLD, WEIGHT_DECAY,
                                                  _first_steps, exact_curve, marchenko_pastur_times)
from grokbeyond.theory import marchenko_pastur_trajectory, threshold_accuracy

PAPER = get_paper("levi2023")


def _suite(name, quick=False):
    return next(s for s in PAPER.suites(quick=quick) if s["name"] == name)


def test_the_suites_hold_the_papers_settings():
    assert PAPER.suite_names() == list(SUITES) and set(DETECTION) == set(SUITES)
    runs = expand_suite(_suite(RATIO))
    assert len(runs) == 35 and {round(1000 / r["dataset"]["n_train"], 2) for r in runs} == {
        0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 1.5}
    data, model = make_run(next(r for r in runs if r["case"] == "lambda 0.5"))
    # Teacher and student entries N(0, 1/(2 d_in d_out)); torch's MSE; η = 0.01; ε = 1e-3.
    assert data.teacher.std() == pytest.approx((2 * 1000) ** -0.5, rel=0.1) and data.ratio == 0.5
    assert model.noise_variance == 1.0 and model.lr == 0.01 and model.epsilon == 1e-3
    assert model.init_scale / 1000**0.5 == pytest.approx((2 * 1000) ** -0.5)
    decay = expand_suite(_suite(WEIGHT_DECAY))
    gammas = {round(2 / (r["model"]["prior_variance"] * 1111), 8) for r in decay}
    assert gammas == {0.0, 1e-5, 1e-3, 1e-2}
    for run in expand_suite(_suite(OUTPUT)):
        d_out = run["dataset"]["n_outputs"]
        assert run["model"]["noise_variance"] == d_out
        assert run["dataset"]["teacher_scale"] == pytest.approx((2 * 200 * d_out) ** -0.5)


def test_the_limits_steps_are_its_first_steps_at_95_percent():
    times = marchenko_pastur_times(0.5, 0.01, 1, 1e-3, 3000, 1.0)
    curve = marchenko_pastur_trajectory(0.5, lr=0.01, max_iter=3000, steps=np.arange(600, 1300), epsilon=1e-3)
    train = threshold_accuracy(curve["train_loss"].to_numpy(), 1e-3)
    assert times["mp_t_train"] == curve["step"][np.argmax(train >= 0.95)]
    assert times["mp_t_test"] == curve["step"][np.argmax(curve["test_accuracy"] >= 0.95)]
    assert np.isnan(marchenko_pastur_times(1.5, 0.01, 1, 1e-3, 3000, 1.0)["mp_t_test"])


def test_exact_curve_maps_weight_decay_and_reads_steps_on_the_runs_grid():
    from grokbeyond.models import LinearRegression
    from grokbeyond.reproduce.levi2023.claims import _exact_times

    run = override_suite(_suite(WEIGHT_DECAY), seeds=[3], settings={
        "dataset.n_features": 30, "dataset.n_train": 40, "dataset.n_test": 200, "model.max_iter": 400,
        "model.eval_every": 7, "model.lr": 0.05}, cases=[{"label": "gamma 0.3", "model.prior_variance": 2 / (0.3 * 40)}])
    config = expand_suite(run)[0]
    curve, problem = exact_curve(json.dumps(config))
    assert problem["weight_decay"] == pytest.approx(0.3)
    data, model = make_run(config)
    model.fit(data.X_train, data.y_train)
    rows = model.history_[model.history_["split"] == "train"]
    np.testing.assert_allclose(rows["error"], curve(rows["step"].to_numpy())["train_loss"], rtol=1e-9)
    times = _exact_times(json.dumps(config))
    for name in ("exact_t_train", "exact_t_test"):  # on the grid 0, 7, 14, …, 400
        assert np.isnan(times[name]) or times[name] % 7 == 0 or times[name] == 400
    with pytest.raises(ValueError, match="noise_variance = d_out"):
        exact_curve(json.dumps({**config, "model": {**config["model"], "noise_variance": 2.0}}))
    assert isinstance(model, LinearRegression)


def test_the_exact_test_accuracy_of_several_outputs_is_the_weighted_chi2():
    from grokbeyond.theory import linear_gd_trajectory
    from grokbeyond.theory._linear import _weighted_chi2_cdf

    rng = np.random.default_rng(0)
    X, teacher = rng.normal(size=(60, 20)), rng.normal(0, 0.05, (20, 6))
    curve = linear_gd_trajectory(X, teacher, np.zeros((20, 6)), lr=0.05, max_iter=0, epsilon=1e-3,
                                 steps=[0, 50, 200], train_accuracy=False)
    assert "train_accuracy" not in curve
    D = -teacher  # at step 0; Dᵀx for x ~ N(0, I), by Monte Carlo
    errors = rng.normal(size=(200_000, 20)) @ D
    assert curve["test_accuracy"].iloc[0] == pytest.approx(((errors**2).mean(1) < 1e-3).mean(), abs=0.005)
    assert _weighted_chi2_cdf(np.full(5, 0.2), 0.7) == pytest.approx(threshold_accuracy(0.2, 0.7 / 5, 5), abs=1e-8)
    # Chunked evaluation (a tiny chunk size) gives the same frame.
    import grokbeyond.theory._linear as theory

    whole = linear_gd_trajectory(X, teacher, np.zeros((20, 6)), lr=0.05, max_iter=30, epsilon=1e-3)
    size, theory._CHUNK_ENTRIES = theory._CHUNK_ENTRIES, 500
    try:
        chunked = linear_gd_trajectory(X, teacher, np.zeros((20, 6)), lr=0.05, max_iter=30, epsilon=1e-3)
    finally:
        theory._CHUNK_ENTRIES = size
    pd.testing.assert_frame_equal(whole, chunked)


def test_first_steps_refines_the_log_grid_to_the_step():
    def curve(steps):
        return pd.DataFrame({"step": steps, "value": np.sin(steps / 500.0)})
    found = _first_steps(curve, {"half": ("value", 0.5), "never": ("value", 2.0)}, 5000)
    assert found["half"] == np.ceil(500 * np.arcsin(0.5)) and np.isnan(found["never"])


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    # d_in = 100 (d_out: 20) and η = 0.05, five times the paper's, so that every time is five times shorter.
    small = {"dataset.n_features": 100, "dataset.n_test": 1000, "dataset.teacher_scale": (2 * 100) ** -0.5,
             "model.lr": 0.05}
    ratio = override_suite(_suite(RATIO), seeds=[0, 1], settings=small, cases=[
        {"label": "lambda 0.1", "dataset.n_train": 1000, "model.max_iter": 120, "model.eval_every": 1},
        {"label": "lambda 0.2", "dataset.n_train": 500, "model.max_iter": 200, "model.eval_every": 1},
        {"label": "lambda 0.5", "dataset.n_train": 200, "model.max_iter": 500, "model.eval_every": 1},
        {"label": "lambda 1.5", "dataset.n_train": 67, "model.max_iter": 600, "model.eval_every": 10}])
    threshold = override_suite(_suite(THRESHOLD), seeds=[0], settings={**small, "dataset.n_train": 200,
                                                                       "model.max_iter": 700},
                               grid={"model.epsilon": [1e-2, 1e-4]})
    decay = override_suite(_suite(WEIGHT_DECAY), seeds=[0], settings={**small, "dataset.n_train": 200,
                                                                      "model.max_iter": 600, "model.eval_every": 1},
                           cases=[{"label": "gamma 0", "model.prior_variance": float("inf")},
                                  {"label": "gamma 1e-5", "model.prior_variance": 2 / (1e-5 * 200)},
                                  {"label": "gamma 0.1", "model.prior_variance": 2 / (0.1 * 200)}])
    outputs = override_suite(_suite(OUTPUT), seeds=[0], settings={"dataset.n_features": 20, "dataset.n_train": 40,
                                                                  "dataset.n_test": 400, "model.lr": 0.05}, cases=[
        {"label": f"d_out {k}", "dataset.n_outputs": k, "dataset.teacher_scale": (2 * 20 * k) ** -0.5,
         "model.noise_variance": float(k), "model.init_scale": (2 * k) ** -0.5, "model.max_iter": steps,
         "model.eval_every": 10} for k, steps in ((1, 1000), (50, 8000), (700, 6000))])
    store = tmp_path_factory.mktemp("levi2023")
    run_suites([ratio, threshold, decay, outputs], store, n_jobs=1, progress=False)
    return store


def test_each_run_follows_its_exact_solution(small_store):
    from grokbeyond.harness import load_results

    histories, runs = load_results(small_store)
    run = runs[(runs["suite"] == RATIO) & (runs["case"] == "lambda 0.5")].iloc[0]
    curve, problem = exact_curve(run["config"])
    rows = histories[(histories["run_id"] == run["run_id"]) & (histories["split"] == "train")]
    exact = curve(rows["step"].to_numpy())
    np.testing.assert_allclose(rows["error"], exact["train_loss"], rtol=1e-8)
    np.testing.assert_array_equal(rows["threshold_accuracy"], exact["train_accuracy"])
    assert problem["student"].shape == (100, 1) and json.loads(run["config"])["model"]["init_scale"] > 0


def test_claims_and_page_from_a_small_store(small_store, tmp_path):
    out = write_paper_report("levi2023", small_store, report_dir=tmp_path)
    claims = out["claims"].set_index("claim")
    assert len(claims) == len(CLAIMS)
    holds = dict(zip([c.claim for c in CLAIMS], claims["holds"]))
    # Exact agreement, λ → 1, λ > 1, smoothness, ε, weight decay and the d_out peak hold at d_in = 100 too.
    for claim in CLAIMS[:1] + CLAIMS[2:]:
        assert holds[claim.claim] == "yes", (claim.claim, claims.loc[claim.claim, "measured"])
    assert "vs" in claims.loc[CLAIMS[1].claim, "measured"]
    page = (tmp_path / "README.md").read_text()
    for figure in ("curves.png", "ratio.png", "threshold.png", "weight_decay.png", "output_dimension.png"):
        assert f"]({figure})" in page and (tmp_path / figure).exists()
