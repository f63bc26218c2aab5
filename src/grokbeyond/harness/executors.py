"""Executing runs: one run, or a batch of them trained as one batched model, each stored as
it finishes (:mod:`.scheduling` hands them out)."""

from __future__ import annotations

import time
import traceback
import warnings
from importlib import metadata

import pandas as pd

from ..exceptions import StoreWriteError
from ._checkpoints import drop_checkpoint, fit_checkpointed
from ._claims import claim_runs, watch_parent
from .store import write_run
from .suites import make_run

__all__ = ["execute_batch", "execute_run"]

_PACKAGES = ("grokbeyond", "torch", "gpytorch", "pyro-ppl", "scikit-learn", "numpy", "pandas")


def _versions() -> dict:
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _store_run(results_dir, config, history, status, error, trace, caught, wall_time, torch_threads, batch=None):
    """Write one run's history and metadata; a history the store cannot hold makes it failed."""
    meta = {"config": {k: v for k, v in config.items() if k != "run_id"}, "status": status,
            "wall_time_s": wall_time, "error": error, "traceback": trace,
            "n_warnings": len(caught),
            "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
            "versions": _versions(), "torch_threads": torch_threads}
    if batch is not None:
        meta["batch"] = batch
    try:
        write_run(results_dir, config["run_id"], history, meta)
    except ValueError as err:  # a history the store cannot hold: the run is stored as failed, without it
        meta.update(status="failed", error=f"the history could not be stored: {err}" + (f" (after {error})"
                                                                                       if error else ""))
        write_run(results_dir, config["run_id"], pd.DataFrame(), meta)
        status = "failed"
    return status


def execute_run(config: dict, results_dir, *, n_threads: int | None = 1, family=None, dataset=None,
                checkpoint_every: int | None = None) -> str:
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
    checkpoint_every : int or None, default=None
        Train in segments of this many steps, checkpointing after each
        (:func:`~grokbeyond.harness._checkpoints.fit_checkpointed`); None: in one piece.

    Returns
    -------
    str
        ``"finished"`` or ``"failed"``.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import execute_run, expand_suite, load_results
    >>> suite = {"name": "tiny", "seeds": [0], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2},
    ...          "model": {"family": "logistic", "max_iter": 20, "eval_every": 10}}
    >>> store = tempfile.TemporaryDirectory()
    >>> execute_run(expand_suite(suite)[0], store.name, n_threads=None)  # None: torch's threads as they are
    'finished'
    >>> histories, runs = load_results(store.name)
    >>> sorted(set(histories["step"])), runs["status"].tolist()
    ([0, 10, 20], ['finished'])
    >>> store.cleanup()
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
            if checkpoint_every is None:
                estimator.fit(data.X_train, data.y_train, eval_set=_eval_set(data))
            else:
                fitted = [estimator]
                outcome = fit_checkpointed(fitted, [(data.X_train, data.y_train, _eval_set(data))],
                                           results_dir=results_dir, run_ids=[config["run_id"]],
                                           every=checkpoint_every)[0]
                if outcome is not None:
                    raise outcome
                estimator = fitted[0]
            history = estimator.history_
        except StoreWriteError:  # a checkpoint the store could not take: the sweep's problem, not the run's
            raise
        except Exception as err:  # noqa: BLE001 - every failure is recorded with its run
            status, error, trace = "failed", f"{type(err).__name__}: {err}", traceback.format_exc()
            history = getattr(err, "history", history)
    status = _store_run(results_dir, config, history, status, error, trace, caught,
                        time.perf_counter() - start, torch.get_num_threads())
    drop_checkpoint(results_dir, config["run_id"])
    return status


def _eval_set(data):
    """The run's test split for ``fit``, or None when the dataset has none (``n_test = 0``)."""
    return None if data.X_test is None or len(data.X_test) == 0 else (data.X_test, data.y_test)


