import re
from pathlib import Path

import pandas as pd

from grokbeyond.reproduce import LinearDecoyConfig, run_linear_decoy

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def test_pipeline_writes_results_figures_and_report(tmp_path):
    config = LinearDecoyConfig(seeds=(0, 1), max_iter=40, alphas=(0.5, 1.0))
    out = run_linear_decoy(config, results_dir=tmp_path, reference_dir=REFERENCE if REFERENCE.is_dir() else None,
                           verbose=False)
    histories = pd.read_parquet(tmp_path / "linear-decoy" / "histories.parquet")
    assert set(histories["experiment"]) == {"E4", "E5-E6"}
    assert sorted(histories["alpha"].dropna().unique()) == [0.5, 1.0]
    page = (out["report_dir"] / "README.md").read_text()
    assert "## E4: per seed and on the seed-mean curve" in page and "## E5–E6" in page
    assert (out["report_dir"] / "gap_vs_alpha.png").exists() and (out["report_dir"] / "e4_trajectories.png").exists()
    # alpha = 1 starts at the generalising solution: no gap
    assert re.search(r"\|\s+1\s+\|\s+0\s+\|\s+0\s+\|\s+0\s+\|\s+comprehension", page)
