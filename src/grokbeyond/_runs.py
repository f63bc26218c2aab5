"""Running many fits: joblib processes with one torch thread each, failures recorded per run."""

from __future__ import annotations

import time
import warnings

import joblib
import pandas as pd
import torch

from .models import NumericalError

__all__ = ["run_jobs"]


def _run_one(function, job: dict, n_threads):
    if n_threads is not None:  # inside a joblib worker process: one torch thread each
        torch.set_num_threads(n_threads)
    start = time.perf_counter()
    status, error = "finished", ""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history = function(**job)
        except NumericalError as err:  # recorded with the run; the sweep goes on
            status, error, history = "failed", str(err), err.history
    wall = time.perf_counter() - start
    messages = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    meta = {**job, "status": status, "error": error, "wall_time_s": wall, "torch_threads": torch.get_num_threads(),
            "n_warnings": len(caught), "warnings": " | ".join(messages)}
    return history.assign(**job), meta


def run_jobs(function, jobs, *, n_jobs=1, verbose=True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run ``function(**job)`` for every job, in joblib processes with one torch thread each.

    ``function`` returns a run's tidy history. A run that raises ``NumericalError`` is
    recorded as failed (with its partial history and the error text); the others go on.

    Returns
    -------
    histories : pandas.DataFrame
        Every run's history with the job's keys as columns.
    runs : pandas.DataFrame
        One row per run: the job's keys, ``status``, ``error``, ``wall_time_s``,
        ``torch_threads``, ``n_warnings`` and the distinct ``warnings``.
    """
    n_threads = 1 if n_jobs != 1 else None
    outputs = joblib.Parallel(n_jobs=n_jobs, verbose=10 if verbose else 0)(
        joblib.delayed(_run_one)(function, job, n_threads) for job in jobs
    )
    return pd.concat([h for h, _ in outputs], ignore_index=True), pd.DataFrame([m for _, m in outputs])
