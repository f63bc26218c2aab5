"""Running a suite: every run not yet stored, in joblib processes, each stored as it finishes."""

from __future__ import annotations

import contextlib
import time
import traceback
import warnings
from dataclasses import dataclass
from importlib import metadata

import joblib
import pandas as pd
from tqdm.auto import tqdm

from ..registry import get_dataset, get_family
from .store import finished_run_ids, write_run
from .suites import expand_suite, make_run

__all__ = ["SuiteSummary", "execute_run", "run_suite", "run_suites"]

_PACKAGES = ("grokbeyond", "torch", "gpytorch", "pyro-ppl", "scikit-learn", "numpy", "pandas")


def _versions() -> dict:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def execute_run(config: dict, results_dir, *, n_threads: int | None = 1, family=None, dataset=None) -> str:
    """Fit one run and store it (finished or failed); return its status.

    Any exception in building or fitting is caught and stored with its traceback and
    whatever history was recorded (a ``NumericalError`` carries the partial history),
    so the sweep goes on. Warnings raised during the run (gpytorch's numerical
    warnings, say) are stored with it, counted and as their distinct messages.

    Parameters
    ----------
    config : dict
        A run from :func:`~grokbeyond.harness.expand_suite`.
    results_dir : path-like
        The store.
    n_threads : int or None, default=1
        torch's threads in this process (``None`` leaves them as they are).
    family, dataset : class, callable or None, default=None
        The estimator class and dataset function, as :func:`make_run` takes them.

    Returns
    -------
    str
        ``"finished"`` or ``"failed"``.
    """
    import torch  # a worker needs torch; the parent process of a sweep need not

    if n_threads is not None:
        torch.set_num_threads(n_threads)
    start = time.perf_counter()
    history, status, error, trace = pd.DataFrame(), "finished", None, None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data, estimator = make_run(config, family=family, dataset=dataset)
            estimator.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
            history = estimator.history_
        except Exception as err:  # noqa: BLE001 - every failure is recorded with its run
            status, error, trace = "failed", f"{type(err).__name__}: {err}", traceback.format_exc()
            history = getattr(err, "history", history)
    meta = {"config": {k: v for k, v in config.items() if k != "run_id"}, "status": status,
            "wall_time_s": time.perf_counter() - start, "error": error, "traceback": trace,
            "n_warnings": len(caught),
            "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
            "versions": _versions(), "torch_threads": torch.get_num_threads()}
    try:
        write_run(results_dir, config["run_id"], history, meta)
    except ValueError as err:  # a history the store cannot hold: the run is stored as failed, without it
        meta.update(status="failed", error=f"the history could not be stored: {err}" + (f" (after {error})"
                                                                                       if error else ""))
        write_run(results_dir, config["run_id"], pd.DataFrame(), meta)
        status = "failed"
    return status


@dataclass(frozen=True)
class SuiteSummary:
    """What :func:`run_suite` did.

    Attributes
    ----------
    n_runs : int
        Runs in the suite.
    n_skipped : int
        Runs already stored as finished (not rerun).
    n_finished, n_failed : int
        Runs executed now, by outcome.
    """

    n_runs: int
    n_skipped: int
    n_finished: int
    n_failed: int


def run_suite(suite: dict, results_dir, *, n_jobs: int = 1, scheduler: str | None = None,
              progress: bool = True) -> SuiteSummary:
    """Run every run of ``suite`` not yet stored as finished in ``results_dir``.

    Runs execute in joblib processes (``n_jobs``; 1 runs in this process), or on a Dask
    cluster through joblib's Dask backend, each with one torch thread; each run stores
    its own file as it ends, so an interrupted sweep (even by SIGKILL) keeps every
    finished run and a rerun does only what is left. On a cluster, ``results_dir`` must
    be a path every worker can write (a shared file system).

    Parameters
    ----------
    suite : dict
        From :func:`~grokbeyond.harness.load_suite`.
    results_dir : path-like
        The store.
    n_jobs : int, default=1
        Local processes; with ``scheduler="local"``, the ``LocalCluster``'s workers.
    scheduler : str or None, default=None
        ``None``: joblib processes. ``"local"``: a Dask ``LocalCluster`` started for
        this sweep (``n_jobs`` single-threaded worker processes). Any other string:
        the address of a running Dask scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
    progress : bool, default=True
        A tqdm bar counting runs.

    Returns
    -------
    SuiteSummary
    """
    return run_suites([suite], results_dir, n_jobs=n_jobs, scheduler=scheduler, progress=progress)


def run_suites(suites, results_dir, *, n_jobs: int = 1, scheduler: str | None = None, progress: bool = True,
               desc: str | None = None) -> SuiteSummary:
    """Run several suites into one store as one pool of runs (see :func:`run_suite`).

    The runs of all suites share the workers, in the order given, so a short suite
    does not leave a worker idle while a long one waits.

    Parameters
    ----------
    suites : sequence of dict
        Suites from :func:`~grokbeyond.harness.load_suite`.
    results_dir, n_jobs, scheduler, progress
        As :func:`run_suite`.
    desc : str or None, default=None
        Label of the progress bar (default: the suites' names).

    Returns
    -------
    SuiteSummary
        Counts over all the suites' runs.

    Raises
    ------
    ValueError
        If two suites share a name (their runs would be told apart by nothing).
    """
    names = [suite["name"] for suite in suites]
    if len(set(names)) != len(names):
        raise ValueError(f"suite names must differ; got {names}.")
    runs = [config for suite in suites for config in expand_suite(suite)]
    done = finished_run_ids(results_dir)
    todo = [config for config in runs if config["run_id"] not in done]
    # The classes and functions themselves travel with each run, so that a family or dataset
    # registered in this process (a notebook's, say) is found in every worker.
    families = {name: get_family(name) for name in {config["model"]["family"] for config in todo}}
    datasets = {name: get_dataset(name) for name in {config["dataset"]["name"] for config in todo}}
    with _backend(scheduler, n_jobs):
        results = joblib.Parallel(n_jobs=n_jobs if scheduler is None else -1, return_as="generator")(
            joblib.delayed(execute_run)(config, str(results_dir), n_threads=None if n_jobs == 1 else 1,
                                        family=families[config["model"]["family"]],
                                        dataset=datasets[config["dataset"]["name"]])
            for config in todo
        )
        statuses = list(tqdm(results, total=len(todo), desc=desc or ", ".join(names), unit="run",
                             disable=not progress))
    return SuiteSummary(n_runs=len(runs), n_skipped=len(runs) - len(todo),
                        n_finished=statuses.count("finished"), n_failed=statuses.count("failed"))


@contextlib.contextmanager
def _backend(scheduler, n_jobs):
    """joblib's default backend, or its Dask backend on a local or remote cluster."""
    if scheduler is None:
        yield
        return
    from distributed import Client, LocalCluster

    if scheduler == "local":
        with (LocalCluster(n_workers=max(n_jobs, 1), threads_per_worker=1, processes=True,
                           dashboard_address=None) as cluster,
              Client(cluster) as client, joblib.parallel_config(backend="dask")):
            yield client
    else:
        with Client(scheduler) as client, joblib.parallel_config(backend="dask"):
            yield client
