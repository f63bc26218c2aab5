"""The authors' code's runs (``shared/reference/mallinar2025``) as tidy histories.

``rfm_p61_seed{0,1}.csv``: one row per iteration ``iter`` (the metric after ``iter``
updates, as our ``step``), train and test accuracy and MSE, and the trace of the metric
*after* that iteration's update (our ``trace_M`` of step ``iter + 1``). Returns
``None`` when the files are missing, so a page is written without the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["rfm_curves"]


def rfm_curves(reference_dir) -> pd.DataFrame | None:
    """``source, seed, step, split, accuracy, loss, correct_class_loss, trace_M, wall_s``."""
    frames = []
    for seed in (0, 1):
        path = None if reference_dir is None else Path(reference_dir) / "mallinar2025" / f"rfm_p61_seed{seed}.csv"
        if path is None or not path.exists():
            return None
        raw = pd.read_csv(path)
        for split, prefix in (("train", "train_"), ("test", "test_")):
            frames.append(pd.DataFrame({
                "source": f"authors' code, seed {seed}", "seed": seed, "step": raw["iter"], "split": split,
                "accuracy": raw[prefix + "acc"], "loss": raw[prefix + "loss"],
                "correct_class_loss": raw[prefix + "correct_logit_loss"],
                # trace after the update of iteration t = trace of the metric of step t + 1
                "trace_M_next": raw["agop_trace_M_after_update"], "wall_s": raw["wall_s"],
            }))
    return pd.concat(frames, ignore_index=True)
