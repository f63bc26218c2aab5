import json

import numpy as np
import pandas as pd
import pytest

from grokbeyond.harness import expand_suite, make_run, override_suite, run_suites
from grokbeyond.reproduce import available_papers, get_paper, write_paper_report
from grokbeyond.reproduce.delay_law import SUITES
from grokbeyond.reproduce.delay_law.claims import CLAIMS, DETECTION, FAMILIES, delay_table, family_fit
from grokbeyond.theory import norm_delay

PAPER = get_paper("delay-law")


def _suite(name):
    return next(s for s in PAPER.suites() if s["name"] == name)


def test_the_study_is_found_by_its_hyphenated_name():
    assert "delay-law" in available_papers() and PAPER.module == "grokbeyond.reproduce.delay_law"
    assert PAPER.suite_names() == list(SUITES) and set(DETECTION) == set(SUITES) == {f.suite for f in FAMILIES}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.suite)
def test_each_family_sweeps_a_4_by_4_log_grid_of_its_decay(family):
    runs = expand_suite(_suite(family.suite))
    frame = pd.json_normalize([{"model": r["model"], "dataset": r["dataset"]} for r in runs], sep=".")
    frame["config"] = [json.dumps(r) for r in runs]
    rates = family.decay(frame) * frame["model.lr"]
    assert frame["model.lr"].nunique() == 4 and family.decay(frame).nunique() == 4
    assert rates.max() / rates.min() >= 30 and len(runs) >= 48  # ≥ 3 seeds per cell
    # Every cell's budget is at least the 1/(lr·decay) steps the law gives it.
    assert (frame["model.max_iter"] * rates).min() >= 1.0
    make_run(runs[0])  # every suite builds


def _synthetic(kappa=0.6, target=3.0, scatter=0.0, seed=0):
    """Runs whose delays obey the norm law exactly (up to scatter), on a 4 × 4 grid."""
    rng = np.random.default_rng(seed)
    rows, history = [], []
    for i, lr in enumerate([0.1, 0.2, 0.4, 0.8]):
        for j, wd in enumerate([1e-3, 2e-3, 4e-3, 8e-3]):
            for s in range(3):
                run_id = f"r{i}{j}{s}"
                norm_mem = rng.uniform(50, 200)
                t_mem = 100
                delay = norm_delay(norm_mem, lr, wd, kappa=kappa, target=target) * np.exp(rng.normal(0, scatter))
                t_gen = t_mem + round(delay)
                rows.append({"run_id": run_id, "seed": s, "model.lr": lr, "model.weight_decay": wd,
                             "t_memorise": t_mem, "t_generalise": t_gen})
                for step, norm in ((0, 400.0), (t_mem, norm_mem), (t_gen, target), (t_gen + 1000, 1.0)):
                    history.append({"run_id": run_id, "step": step, "split": "train", "weight_norm": norm**0.5})
    return pd.DataFrame(history), pd.DataFrame(rows)


def test_delay_table_and_fit_recover_a_known_law():
    history, results = _synthetic()
    table = delay_table("delay-law-mlp", history, results)
    assert len(table) == 48 and table["calibration"].sum() == 24
    assert table["delay"].min() > 0 and np.allclose(table["norm_sq_final"], 1.0)
    fit = family_fit(table)
    assert fit["slope"].low <= -1 <= fit["slope"].high
    assert fit["kappa"] == pytest.approx(0.6, rel=1e-3) and fit["target"] == pytest.approx(3.0, rel=1e-2)
    assert fit["mape"] < 0.01 and fit["n_held_out"] == 24
    # The checkerboard: no grid cell is on both sides.
    cells = table.groupby(["lr", "decay"])["calibration"].nunique()
    assert (cells == 1).all()


def test_a_noisy_law_misses_the_neural_figure():
    history, results = _synthetic(scatter=0.5, seed=1)
    fit = family_fit(delay_table("delay-law-logistic", history, results))
    assert fit["mape"] > 0.177


@pytest.fixture(scope="module")
def small_store(tmp_path_factory):
    l2 = override_suite(_suite("delay-law-linear-l2"), seeds=[0, 1, 2], cases=[
        {"label": f"lr {lr:g}, gamma {1 / s2:g}", "model.lr": lr, "model.prior_variance": s2,
         "model.max_iter": int(20 * s2 / lr)} for lr in (5e-4, 1e-3) for s2 in (0.25, 0.125)])
    logistic = override_suite(_suite("delay-law-logistic"), seeds=[0, 1], settings={"dataset.n_test": 1000}, cases=[
        {"label": f"lr {lr:g}, wd {wd:g}", "model.lr": lr, "model.weight_decay": wd, "model.max_iter": int(8 / (lr * wd))}
        for lr in (2.0, 4.0) for wd in (2e-3, 4e-3)])
    store = tmp_path_factory.mktemp("delay-law")
    run_suites([l2, logistic], store, n_jobs=1, progress=False)
    return store


def test_claims_and_page_from_a_small_store(small_store, tmp_path):
    out = write_paper_report("delay-law", small_store, report_dir=tmp_path)
    claims = out["claims"]
    assert len(claims) == len(CLAIMS) == 2 * len(FAMILIES)
    measured = dict(zip([(c.suite, i % 2) for i, c in enumerate(CLAIMS)], claims["measured"]))
    for suite in ("delay-law-linear-l2", "delay-law-logistic"):
        assert measured[(suite, 0)].startswith("slope ") and "MAPE" in measured[(suite, 1)]
    assert (claims["holds"] == "not run").sum() == 6  # ℓ1, MLP and BNN are not in this store
    page = (tmp_path / "README.md").read_text()
    for figure in ("overlay.png", "delay-law-linear-l2.png", "delay-law-logistic.png"):
        assert f"]({figure})" in page and (tmp_path / figure).exists()
