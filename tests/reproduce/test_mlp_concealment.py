from pathlib import Path

import pandas as pd

from grokbeyond.reproduce import MLPConcealmentConfig, run_mlp_concealment

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_pipeline_runs_both_samplings_and_reports(tmp_path):
    config = MLPConcealmentConfig(operations=("add",), concealed=(0, 10), seeds=(0,), epochs=2,
                                  hidden_size=16)
    reference = REFERENCE if REFERENCE.is_dir() else None
    out = run_mlp_concealment(config, results_dir=tmp_path, reference_dir=reference, verbose=False)
    runs = pd.read_parquet(tmp_path / "mlp-concealment" / "runs.parquet")
    assert len(runs) == 2 * 2 and (runs["status"] == "finished").all()
    histories = pd.read_parquet(tmp_path / "mlp-concealment" / "histories.parquet")
    # The leak-free runs share no (a, b) pair between train and test: checked on the data itself.
    assert set(histories["sampling"]) == {"with_replacement", "split"}
    assert histories["epoch"].max() == 2
    page = (out["report_dir"] / "README.md").read_text()
    assert "## The exponential fit of ln(gap) on m" in page and "leak-free" in page
    for name in ("gap_vs_m_with_replacement.png", "gap_vs_m_split.png", "trajectories_split.png"):
        assert (out["report_dir"] / name).exists()
    if reference is not None:
        assert "against the paper's code" in page


def test_leak_free_data_share_no_pairs():
    from grokbeyond.reproduce.mlp_concealment import _data

    config = MLPConcealmentConfig()
    leaky = _data(config, "add", 0, 0, "with_replacement")
    clean = _data(config, "add", 10, 0, "split")
    pairs = lambda X: {tuple(row[:14]) for row in X}  # noqa: E731 - the one-hot (a, b) part
    assert pairs(leaky.X_train) & pairs(leaky.X_test)
    assert not pairs(clean.X_train) & pairs(clean.X_test)
    assert len(clean.y_train) + len(clean.y_test) == 49
