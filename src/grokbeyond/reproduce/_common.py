"""What every reproduction shares."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from .._runs import run_jobs

__all__ = ["load_stored", "report_paths", "run_jobs", "save_stored"]


def report_paths(results_dir, report_dir) -> tuple[Path, Path]:
    """``(results_dir, report_dir)`` as paths, the report folder created.

    ``report_dir=None`` means ``<results_dir>/report``.
    """
    results_dir = Path(results_dir)
    report_dir = Path(report_dir) if report_dir is not None else results_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    return results_dir, report_dir



def load_stored(results_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """A reproduction's stored ``histories.parquet``, ``runs.parquet`` and ``config.json``.

    Raises ``FileNotFoundError`` naming the missing file.
    """
    return (pd.read_parquet(results_dir / "histories.parquet"), pd.read_parquet(results_dir / "runs.parquet"),
            json.loads((results_dir / "config.json").read_text()))


def save_stored(results_dir: Path, histories: pd.DataFrame, runs: pd.DataFrame, config, *, total_wall_time_s: float,
                n_jobs: int) -> None:
    """Store what :func:`load_stored` reads: the histories, the runs and the config (a dataclass)."""
    histories.to_parquet(results_dir / "histories.parquet", index=False)
    runs.to_parquet(results_dir / "runs.parquet", index=False)
    (results_dir / "config.json").write_text(
        json.dumps({"config": asdict(config), "total_wall_time_s": total_wall_time_s, "n_jobs": n_jobs}, indent=2)
    )
