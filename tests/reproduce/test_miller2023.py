import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from grokbeyond.harness import expand_suite, load_results, make_run, override_suite, run_suites
from grokbeyond.reproduce import claims_table, get_paper, suite_results, write_paper_report
from grokbeyond.reproduce.miller2023 import SUITES
from grokbeyond.reproduce.miller2023 import reference as ref
from grokbeyond.reproduce.miller2023.claims import CLAIMS, DETECTION

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"
PAPER = get_paper("miller2023")


def miller2023_suites(quick=False):
    return PAPER.suites(quick=quick)


def _claims(histories, runs):
    by_suite = {suite: suite_results(histories, runs, suite, detection) for suite, detection in DETECTION.items()}
    return claims_table(CLAIMS, by_suite)


def write_miller2023_report(store, **kwargs):
    return write_paper_report("miller2023", store, **kwargs)


def _runs(suites):
    return {suite["name"]: expand_suite(suite) for suite in suites}


def test_the_suites_hold_the_papers_settings_and_seeds():
    runs = _runs(miller2023_suites())
    assert list(runs) == list(SUITES) and set(DETECTION) == set(SUITES)
    counts = {name: len(r) for name, r in runs.items()}
    assert counts["miller2023-e1-gp-parity"] == 5 and counts["miller2023-e11-bnn-init-scale"] == 15
    assert counts["miller2023-e8-mlp-concealment"] == counts["miller2023-e8-mlp-concealment-leak-free"] == 90
    assert counts["miller2023-e5-linear-decoy-init"] == 17 * 5
    assert {r["seed"] for r in runs["miller2023-e1-gp-parity"]} == {42, 52, 62, 72, 82}

    data, mlp = make_run(runs["miller2023-e8-mlp-concealment"][-1])  # xyx, m = 40, seed 2
    assert data.X_train.shape == (600, 14 + 40) and data.X_test.shape == (200, 54)
    assert (mlp.max_iter, mlp.eval_every, mlp.hidden_size, mlp.weight_decay) == (500 * 19, 19, 1000, 0.01)
    data, _ = make_run(runs["miller2023-e8-mlp-concealment-leak-free"][0])
    assert len(data.y_train) + len(data.y_test) == 49

    data, linear = make_run(runs["miller2023-e4-linear-decoy"][3])  # seed 3: the paper code's inputs
    np.testing.assert_array_equal(data.X_train[:, 0], np.random.RandomState(3).uniform(-0.5, 0.5, 100)[:2])
    assert linear.weight_init == [0.0005, 0.9, 0.9, 0.9]
    alphas = sorted({r["model"]["weight_init"][0] for r in runs["miller2023-e5-linear-decoy-init"]})
    np.testing.assert_allclose(alphas, sorted(np.concatenate([np.logspace(-1.8, 0, 12), np.logspace(-3, -1, 5)])))
    _, no_prior = make_run(runs["miller2023-e7-linear-decoy-no-prior"][0])
    assert no_prior.prior_variance == np.inf and no_prior.max_iter == 10**6

    starts = {r["case"]: r["model"] for r in runs["miller2023-e3-gp-regression"] if r["model"]["initial_noise"] == 0.01}
    assert np.log([starts["B"]["initial_lengthscale"], starts["B"]["initial_outputscale"]]) == pytest.approx([-6, 4])


def test_quick_suites_are_the_same_experiments_smaller():
    full, quick = _runs(miller2023_suites()), _runs(miller2023_suites(quick=True))
    assert list(quick) == list(full)
    for name in full:
        assert 0 < len(quick[name]) <= len(full[name])
        assert max(r["model"]["max_iter"] for r in quick[name]) <= max(r["model"]["max_iter"] for r in full[name])
        assert {r["dataset"]["name"] for r in quick[name]} == {r["dataset"]["name"] for r in full[name]}
    assert sum(map(len, quick.values())) <= 60 < sum(map(len, full.values()))
    # A subset of the paper runs with --experiments.
    assert [s["experiment"] for s in PAPER.suites(experiments=["e1", "E3"])] == ["E1", "E3"]
    with pytest.raises(ValueError, match="E99"):
        PAPER.suites(experiments=["E99"])


