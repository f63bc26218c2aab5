"""The authors' code's runs (``shared/reference/notsawo2025``) as tidy curves.

One file per run, one row per logged step: ``step``, ``train_err`` (‖Xa − y‖/‖y‖),
``recovery_err`` (‖a − a*‖/‖a*‖), the norms of ``a``. Returns ``None`` when the files are
missing, so a page is written without the comparison.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["FILES", "recovery_curves"]

#: The shipped runs (α = 0.1, seed 0) and the case of ours each matches (None: no such case).
FILES = {
    "l1_l1reg_b1e-3_init10_seed0.csv": "l1, beta 1e-3",
    "l1_l1reg_b1e-5_init10_seed0.csv": "l1, beta 1e-5",
    "l1_l2reg_b1e-5_init10_seed0.csv": "l2, beta 1e-5",
    "l1_l1reg_b1e-5_init1e-6_seed0.csv": None,
}


def recovery_curves(reference_dir) -> pd.DataFrame | None:
    """``source, case, step, train_error, recovery_error`` of the shipped runs."""
    frames = []
    for name, case in FILES.items():
        path = None if reference_dir is None else Path(reference_dir) / "notsawo2025" / name
        if path is None or not path.exists():
            return None
        raw = pd.read_csv(path)
        frames.append(pd.DataFrame({"source": f"authors' code ({name.removesuffix('_seed0.csv')})", "case": case,
                                    "step": raw["step"], "train_error": raw["train_err"],
                                    "recovery_error": raw["recovery_err"]}))
    return pd.concat(frames, ignore_index=True)
