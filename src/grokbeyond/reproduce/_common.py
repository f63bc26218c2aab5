"""What every reproduction shares."""

from __future__ import annotations

from pathlib import Path

from .._runs import run_jobs

__all__ = ["report_paths", "run_jobs"]


def report_paths(results_dir, report_dir) -> tuple[Path, Path]:
    """``(results_dir, report_dir)`` as paths, the report folder created.

    ``report_dir=None`` means ``<results_dir>/report``.
    """
    results_dir = Path(results_dir)
    report_dir = Path(report_dir) if report_dir is not None else results_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    return results_dir, report_dir