def _tiny(suite):
    """Each suite cut to one or two runs of a few steps, so the whole pipeline runs in seconds."""
    name = suite["name"]
    settings = {"model.max_iter": 6}
    if "gp-parity" in name or "cg-lanczos" in name:
        settings.update({"dataset.n_train": 60, "dataset.n_test": 30})
    if "e8" in name:
        settings.update({"model.hidden_size": 16, "model.max_iter": 2 * 19})
    if "e11" in name:
        settings.update({"dataset.n_train": 64, "model.hidden_size": 8, "model.max_iter": 2 * 32,
                         "dataset.n_test": 32})
    grid = {key: values[:2] for key, values in suite["grid"].items()}
    if "dataset.operation" in grid:
        grid["dataset.operation"] = ["add"]
    return override_suite(suite, seeds=suite["seeds"][:1], settings=settings, grid=grid,
                          cases=suite["cases"][:2] or None)


def test_pipeline_writes_the_claims_table_and_every_figure(tmp_path):
    suites = [_tiny(s) for s in miller2023_suites()]
    store = tmp_path / "miller2023"
    summary = run_suites(suites, store, progress=False)
    assert summary.n_failed == 0
    (store / "sweeps.json").write_text(json.dumps([{"quick": True, "n_jobs": 1, "wall_time_s": 1.0}]))
    out = write_miller2023_report(store, reference_dir=REFERENCE if REFERENCE.is_dir() else None)
    claims = out["claims"]
    assert {"E1", "E1b", "E2", "E3, noise ln 2 (as the code ran)", "E3, noise 0.01 (as the paper states)", "E4",
            "E5–E6", "E7", "E8", "E8, leak-free", "E11"} <= set(claims["experiment"])
    assert set(claims["holds"]) <= {"yes", "no", "not run"}
    assert (claims.loc[claims["experiment"] != "E9, E10", "holds"] != "not run").all()
    page = (out["report_dir"] / "README.md").read_text()
    assert page.startswith("# Miller, O'Neill & Bui (2023)") and "(quick)" in page and "## Claims" in page
    figures = ["e1.png", "e1_cg_lanczos.png", "e2.png", "e3.png", "e3_landscape.png", "e4.png", "e5_gap_vs_alpha.png",
               "e7.png", "e8_gap_vs_m.png", "e8_with_replacement.png", "e8_leak_free.png", "e11.png",
               "e11_gap_vs_sigma.png", "error_complexity.png"]
    if REFERENCE.is_dir():  # the paper code's curves beside ours
        figures += ["e1_paper_code.png", "e1b_paper_code.png", "e3_paper_code.png", "e11_seed0_sigma0.1.png"]
    for figure in figures:
        assert (out["report_dir"] / figure).exists(), figure
        assert f"]({figure})" in page
    assert pd.read_csv(out["report_dir"] / "claims.csv").shape[0] == len(claims)

    # The command line rewrites the page from the store, training nothing.
    from typer.testing import CliRunner

    from grokbeyond.cli import app

    result = CliRunner().invoke(app, ["reproduce", "miller2023", "--report-only", "--results-dir", str(tmp_path),
                                      "--report-dir", str(tmp_path / "page")])
    assert result.exit_code == 0, result.output
    assert "E8, leak-free" in result.output and (tmp_path / "page" / "e11.png").exists()
    missing = CliRunner().invoke(app, ["reproduce", "miller2023", "--report-only", "--quick", "--results-dir",
                                       str(tmp_path)])
    assert missing.exit_code == 2 and "no miller2023 store" in missing.output


def _history(t_memorise, t_generalise, n_steps, **columns):
    """A synthetic run: train accuracy jumps to 1 at t_memorise, test at t_generalise (None: never)."""
    steps = np.arange(n_steps)
    rows = []
    for split, t in (("train", t_memorise), ("test", t_generalise)):
        accuracy = np.where(steps >= (n_steps + 1 if t is None else t), 1.0, 0.5)
        rows.append(pd.DataFrame({"step": steps, "split": split, "accuracy": accuracy,
                                  "complexity": 1.0, "data_fit": 1.0, **columns}))
    return pd.concat(rows, ignore_index=True)


