"""Scheduling a sweep: runs grouped into batches, batches onto joblib processes or Dask
workers, a summary of what ran (the one entry point, :func:`run_suites`)."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from dataclasses import dataclass
from numbers import Integral

import joblib
import numpy as np

from .._progress import progress_bar
from .._validation import check_number
from ..exceptions import InputError
from ..registry import get_dataset, get_family
from ._claims import MAX_CLAIMED, check_writable
from .executors import execute_batch
from .store import finished_run_ids
from .suites import expand_suite, make_run

__all__ = ["SuiteSummary", "batch_runs", "run_suite", "run_suites"]


def batch_runs(configs, *, n_jobs: int = 1, max_replicates: int | None = None, family=None, dataset=None):
    """Group runs into batches that can train as one batched model.

    Runs batch together when they have the same suite and family, the same model
    parameters except the seed and the family's replicate parameters, and data of the
    same shapes and classes (each run's data is built here to see them). A group is
    cut into ``n_jobs`` near-equal batches so every worker has one, and into batches
    of at most ``max_replicates`` runs. Runs of a family that cannot batch, or whose
    data cannot be built, are batches of one.

    Parameters
    ----------
    configs : sequence of dict
        Runs from :func:`~grokbeyond.harness.expand_suite`.
    n_jobs : int, default=1
        Workers the batches will share.
    max_replicates : int or None, default=None
        Largest batch; ``None``: no limit but ``n_jobs``'s.
    family, dataset : dict or None, default=None
        Family classes and dataset functions by name (``None``: the registry's).

    Returns
    -------
    list of list of dict
        The batches, in the order of their first run.

    Examples
    --------
    >>> from grokbeyond.harness import batch_runs, expand_suite
    >>> suite = {"name": "tiny", "seeds": [0, 1, 2, 3, 4], "dataset": {"name": "sparse_parity", "n_bits": 6},
    ...          "model": {"family": "logistic"}}
    >>> [[run["seed"] for run in batch] for batch in batch_runs(expand_suite(suite), n_jobs=2)]
    [[0, 1], [2, 3, 4]]
    >>> [len(batch) for batch in batch_runs(expand_suite(suite), max_replicates=2)]
    [2, 1, 2]
    """
    groups: dict = {}
    position = {config["run_id"]: i for i, config in enumerate(configs)}
    for config in configs:
        groups.setdefault(_batch_key(config, family, dataset), []).append(config)
    batches = []
    for key, group in groups.items():
        if key[0] is None:
            batches += [[config] for config in group]
            continue
        size = math.ceil(len(group) / max(n_jobs, 1))
        if max_replicates is not None:
            size = min(size, max_replicates)
        size = max(size, 1)
        n_batches = math.ceil(len(group) / size)
        batches += [list(part) for part in _split(group, n_batches)]
    return sorted(batches, key=lambda batch: position[batch[0]["run_id"]])


def _split(group, n_parts):
    """``group`` in ``n_parts`` contiguous parts of near-equal size."""
    bounds = [round(i * len(group) / n_parts) for i in range(n_parts + 1)]
    return [group[a:b] for a, b in zip(bounds, bounds[1:])]


def _batch_key(config, families, datasets):
    """What runs must share to batch; ``(None, run_id)`` for a run that cannot."""
    from ..models._batched import shared_params

    name = config["model"]["family"]
    family = (families or {}).get(name)
    try:
        if not (family or get_family(name))()._batchable:
            return None, config["run_id"]
        data, estimator = make_run(config, family=family, dataset=(datasets or {}).get(config["dataset"]["name"]))
    except Exception:  # noqa: BLE001 - its own run will record the error
        return None, config["run_id"]
    params = repr(sorted(shared_params(estimator).items()))
    shapes = tuple(np.shape(data[key]) for key in ("X_train", "y_train", "X_test", "y_test"))
    classes = () if estimator._y_numeric else tuple(np.unique(data.y_train).tolist())
    return config["suite"], type(estimator), params, shapes, classes


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
    n_elsewhere : int
        Runs left to another sweep on the same store that was training them.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import run_suite
    >>> suite = {"name": "tiny", "seeds": [0, 1], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2},
    ...          "model": {"family": "logistic", "max_iter": 20, "eval_every": 10}}
    >>> store = tempfile.TemporaryDirectory()
    >>> summary = run_suite(suite, store.name, progress=False)
    >>> summary.n_runs, summary.n_finished, summary.n_failed
    (2, 2, 0)
    >>> run_suite(suite, store.name, progress=False).n_skipped  # already stored: skipped
    2
    >>> store.cleanup()
    """

    n_runs: int
    n_skipped: int
    n_finished: int
    n_failed: int
    n_elsewhere: int = 0


def run_suite(suite: dict, results_dir, *, n_jobs: int = 1, scheduler: str | None = None,
              progress: bool = True, batch: bool = True, max_replicates: int | None = None,
              checkpoint_every: int | None = None) -> SuiteSummary:
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
    batch, max_replicates, checkpoint_every
        Batched training and checkpoints, as :func:`run_suites` does them.

    Returns
    -------
    SuiteSummary

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import load_results, run_suite
    >>> suite = {"name": "tiny", "seeds": [0, 1], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2},
    ...          "model": {"family": "logistic", "max_iter": 20, "eval_every": 10},
    ...          "grid": {"model.lr": [0.1, 0.5]}}
    >>> store = tempfile.mkdtemp()
    >>> run_suite(suite, store, progress=False)
    SuiteSummary(n_runs=4, n_skipped=0, n_finished=4, n_failed=0, n_elsewhere=0)
    >>> run_suite(suite, store, progress=False).n_skipped  # a rerun does what is left: nothing
    4
    >>> len(load_results(store)[1])
    4
    """
    return run_suites([suite], results_dir, n_jobs=n_jobs, scheduler=scheduler, progress=progress, batch=batch,
                      max_replicates=max_replicates, checkpoint_every=checkpoint_every)


def run_suites(suites, results_dir, *, n_jobs: int = 1, scheduler: str | None = None, progress: bool = True,
               desc: str | None = None, batch: bool = True, max_replicates: int | None = None,
               checkpoint_every: int | None = None) -> SuiteSummary:
    """Run several suites into one store as one pool of runs (see :func:`run_suite`).

    The runs of all suites share the workers, in the order given, so a short suite
    does not leave a worker idle while a long one waits. Runs that can train as one
    batched model (:func:`batch_runs`: a suite's seeds and replicate parameters, data
    of one shape) do, each still stored as its own run; a resumed sweep batches only
    the runs not yet stored.

    Parameters
    ----------
    suites : sequence of dict
        Suites from :func:`~grokbeyond.harness.load_suite`.
    results_dir, n_jobs, scheduler, progress
        As :func:`run_suite`.
    desc : str or None, default=None
        Label of the progress bar (default: the suites' names).
    batch : bool, default=True
        Whether to train compatible runs as batched models (False: every run alone).
    max_replicates : int or None, default=None
        The largest batch (see :func:`batch_runs`); at most ``MAX_CLAIMED`` (256), the
        runs a worker claims at once.
    checkpoint_every : int or None, default=None
        Train each run in segments of this many steps (rounded up to a multiple of its
        ``eval_every``), pickling it to ``RESULTS_DIR/.checkpoints/`` after each: a
        killed sweep's rerun goes on from the last checkpoint, and records exactly what
        an uninterrupted run records. None: runs train in one piece.

    Returns
    -------
    SuiteSummary
        Counts over all the suites' runs.

    Raises
    ------
    InputError
        If two suites share a name (their runs would be told apart by nothing), or
        ``n_jobs`` is 0 or not an integer.
    StoreWriteError
        If the store cannot be written: checked before anything runs, and at every
        run file (a full disk). The sweep ends; every run stored so far is kept.

    Notes
    -----
    Several sweeps may run on one store at once (two terminals, two machines on a shared
    file system): each run is claimed while it trains (:func:`claim_runs`), so each is
    done once, and counted in ``n_elsewhere`` by the sweeps that left it. Runs are
    expanded lazily and scheduled a chunk at a time, so a grid of millions of runs costs
    no more memory than one of thousands.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import load_results, override_suite, run_suites
    >>> slow = {"name": "lr-0.1", "seeds": [0, 1], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2},
    ...         "model": {"family": "logistic", "lr": 0.1, "max_iter": 20, "eval_every": 10}}
    >>> fast = override_suite(slow, name="lr-0.5", settings={"model.lr": 0.5})
    >>> store = tempfile.TemporaryDirectory()
    >>> run_suites([slow, fast], store.name, progress=False)
    SuiteSummary(n_runs=4, n_skipped=0, n_finished=4, n_failed=0, n_elsewhere=0)
    >>> sorted(load_results(store.name)[1]["suite"])
    ['lr-0.1', 'lr-0.1', 'lr-0.5', 'lr-0.5']
    >>> store.cleanup()
    """
    names = [suite["name"] for suite in suites]
    if len(set(names)) != len(names):
        raise InputError(f"suite names must differ; got {names}.")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise InputError(f"n_jobs must be a non-zero integer (-1: every core); got {n_jobs!r}.")
    if checkpoint_every is not None:
        check_number(checkpoint_every, "checkpoint_every", Integral, min_val=1)
    since = time.time()
    runs = [expand_suite(suite) for suite in suites]  # lazy: memory does not grow with the grid
    done = finished_run_ids(results_dir)

    def pending():
        return (config for suite_runs in runs for config in suite_runs if config["run_id"] not in done)

    n_runs, n_todo = sum(map(len, runs)), sum(1 for _ in pending())
    if n_todo:  # a complete store may be read-only (an archive)
        check_writable(results_dir)
    # The classes and functions themselves travel with each run, so that a family or dataset
    # registered in this process (a notebook's, say) is found in every worker.
    families = {suite["model"]["family"]: get_family(suite["model"]["family"]) for suite in suites}
    datasets = {suite["dataset"]["name"]: get_dataset(suite["dataset"]["name"]) for suite in suites}
    counts = dict.fromkeys(("finished", "failed", "elsewhere"), 0)
    with _backend(scheduler, n_jobs) as client:
        workers = (joblib.effective_n_jobs(n_jobs) if client is None or scheduler == "local"
                   else len(client.scheduler_info()["workers"]))
        largest = min(max_replicates or MAX_CLAIMED, MAX_CLAIMED)  # a batch's runs are claimed together

        def batches():  # grouped a chunk of pending runs at a time, so scheduling memory is bounded too
            chunks = pending()
            while chunk := list(itertools.islice(chunks, _CHUNK)):
                yield from (batch_runs(chunk, n_jobs=workers, max_replicates=largest, family=families,
                                       dataset=datasets) if batch else ([config] for config in chunk))

        results = joblib.Parallel(n_jobs=n_jobs if scheduler is None else -1, return_as="generator")(
            joblib.delayed(execute_batch)(configs, str(results_dir), n_threads=None if n_jobs == 1 else 1,
                                          family=families[configs[0]["model"]["family"]],
                                          dataset=datasets[configs[0]["dataset"]["name"]],
                                          parent_pid=os.getpid(), since=since,
                                          checkpoint_every=checkpoint_every)
            for configs in batches()
        )
        with progress_bar(total=n_todo, desc=desc or ", ".join(names), unit="run", disable=not progress) as bar:
            for batch_statuses in results:
                for status in batch_statuses:
                    counts[status] += 1
                bar.update(len(batch_statuses))
    return SuiteSummary(n_runs=n_runs, n_skipped=n_runs - n_todo, n_finished=counts["finished"],
                        n_failed=counts["failed"], n_elsewhere=counts["elsewhere"])


#: Pending runs grouped into batches at a time (:func:`batch_runs` builds each one's data to see
#: its shapes); a sweep of fewer runs is batched as one group.
_CHUNK = 10_000


@contextlib.contextmanager
def _backend(scheduler, n_jobs):
    """joblib's default backend, or its Dask backend on a local or remote cluster."""
    if scheduler is None:
        yield None
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
