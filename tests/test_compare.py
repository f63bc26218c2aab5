import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from grokbeyond import compare
from grokbeyond.cli import app
from grokbeyond.compare import FAMILIES

# Tiny budgets: the point is the plumbing; test_*.py of each family tests its dynamics.
TINY = {
    "gp-classifier": {"max_iter": 4, "eval_every": 2},
    "gp-regressor": {"max_iter": 4, "eval_every": 2},
    "linear": {"max_iter": 20, "eval_every": 10},
    "logistic": {"max_iter": 20, "eval_every": 10},
    "mlp": {"hidden_size": 8, "max_iter": 20, "eval_every": 10},
    "bnn": {"hidden_size": 8, "max_iter": 20, "eval_every": 10, "n_predictive_samples": 2},
}
SMALL = {"n_bits": 8, "n_train": 60, "n_test": 30}


def test_every_family_runs_on_the_same_data_and_is_summarised(tmp_path):
    result = compare("parity", list(FAMILIES), seeds=[0, 1], dataset_params=SMALL, family_params=TINY,
                     out_dir=tmp_path)
    assert result.table["family"].tolist() == list(FAMILIES)
    assert (result.table["runs"] == 2).all() and (result.table["failed"] == 0).all()
    assert set(result.histories["family"]) == set(FAMILIES)
    # One schema: every family records the same core columns, accuracy included.
    for _, runs in result.histories.groupby("family"):
        assert runs[["step", "split", "objective", "data_fit", "complexity", "accuracy"]].notna().all().all()
    # Regressors were fitted to ±1 labels; their accuracy is the sign accuracy.
    linear = result.histories[result.histories["family"] == "linear"]
    np.testing.assert_array_equal(linear["accuracy"], linear["sign_accuracy"])
    for name in ("histories.parquet", "runs.parquet", "table.csv", "comparison.png", "README.md", "settings.json"):
        assert (tmp_path / name).exists()
    page = (tmp_path / "README.md").read_text()
    assert "| family" in page and "bnn" in page
    stored = pd.read_parquet(tmp_path / "histories.parquet")
    assert len(stored) == len(result.histories)


def test_same_seed_same_data_across_families():
    result = compare("digits", ["logistic", "mlp"], seeds=[3], dataset_params={"n_train": 50, "n_test": 40},
                     family_params={k: TINY[k] for k in ("logistic", "mlp")})
    steps0 = result.histories[(result.histories["step"] == 0) & (result.histories["split"] == "train")]
    assert len(steps0) == 2  # one row per family at step 0, fitted on the same 50 images
    assert result.settings["dataset_params"]["task"] == "binary"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"dataset": "mnist"}, ValueError, "unknown dataset"),
        ({"families": ["svm"]}, ValueError, "unknown families"),
        ({"families": []}, ValueError, "must not be empty"),
        ({"family_params": {"mlp": {"depth": 3}}}, ValueError, "depth"),
        ({"family_params": {"bnn": {}}}, ValueError, "family_params"),
        ({"family_params": [1]}, TypeError, "family_params"),
        ({"dataset": "digits-multiclass", "families": ["linear"]}, ValueError, "regressor"),
        ({"dataset_params": {"n_bits": -1}}, ValueError, "n_bits"),
    ],
)
def test_bad_requests_are_named(kwargs, error, message):
    kwargs = {"families": ["mlp"], "seeds": [0], **kwargs}
    with pytest.raises(error, match=message):
        compare(**kwargs)


def test_cli_compare_writes_the_page(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, [
        "compare", "--dataset", "parity", "--families", "logistic,bnn", "--seeds", "0",
        "--set", "dataset.n_bits=8", "--set", "dataset.n_train=60", "--set", "dataset.n_test=30",
        "--set", "logistic.max_iter=20", "--set", "bnn.max_iter=20", "--set", "bnn.hidden_size=8",
        "--out", str(tmp_path),
    ])
    assert result.exit_code == 0, result.output
    assert "2 runs, 0 failed" in result.output
    assert (tmp_path / "comparison.png").exists()
    bad = runner.invoke(app, ["compare", "--families", "mlp", "--set", "svm.C=1", "--out", str(tmp_path)])
    assert bad.exit_code != 0 and "svm" in bad.output
    (tmp_path / "README.md").unlink()
    again = runner.invoke(app, ["compare", "--report-only", "--out", str(tmp_path)])
    assert again.exit_code == 0, again.output
    assert "Parallel" not in again.output and (tmp_path / "README.md").exists()
    missing = runner.invoke(app, ["compare", "--report-only", "--out", str(tmp_path / "none")])
    assert missing.exit_code != 0 and "no stored comparison" in missing.output
