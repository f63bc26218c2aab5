from pathlib import Path

import pandas as pd
import pytest

from grokbeyond.reproduce import GPParityConfig, run_gp_parity
from grokbeyond.reproduce.gp_parity import load_reference, milestones

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gp-parity")
    config = GPParityConfig(seeds=(0, 1), n_bits=30, k=2, n_train=200, n_test=100, max_iter=40, lr=0.05,
                            ablation_seeds=(0,), cg_seeds=(0,), cg_max_iter=20)
    out = run_gp_parity(config, results_dir=root, reference_dir=REFERENCE if REFERENCE.is_dir() else None,
                        verbose=False)
    return root, out


def test_pipeline_writes_results_figures_and_report(small_run):
    root, out = small_run
    histories = pd.read_parquet(root / "gp-parity" / "histories.parquet")
    assert set(histories["variant"]) == {"E1", "E1b (no KL)", "E1, CG/Lanczos"}
    assert set(histories["seed"]) == {0, 1}
    grokking = pd.read_parquet(root / "gp-parity" / "grokking.parquet")
    assert len(grokking) == 4
    report = out["report_dir"]
    assert (report / "trajectories.png").exists() and (report / "ablation_no_kl.png").exists()
    page = (report / "README.md").read_text()
    for section in ("## Settings", "## Grokking per seed", "## Over seeds", "## Against the paper's own code",
                    "## Ablation: without the KL term", "## Why ours generalise earlier: the solver"):
        assert section in page
    assert out["summary"].n_runs == 2


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="shared/reference is not beside the project")
def test_reference_curves_and_their_landmarks():
    reference = load_reference(REFERENCE)
    s42 = reference[reference["source"] == "paper code, seed 42"]
    marks = milestones(s42, n_test=100)
    # shared/reference/README.md: validation first > 0.95 at step 73 for seed 42; KL/N peaks near 57.
    assert marks["test_gt_0.95"] == 73
    assert marks["peak_kl_step"] == 57
    assert marks["train_acc_1"] == 1


def test_missing_reference_is_skipped(tmp_path):
    assert load_reference(tmp_path) is None
    assert load_reference(None) is None