def _store(runs):
    """``(histories, runs)`` as load_results gives them, for E8-like runs ``(run_id, m, seed, t_gen)``."""
    histories, meta = [], []
    for run_id, m, seed, t_gen in runs:
        histories.append(_history(2, t_gen, 400).assign(run_id=run_id))
        meta.append({"run_id": run_id, "suite": "miller2023-e8-mlp-concealment", "status": "finished", "seed": seed,
                     "dataset.n_concealed": m, "dataset.operation": "add", "model.eval_every": 1})
    return pd.concat(histories, ignore_index=True), pd.DataFrame(meta)


def test_the_e8_claim_holds_for_exponential_growth_and_fails_without_it():
    growing = [(f"r{m}{s}", m, s, 2 + int(3 * np.exp(0.1 * m + 0.1 * s))) for m in (0, 10, 20, 30) for s in (0, 1, 2)]
    table = _claims(*_store(growing)).set_index("experiment")
    assert table.loc["E8", "holds"] == "yes" and "e^(0.1" in table.loc["E8", "measured"]
    assert table.loc["E8, leak-free", "holds"] == "not run"
    flat = [(f"r{m}{s}", m, s, 40 + 5 * s) for m in (0, 10, 20, 30) for s in (0, 1, 2)]
    assert _claims(*_store(flat)).set_index("experiment").loc["E8", "holds"] == "no"
    never = [(f"r{m}{s}", m, s, None) for m in (0, 10, 20, 30) for s in (0, 1, 2)]
    row = _claims(*_store(never)).set_index("experiment").loc["E8"]
    assert row["holds"] == "no" and "not fitted" in row["measured"]


def test_report_needs_a_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results store"):
        write_miller2023_report(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
    with pytest.raises(ValueError, match="holds no runs"):
        write_miller2023_report(tmp_path)


def test_a_store_of_other_suites_reports_every_claim_as_not_run(tmp_path):
    suite = {"name": "other", "seeds": [0], "dataset": {"name": "decoy_linear"},
             "model": {"family": "linear", "max_iter": 3}}
    run_suites([suite], tmp_path, progress=False)
    histories, runs = load_results(tmp_path)
    assert set(_claims(histories, runs)["holds"]) == {"not run"}


def test_rank_trend_interval_is_finite_when_resamples_repeat_one_setting():
    from grokbeyond.reproduce import spearman_ci as _spearman_ci

    rho, low, high = _spearman_ci([0.1, 0.3, 0.5, 0.7, 1.0], [19, 83, 206, 318, 402])
    assert rho == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)
    rho, low, high = _spearman_ci([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 4, 3, 6, 5, 8, 7])
    assert low < rho < high <= 1.0 and low > 0
    assert np.isnan(_spearman_ci([1, 1, 1], [1, 2, 3])[0])


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="needs ../shared/reference")
def test_the_paper_codes_runs_read_as_histories():
    e1 = ref.e1_curves(REFERENCE)
    assert set(e1["source"]) == {"paper code, seed 42", "paper code, seed 52", "paper code, seed 42, no KL"}
    assert set(e1["split"]) == {"train", "test"} and e1["step"].max() == 499
    # The E3 grid's complexity term at the smallest lengthscale gives gpytorch's default noise, ln 2.
    assert ref.e3_noise(REFERENCE) == pytest.approx(np.log(2), rel=1e-3)
    assert ref.e5_gaps(REFERENCE)["gap"].iloc[0] > 500
    assert set(ref.e8_curves(REFERENCE)["dataset.n_concealed"]) == {0, 10, 20, 30, 40}
    assert set(ref.e11_curves(REFERENCE)["model.init_scale"]) == {0.1, 1.0}
    assert ref.e1_curves(REFERENCE / "missing") is None
