from pathlib import Path

import pandas as pd
import pytest

from grokbeyond.reproduce import GPRegressionConfig, run_gp_regression
from grokbeyond.reproduce.gp_regression import infer_reference_noise

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_pipeline_writes_results_figures_and_report(tmp_path):
    config = GPRegressionConfig(max_iter=20, grid_size=8)
    out = run_gp_regression(config, results_dir=tmp_path, reference_dir=REFERENCE if REFERENCE.is_dir() else None,
                            verbose=False)
    histories = pd.read_parquet(tmp_path / "gp-regression" / "histories.parquet")
    assert set(histories["init"]) == {"A", "B", "C"} and histories["noise_init"].nunique() == 2
    assert len(pd.read_parquet(tmp_path / "gp-regression" / "landscape.parquet")) == 64
    page = (out["report_dir"] / "README.md").read_text()
    assert "## Runs" in page and "## Which noise the paper's code ran with" in page
    assert (out["report_dir"] / "landscape.png").exists() and (out["report_dir"] / "trajectories.png").exists()


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference is not beside the project")
def test_reference_landscape_was_computed_with_gpytorchs_default_noise():
    assert infer_reference_noise(REFERENCE) == pytest.approx(0.6931, abs=2e-3)
    assert infer_reference_noise(None) is None
