"""The paper code's runs (``shared/reference``) as tidy histories, to draw beside ours.

Each loader returns ``None`` when its file is missing, so a page is written without the
comparison rather than not at all. Steps of the GP and linear runs are 0-indexed with
step t's values computed before the t-th update, as ours; E8 and E11 count epochs.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

__all__ = ["e1_curves", "e2_curves", "e3_noise", "e3_trajectories", "e4_curves", "e5_gaps", "e8_curves",
           "e11_curves", "e11_stored_gaps"]


def _read(reference_dir, name) -> pd.DataFrame | None:
    path = None if reference_dir is None else Path(reference_dir) / name
    return pd.read_csv(path) if path is not None and path.exists() else None


def _splits(raw, common: dict, columns: dict) -> pd.DataFrame:
    """Train and test rows from a file with one column per split (``columns``: split -> {ours: theirs})."""
    frames = [pd.DataFrame({**common, "split": split, **{ours: raw[theirs] for ours, theirs in pairs.items()}})
              for split, pairs in columns.items()]
    return pd.concat(frames, ignore_index=True)


def e1_curves(reference_dir) -> pd.DataFrame | None:
    """E1 (seeds 42, 52) and E1b (seed 42, no KL): ``source, variant, step, split, accuracy,
    data_fit, kl, complexity, objective`` (``kl`` the KL/N whether or not it is in the objective)."""
    frames = []
    for source, variant, name in (("paper code, seed 42", "E1", "gpc_parity_s42.csv"),
                                  ("paper code, seed 52", "E1", "gpc_parity_s52.csv"),
                                  ("paper code, seed 42, no KL", "E1b", "gpc_parity_nokl_s42.csv")):
        raw = _read(reference_dir, name)
        if raw is None:
            return None
        common = {"source": source, "variant": variant, "step": raw["step"], "data_fit": raw["neg_exp_loglik_over_n"],
                  "kl": raw["kl_over_n"], "complexity": 0.0 if variant == "E1b" else raw["kl_over_n"],
                  "objective": raw["train_objective_over_n"]}
        frames.append(_splits(raw, common, {"train": {"accuracy": "train_acc"}, "test": {"accuracy": "val_acc"}}))
    return pd.concat(frames, ignore_index=True)


def e2_curves(reference_dir) -> pd.DataFrame | None:
    """E2, five seeds: ``source, seed, step, split, accuracy, data_fit, complexity``."""
    raw = _read(reference_dir, "gpc_toy_per_seed.csv")
    if raw is None:
        return None
    common = {"source": "paper code", "seed": raw["seed"], "step": raw["step"],
              "data_fit": raw["neg_exp_loglik_over_n"], "complexity": raw["kl_over_n"]}
    return _splits(raw, common, {"train": {"accuracy": "train_acc"}, "test": {"accuracy": "val_acc"}})


def e3_trajectories(reference_dir) -> pd.DataFrame | None:
    """E3 from A, B, C: ``source, case, step, split, error (MSE), log_lengthscale, log_outputscale,
    data_fit, complexity``."""
    raw = _read(reference_dir, "gpr_landscape_trajectories.csv")
    if raw is None:
        return None
    common = {"source": "paper code", "case": raw["init_label"], "step": raw["step"],
              "log_lengthscale": raw["log_lengthscale"], "log_outputscale": raw["log_outputscale"],
              "data_fit": raw["datafit_over_n"], "complexity": raw["complexity_over_n"]}
    return _splits(raw, common, {"train": {"error": "train_mse"}, "test": {"error": "val_mse"}})


def e3_noise(reference_dir) -> float | None:
    """The noise variance the paper code's E3 landscape grid was computed with.

    At the grid's smallest lengthscale the kernel matrix is ``σ_f² I`` to machine
    precision for distinct inputs, so the complexity term is ``½ log(σ_f² + σ²)``
    whatever the data; inverting it at the smallest outputscale gives σ².
    """
    grid = _read(reference_dir, "gpr_landscape_grid.csv")
    if grid is None:
        return None
    corner = grid[grid["log_lengthscale"] == grid["log_lengthscale"].min()]
    corner = corner.loc[corner["log_outputscale"].idxmin()]
    return float(math.exp(2 * corner["complexity_over_n"]) - math.exp(corner["log_outputscale"]))


def e4_curves(reference_dir) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """E4: the per-seed curves and the seed-mean curve, ``source, (seed,) step, split, sign_accuracy,
    data_fit, complexity``."""
    per_seed, mean = _read(reference_dir, "linreg_per_seed.csv"), _read(reference_dir, "linreg_mean.csv")
    if per_seed is None or mean is None:
        return None
    out = []
    for raw, source in ((per_seed, "paper code"), (mean, "paper code, seed mean")):
        common = {"source": source, "step": raw["step"], "complexity": raw["complexity_l2"],
                  **({"seed": raw["seed"]} if "seed" in raw else {})}
        out.append(_splits(raw, common, {"train": {"sign_accuracy": "train_acc", "data_fit": "train_datafit"},
                                         "test": {"sign_accuracy": "val_acc", "data_fit": "val_datafit"}}))
    return out[0], out[1]


def e5_gaps(reference_dir) -> pd.DataFrame | None:
    """E5: the paper code's seed-mean gap per α: ``alpha, gap``."""
    raw = _read(reference_dir, "linreg_init_analysis.csv")
    return None if raw is None else raw.rename(columns={"init_w0": "alpha", "grokking_gap_steps": "gap"})


def e8_curves(reference_dir) -> pd.DataFrame | None:
    """E8, a+b mod 7, seed 0, 500 epochs: ``source, dataset.n_concealed, step (epoch), split, accuracy``."""
    raw = _read(reference_dir, "mlp_concealment_modadd_p7.csv")
    if raw is None:
        return None
    common = {"source": "paper code, a+b, seed 0", "dataset.n_concealed": raw["extra_dims"], "step": raw["epoch"]}
    return _splits(raw, common, {"train": {"accuracy": "train_acc"}, "test": {"accuracy": "val_acc"}})


def e11_curves(reference_dir) -> pd.DataFrame | None:
    """E11, seed 0 at σ = 0.1 and 1.0: ``source, model.init_scale, step (epoch), split, accuracy,
    data_fit, complexity``."""
    frames = []
    for sigma in (0.1, 1.0):
        raw = _read(reference_dir, f"bnn_s{sigma}_seed0.csv")
        if raw is None:
            return None
        common = {"source": "paper code, seed 0", "model.init_scale": sigma, "step": raw["epoch"],
                  "data_fit": raw["datafit_ce"], "complexity": raw["complexity_kl_over_n"]}
        frames.append(_splits(raw, common, {"train": {"accuracy": "train_acc"}, "test": {"accuracy": "val_acc"}}))
    return pd.concat(frames, ignore_index=True)


def e11_stored_gaps(reference_dir) -> pd.DataFrame | None:
    """E11, the authors' stored runs (8 σ × 3 seeds): ``model.init_scale, seed, gap`` and the rest."""
    raw = _read(reference_dir, "bnn_authors_stored_results_summary.csv")
    return None if raw is None else raw.rename(columns={"q_mean_std": "model.init_scale", "grokking_gap": "gap"})
