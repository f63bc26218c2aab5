"""The experiments of Miller, O'Neill & Bui (2023) as suites, and running them into one store."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ...harness import load_suite, override_suite, run_suites

__all__ = ["SUITE_NAMES", "miller2023_suites", "run_miller2023"]

#: The suites, longest runs first so that two workers stay busy to the end.
SUITE_NAMES = (
    "miller2023-e7-linear-decoy-no-prior",
    "miller2023-e11-bnn-init-scale",
    "miller2023-e8-mlp-concealment",
    "miller2023-e8-mlp-concealment-leak-free",
    "miller2023-e1-gp-parity",
    "miller2023-e1b-gp-parity-no-kl",
    "miller2023-e2-gp-step",
    "miller2023-e3-gp-regression",
    "miller2023-e5-linear-decoy-init",
    "miller2023-e4-linear-decoy",
)

# --quick: the same experiments, fewer seeds and settings and shorter runs (a few minutes on
# 2 cores). Each entry is passed to harness.override_suite.
_QUICK = {
    "miller2023-e7-linear-decoy-no-prior": dict(seeds=[0], settings={"model.max_iter": 20_000, "model.eval_every": 100}),
    "miller2023-e11-bnn-init-scale": dict(seeds=[0], settings={"model.max_iter": 200 * 32},
                                          grid={"model.init_scale": [0.1, 0.2, 0.3]}),
    "miller2023-e8-mlp-concealment": dict(seeds=[0, 1], settings={"model.max_iter": 150 * 19},
                                          grid={"dataset.operation": ["add"], "dataset.n_concealed": [0, 10, 20, 30]}),
    "miller2023-e8-mlp-concealment-leak-free": dict(
        seeds=[0, 1], settings={"model.max_iter": 150 * 19},
        grid={"dataset.operation": ["add"], "dataset.n_concealed": [0, 10, 20, 30]}),
    "miller2023-e1-gp-parity": dict(seeds=[42, 52], settings={"model.max_iter": 150}),
    "miller2023-e1b-gp-parity-no-kl": dict(settings={"model.max_iter": 150}),
    "miller2023-e2-gp-step": dict(seeds=[42, 52], settings={"model.max_iter": 400}),
    "miller2023-e3-gp-regression": dict(),  # 6 short runs; the optimum needs the full 3000 steps
    "miller2023-e5-linear-decoy-init": dict(seeds=[0, 1, 2], settings={"model.max_iter": 1500}, grid={
        "model.weight_init": [[a, 1 - a, 1 - a, 1 - a] for a in (0.001, 0.0158489319, 0.0851138038, 0.3229, 1.0)]}),
    "miller2023-e4-linear-decoy": dict(settings={"model.max_iter": 1500}),
}


def miller2023_suites(quick: bool = False) -> list[dict]:
    """The suites of the reproduction, in run order.

    They are the TOML files in ``grokbeyond/reproduce/miller2023/suites/`` (a user can
    run any of them with ``grokbeyond run``), with the paper code's settings and seeds
    (``shared/reference/README.md``, experiments E1–E8 and E11).

    Parameters
    ----------
    quick : bool, default=False
        Fewer seeds and settings and shorter runs: a few minutes on 2 cores. The names
        are the same, so a quick store and a full store must be different folders.

    Returns
    -------
    list of dict
    """
    folder = resources.files(__package__) / "suites"
    suites = []
    for name in SUITE_NAMES:
        with resources.as_file(folder / f"{name}.toml") as path:
            suite = load_suite(path)
        suites.append(override_suite(suite, **_QUICK[name]) if quick else suite)
    return suites


def run_miller2023(*, results_dir="grokbeyond-results", report_dir=None, reference_dir=None, quick=False, n_jobs=1,
                   scheduler=None, progress=True):
    """Run every suite of the reproduction into one store, then write the report.

    The store is resumable: a rerun (after an interruption, or with more workers) does
    only the runs not yet finished.

    Parameters
    ----------
    results_dir : path-like, default="grokbeyond-results"
        The store is ``<results_dir>/miller2023`` (``miller2023-quick`` with ``quick``).
    report_dir : path-like or None, default=None
        Where the report goes; ``None`` is ``<store>/report``.
    reference_dir : path-like or None, default=None
        ``shared/reference``, the paper code's curves, drawn beside ours when present.
    quick : bool, default=False
        The reduced suites of :func:`miller2023_suites`.
    n_jobs : int, default=1
        Worker processes, one torch thread each.
    scheduler : str or None, default=None
        As :func:`~grokbeyond.harness.run_suite` (``"local"`` or a Dask scheduler address).
    progress : bool, default=True
        A progress bar counting runs.

    Returns
    -------
    dict
        ``results_dir`` (the store), ``report_dir``, ``summary`` (a
        :class:`~grokbeyond.harness.SuiteSummary`) and ``claims`` (the claims table).
    """
    from .report import write_miller2023_report

    store = Path(results_dir) / ("miller2023-quick" if quick else "miller2023")
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    summary = run_suites(miller2023_suites(quick), store, n_jobs=n_jobs, scheduler=scheduler, progress=progress,
                         desc="miller2023" + (" --quick" if quick else ""))
    log = store / "sweeps.json"  # one entry per invocation: a resumed sweep's time adds up
    sweeps = json.loads(log.read_text()) if log.exists() else []
    sweeps.append({"started": started, "quick": quick, "n_jobs": n_jobs, "scheduler": scheduler,
                   "wall_time_s": time.perf_counter() - start, "n_runs": summary.n_runs,
                   "n_skipped": summary.n_skipped, "n_finished": summary.n_finished, "n_failed": summary.n_failed})
    store.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps(sweeps, indent=2))
    out = write_miller2023_report(store, report_dir=report_dir, reference_dir=reference_dir)
    return {**out, "summary": summary}
