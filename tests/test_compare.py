"""compare: one suite per family on the same data and seeds, run through the harness into one store."""

import numpy as np
import pytest
from sklearn.utils import Bunch
from typer.testing import CliRunner

from grokbeyond import compare
from grokbeyond.cli import app
from grokbeyond.harness import load_results
from grokbeyond.registry import family_names

# Tiny budgets: the point is the plumbing; each family's tests check its dynamics.
TINY = {
    "gp-classifier": {"max_iter": 4, "eval_every": 2},
    "gp-regressor": {"max_iter": 4, "eval_every": 2},
    "linear": {"max_iter": 20, "eval_every": 10},
    "logistic": {"max_iter": 20, "eval_every": 10},
    "mlp": {"hidden_size": 8, "max_iter": 20, "eval_every": 10},
    "bnn": {"hidden_size": 8, "max_iter": 20, "eval_every": 10, "n_predictive_samples": 2},
}
SMALL = {"n_bits": 8, "n_train": 60, "n_test": 30}
BUILTIN = family_names()[:6]


def test_every_family_runs_on_the_same_data_and_is_summarised(tmp_path):
    result = compare("sparse_parity", BUILTIN, seeds=[0, 1], dataset_params=SMALL, family_params=TINY,
                     results_dir=tmp_path)
    assert result.table["family"].tolist() == BUILTIN
    assert list(dict.fromkeys(result.histories["family"])) == BUILTIN  # the figure's rows, in the same order
    assert (result.table["runs"] == 2).all() and (result.table["failed"] == 0).all()
    assert set(result.histories["family"]) == set(BUILTIN)
    # One schema: every family has the core columns, accuracy included.
    for _, runs in result.histories.groupby("family"):
        runs = runs.dropna(axis=1, how="all")
        assert runs[["step", "split", "objective", "data_fit", "complexity", "accuracy"]].notna().all().all()
    # Regressors were fitted to ±1 labels; their accuracy is the sign accuracy.
    linear = result.histories[result.histories["family"] == "linear"]
    np.testing.assert_array_equal(linear["accuracy"], linear["sign_accuracy"])
    _, runs = load_results(tmp_path)
    assert set(runs["suite"]) == {f"compare-sparse_parity-{f}" for f in BUILTIN}
    assert runs.loc[runs["family"] == "linear", "dataset.signed_labels"].all()
    for name in ("table.csv", "comparison.png", "README.md"):
        assert (tmp_path / "report" / name).exists()
    assert "| family" in (tmp_path / "report" / "README.md").read_text()


def test_a_comparison_resumes_from_its_store(tmp_path):
    kwargs = dict(seeds=[0], dataset_params=SMALL, family_params={"logistic": TINY["logistic"]}, results_dir=tmp_path)
    compare("sparse_parity", ["logistic"], **kwargs)
    stamp = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.parquet")}
    compare("sparse_parity", ["logistic"], **kwargs)  # nothing left to run
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("*.parquet")} == stamp


def test_two_comparisons_in_one_store_are_never_pooled(tmp_path):
    kwargs = dict(seeds=[0, 1], dataset_params=SMALL, family_params={"logistic": TINY["logistic"]},
                  results_dir=tmp_path)
    plain = compare("sparse_parity", ["logistic"], **kwargs)
    concealed = compare("sparse_parity", ["logistic"], n_concealed=3, **kwargs)
    assert plain.table["runs"].tolist() == concealed.table["runs"].tolist() == [2]  # each its own runs
    assert not set(plain.runs["run_id"]) & set(concealed.runs["run_id"])
    from grokbeyond.report import write_comparison_report

    everything = write_comparison_report(tmp_path)  # the whole store: one row per setting
    assert everything.table["runs"].tolist() == [2, 2]
    assert sorted(everything.table["runs of"]) == ["logistic", "logistic, n_concealed=3"]


def test_user_data_as_arrays_or_a_bunch(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    arrays = (X[:40], y[:40], X[40:], y[40:])
    first = compare(arrays, ["logistic", "linear"], seeds=[0], family_params={k: TINY[k] for k in ("logistic", "linear")},
                    results_dir=tmp_path)
    assert (first.table["failed"] == 0).all() and len(list((tmp_path / "data").glob("*.npz"))) == 1
    bunch = Bunch(X_train=arrays[0], y_train=arrays[1], X_test=arrays[2], y_test=arrays[3])
    again = compare(bunch, ["logistic"], seeds=[0], family_params={"logistic": TINY["logistic"]},
                    results_dir=tmp_path)
    assert set(again.runs["run_id"]) <= set(first.runs["run_id"])  # the same data: the same runs, not run again


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"dataset": "mnist"}, ValueError, "unknown dataset"),
        ({"families": ["svm"]}, ValueError, "unknown family 'svm'"),
        ({"families": []}, ValueError, "must not be empty"),
        ({"family_params": {"mlp": {"depth": 3}}}, ValueError, "depth"),
        ({"family_params": {"bnn": {}}}, ValueError, "family_params"),
        ({"family_params": [1]}, TypeError, "family_params"),
        ({"dataset": "digits", "dataset_params": {"task": "multiclass"}, "families": ["linear"]}, ValueError,
         "regressor"),
        ({"dataset_params": {"n_bits": -1}}, ValueError, "n_bits"),
        ({"dataset": (1, 2)}, TypeError, "X_train"),
    ],
)
def test_bad_requests_are_named(kwargs, error, message, tmp_path):
    kwargs = {"families": ["mlp"], "seeds": [0], "results_dir": tmp_path, **kwargs}
    with pytest.raises(error, match=message):
        compare(**kwargs)
    assert not list(tmp_path.glob("*.parquet"))  # nothing ran


def test_cli_compare_writes_the_page(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, [
        "compare", "--dataset", "sparse_parity", "--families", "logistic,bnn", "--seeds", "0",
        "--set", "dataset.n_bits=8", "--set", "dataset.n_train=60", "--set", "dataset.n_test=30",
        "--set", "model.max_iter=20", "--set", "bnn.hidden_size=8", "--results-dir", str(tmp_path),
    ])
    assert result.exit_code == 0, result.output
    assert "2 runs, 0 failed" in result.output
    assert (tmp_path / "report" / "comparison.png").exists()
    bad = runner.invoke(app, ["compare", "--families", "mlp", "--set", "svm.C=1", "--results-dir", str(tmp_path)])
    assert bad.exit_code == 2 and "svm" in bad.output
    (tmp_path / "report" / "README.md").unlink()
    again = runner.invoke(app, ["compare", "--report-only", "--results-dir", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert (tmp_path / "report" / "README.md").exists()
    missing = runner.invoke(app, ["compare", "--report-only", "--results-dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no comparison store" in missing.output
