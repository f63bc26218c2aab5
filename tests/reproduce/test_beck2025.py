import numpy as np
import pandas as pd
import pytest

from grokbeyond.harness import expand_suite, make_run, override_suite, run_suites
from grokbeyond.reproduce import get_paper, write_paper_report
from grokbeyond.reproduce.beck2025 import SUITES
from grokbeyond.reproduce.beck2025.claims import CLAIMS, DAS, DETECTION, NOISE, RATIO, das_table
from grokbeyond.theory import origin_margin

PAPER = get_paper("beck2025")


def _suite(name):
    return next(s for s in PAPER.suites() if s["name"] == name)


def test_the_suites_hold_the_papers_settings():
    assert PAPER.suite_names() == list(SUITES) and set(DETECTION) == set(SUITES)
    runs = expand_suite(_suite(RATIO))
    ratios = sorted({r["dataset"]["n_features"] / r["dataset"]["n_train"] for r in runs})
    assert ratios[0] == 0.2 and max(r for r in ratios if r < 0.5) == 0.47 and ratios[-1] == 0.6
    data, model = make_run(runs[0])
    # The constant-label model with a bias: no intercept (the axis weight is the bias), no decay, from zero.
    assert not model.fit_intercept and model.weight_decay == 0 and model.init_scale == 0 and model.lr == 0.1
    assert data.X_train.shape[1] == runs[0]["dataset"]["n_features"] + 1
    das = expand_suite(_suite(DAS))
    assert {r["dataset"]["test_split"] for r in das} == {"iid", "concentrated"}
    assert all(r["model"]["fit_intercept"] and r["model"]["lr"] == 20.0 for r in das)  # η = 1e-2 × N = 2000


def test_das_table_reads_zeta_at_one_percent_of_the_best_accuracy():
    steps = np.array([0, 1, 10, 100, 1000])
    history = pd.DataFrame({"run_id": "r", "step": np.tile(steps, 2), "split": ["train"] * 5 + ["test"] * 5,
                            "accuracy": [0.5, 0.995, 1.0, 1.0, 1.0, 0.5, 0.6, 0.7, 0.9, 0.991]})
    results = pd.DataFrame({"run_id": ["r"], "seed": [0], "dataset.test_split": ["concentrated"]})
    row = das_table(history, results).iloc[0]
    assert row["t_train"] == 1 and row["t_test"] == 1000 and row["zeta"] == 1000


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    small = {"dataset.n_train": 200, "dataset.n_test": 2000}
    ratio = override_suite(_suite(RATIO), seeds=[0, 1], settings=small, cases=[
        {"label": f"lambda {r:g}", "dataset.n_features": int(r * 200), "model.max_iter": steps}
        for r, steps in ((0.2, 300), (0.3, 600), (0.35, 4000), (0.7, 1000))])
    noise = override_suite(_suite(NOISE), seeds=[0, 1], settings={**small, "dataset.n_features": 80}, cases=[
        {"label": f"sigma {s:g}", "dataset.noise_scale": s, "model.max_iter": steps}
        for s, steps in ((0.5, 300), (1.0, 500), (3.0, 3000))])
    das = override_suite(_suite(DAS), seeds=[0], settings={"dataset.n_train": 400, "dataset.n_test": 400,
                                                           "model.max_iter": 3000})
    store = tmp_path_factory.mktemp("beck2025")
    run_suites([ratio, noise, das], store, n_jobs=1, progress=False)
    return store


def test_claims_and_page_from_a_small_store(small_store, tmp_path):
    out = write_paper_report("beck2025", small_store, report_dir=tmp_path)
    claims = out["claims"]
    assert len(claims) == len(CLAIMS)
    holds = dict(zip([c.claim for c in CLAIMS], claims["holds"]))
    measured = dict(zip([c.claim for c in CLAIMS], claims["measured"]))
    # Wendel's count, prop. 3.2 (λ = 0.7 at σ = 5 ends near its limit, far below 95%), the divergence,
    # the noise scale and the i.i.d. split hold at N = 200 too.
    for claim in CLAIMS[:5]:
        assert holds[claim.claim] == "yes", measured[claim.claim]
    assert "separable training sets: λ = 0.2: 0/2" in measured[CLAIMS[0].claim]
    page = (tmp_path / "README.md").read_text()
    for figure in ("curves.png", "delay.png", "separability.png", "noise.png", "das.png"):
        assert f"]({figure})" in page and (tmp_path / figure).exists()


def test_each_runs_separability_is_its_training_sets(small_store):
    from grokbeyond.harness import load_results
    from grokbeyond.reproduce import suite_results
    from grokbeyond.reproduce.beck2025.claims import run_table

    histories, runs = load_results(small_store)
    history, results = suite_results(histories, runs, RATIO, DETECTION[RATIO])
    table = run_table(history, results)
    for _, run in results.iterrows():
        data, _ = make_run(__import__("json").loads(run["config"]))
        row = table.set_index("run_id").loc[run["run_id"]]
        assert row["separable"] == (origin_margin(data.signed_noise) > 0)
    assert table.loc[table["ratio"] == 0.7, "separable"].all() and not table.loc[table["ratio"] < 0.5, "separable"].any()


def test_run_table_maps_a_separation_to_the_constant_label_model():
    # Two Gaussians at μ = 2 are the constant-label model with σ = σ_B/μ and margin M/μ; the limit is the
    # max-margin classifier's accuracy, solved directly on y·x (no intercept): Φ(w₀μ / (σ_B ‖w⊥‖)).
    import json

    from scipy import optimize, stats

    from grokbeyond.datasets import make_two_gaussians
    from grokbeyond.reproduce.beck2025.claims import run_table

    for seed in range(40):
        dataset = {"name": "two_gaussians", "n_features": 6, "n_train": 10, "n_test": 4, "separation": 2.0,
                   "noise_scale": 1.5}
        data = make_two_gaussians(**{k: v for k, v in dataset.items() if k != "name"}, random_state=seed)
        if origin_margin(data.signed_noise) > 0:
            break
    signed = (2 * data.y_train - 1)[:, None] * data.X_train
    w = optimize.minimize(lambda w: w @ w, np.ones(7), jac=lambda w: 2 * w, method="SLSQP",
                          constraints={"type": "ineq", "fun": lambda w: signed @ w - 1, "jac": lambda w: signed},
                          options={"ftol": 1e-12, "maxiter": 500}).x
    expected = stats.norm.cdf(w[0] * 2.0 / (1.5 * np.linalg.norm(w[1:])))
    config = {"dataset": dataset, "model": {"family": "logistic"}, "seed": seed}
    results = pd.DataFrame({"run_id": ["r"], "seed": [seed], "config": [json.dumps(config)],
                            "dataset.noise_scale": [1.5], "dataset.n_features": [6], "dataset.n_train": [10],
                            "t_memorise": [1.0], "t_generalise": [np.nan], "max_step": [10]})
    history = pd.DataFrame({"run_id": "r", "step": [0, 10], "split": "test", "accuracy": [0.5, 0.6]})
    row = run_table(history, results).iloc[0]
    assert row["separable"] and row["noise_scale"] == 0.75
    assert row["limit"] == pytest.approx(expected, abs=1e-4)
