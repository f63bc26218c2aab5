from pathlib import Path

import pandas as pd

from grokbeyond.reproduce import BNNInitScaleConfig, run_bnn_init_scale, write_bnn_init_scale_report

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_pipeline_writes_results_figures_and_report(tmp_path):
    config = BNNInitScaleConfig(sigmas=(0.1, 1.0), seeds=(0,), epochs=3, n_bits=10, n_train=96, n_test=40,
                                hidden_size=16)
    reference = REFERENCE if REFERENCE.is_dir() else None
    out = run_bnn_init_scale(config, results_dir=tmp_path, reference_dir=reference, verbose=False)
    histories = pd.read_parquet(tmp_path / "bnn-init-scale" / "histories.parquet")
    # One row per epoch and split, epochs 0..3, steps at epoch boundaries (3 steps per epoch).
    assert sorted(histories["epoch"].unique()) == [0, 1, 2, 3]
    assert (histories["step"] == 3 * histories["epoch"]).all()
    assert set(histories["sigma"]) == {0.1, 1.0}
    page = (out["report_dir"] / "README.md").read_text()
    assert "## The gap against σ" in page
    for name in ("trajectories_by_sigma.png", "gap_vs_sigma.png"):
        assert (out["report_dir"] / name).exists()
    if reference is not None:
        assert "authors' stored runs" in page and (out["report_dir"] / "seed0_sigma1.png").exists()
    # The report is rewritten from the stored results alone.
    (out["report_dir"] / "README.md").unlink()
    write_bnn_init_scale_report(tmp_path / "bnn-init-scale", reference_dir=reference)
    assert (tmp_path / "bnn-init-scale" / "report" / "README.md").exists()