def execute_batch(configs, results_dir, *, n_threads: int | None = 1, family=None, dataset=None,
                  parent_pid: int | None = None, since: float | None = None,
                  checkpoint_every: int | None = None) -> list[str]:
    """Fit runs of one family that share shapes as one batched model; store each run.

    Each run is stored under its own run id as :func:`execute_run` stores it, with
    ``meta["batch"]`` (the batch's size and wall time), its share of the batch's wall
    time as ``wall_time_s``, and the batch's warnings. A numerical failure of one
    replicate fails only its run. If the batch cannot be built or trained as one (any
    other exception), every run is executed alone, so each failure is its own run's.

    The runs are claimed first (:func:`~grokbeyond.harness.claim_runs`): a run that
    another sweep on the same store is training, or has just stored as finished, is
    left to it (status ``"elsewhere"``).

    Parameters
    ----------
    configs : sequence of dict
        Runs from :func:`~grokbeyond.harness.expand_suite` that :func:`batch_runs`
        grouped together.
    results_dir, n_threads, family, dataset, checkpoint_every
        As :func:`execute_run`.
    parent_pid : int or None, default=None
        The sweep's process. A worker process it started exits within about half a
        second of its death (a SIGKILL'd sweep leaves no worker training on and writing
        into the store).
    since : float or None, default=None
        The sweep's start (``time.time()``): a run another sweep stored after it is left
        to that sweep (see :func:`~grokbeyond.harness.claim_runs`).

    Returns
    -------
    list of str
        The runs' statuses: ``"finished"``, ``"failed"`` or ``"elsewhere"``.

    Raises
    ------
    StoreWriteError
        If a run file cannot be written (the sweep ends; see :func:`run_suites`).

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import execute_batch, expand_suite, load_results
    >>> suite = {"name": "tiny", "seeds": [0, 1, 2], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2},
    ...          "model": {"family": "logistic", "max_iter": 20, "eval_every": 10}}
    >>> store = tempfile.TemporaryDirectory()
    >>> execute_batch(list(expand_suite(suite)), store.name, n_threads=None)
    ['finished', 'finished', 'finished']
    >>> load_results(store.name)[1]["replicates"].tolist()  # trained as one batched model of 3
    [3, 3, 3]
    >>> store.cleanup()
    """
    watch_parent(parent_pid)
    with claim_runs(results_dir, [config["run_id"] for config in configs], since=since) as claimed:
        mine = [config for config in configs if config["run_id"] in claimed]
        statuses = dict.fromkeys((config["run_id"] for config in configs), "elsewhere")
        statuses.update(zip(claimed, _execute_claimed(mine, results_dir, n_threads=n_threads, family=family,
                                                       dataset=dataset, checkpoint_every=checkpoint_every)))
    return [statuses[config["run_id"]] for config in configs]


def _execute_claimed(configs, results_dir, *, n_threads, family, dataset, checkpoint_every) -> list[str]:
    """:func:`execute_batch`'s work on the runs it claimed."""
    import torch

    alone = dict(n_threads=n_threads, family=family, dataset=dataset, checkpoint_every=checkpoint_every)
    if not configs:
        return []
    if len(configs) == 1:
        return [execute_run(configs[0], results_dir, **alone)]
    if n_threads is not None:
        torch.set_num_threads(n_threads)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            runs = [make_run(config, family=family, dataset=dataset) for config in configs]
            estimators = [estimator for _, estimator in runs]
            outcomes = fit_checkpointed(estimators, [(data.X_train, data.y_train, _eval_set(data)) for data, _ in runs],
                                        results_dir=results_dir, run_ids=[config["run_id"] for config in configs],
                                        every=checkpoint_every)
        except StoreWriteError:
            raise
        except Exception:  # noqa: BLE001 - a batch that cannot run as one runs run by run
            return [execute_run(config, results_dir, **alone) for config in configs]
    wall_time = time.perf_counter() - start
    batch = {"size": len(configs), "wall_time_s": wall_time}
    statuses = []
    for config, estimator, outcome in zip(configs, estimators, outcomes):
        if outcome is None:
            history, status, error = estimator.history_, "finished", None
        else:
            history, status, error = outcome.history, "failed", f"{type(outcome).__name__}: {outcome}"
        statuses.append(_store_run(results_dir, config, history, status, error, None, caught,
                                   wall_time / len(configs), torch.get_num_threads(), batch))
        drop_checkpoint(results_dir, config["run_id"])
    return statuses
