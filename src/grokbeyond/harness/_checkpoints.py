"""Checkpoints of long runs: a fit trained in segments (``warm_start``), pickled after each,
so that a killed sweep resumes a run near where it stopped."""

from __future__ import annotations

import pickle
from numbers import Integral
from pathlib import Path

from .._validation import check_number
from .store import _write_error, write_atomically

__all__ = ["fit_checkpointed"]


def _path(results_dir, run_id) -> Path:
    return Path(results_dir) / ".checkpoints" / f"{run_id}.pkl"


def _segmentable(estimator) -> bool:
    """Whether training in segments records exactly what one fit does: with an integer
    ``eval_every`` (segments end on evaluated steps)."""
    every = estimator.eval_every
    return isinstance(every, Integral) and not isinstance(every, bool)


def _load(results_dir, run_id, estimator):
    """The checkpointed estimator of a run, or ``estimator`` (none, or one of another family)."""
    path = _path(results_dir, run_id)
    try:
        with open(path, "rb") as handle:
            saved = pickle.load(handle)
    except FileNotFoundError:
        return estimator
    except Exception:  # noqa: BLE001 - a damaged checkpoint (a write cut short) is a run from step 0
        return estimator
    return saved if type(saved) is type(estimator) and "_warm_state" in vars(saved) else estimator


def _save(results_dir, run_id, estimator) -> None:
    """Pickle ``estimator`` atomically (a temporary file renamed over the checkpoint)."""

    def dump(temporary):
        with open(temporary, "wb") as file:
            pickle.dump(estimator, file)

    write_atomically(_path(results_dir, run_id), dump)


def drop_checkpoint(results_dir, run_id) -> None:
    """Remove a run's checkpoint (once the run is stored)."""
    path = _path(results_dir, run_id)
    try:
        path.unlink(missing_ok=True)
    except OSError as err:
        raise _write_error(path, err) from err


def fit_checkpointed(estimators, datasets, *, results_dir, run_ids, every: int | None):
    """Fit runs as :func:`~grokbeyond.models.fit_batched` does, in segments of ``every``
    steps, each estimator pickled to ``<results_dir>/.checkpoints/<run_id>.pkl`` after
    each segment; a run with a checkpoint goes on from it.

    The segments end on evaluated steps (``every`` is rounded up to a multiple of
    ``eval_every``) and continue the fit exactly (``warm_start``), so a run trained in
    segments, killed and resumed records what one uninterrupted fit records. A run with
    a non-integer ``eval_every`` (``"log"``) trains in one piece. Runs
    whose checkpoints stopped at different steps train as separate batches.

    Parameters
    ----------
    estimators : list of TrajectoryEstimator
        The runs' fresh estimators (replaced in the list by their checkpoints).
    datasets : list of tuple
        ``(X, y, eval_set)`` per run.
    results_dir : path-like
        The store.
    run_ids : list of str
        The runs' ids.
    every : int or None
        Steps per segment; None trains in one piece, without checkpoints.

    Returns
    -------
    list of NumericalError or None
        As ``fit_batched``. A failed run's checkpoint is removed.
    """
    from ..models import fit_batched

    if every is None or not _segmentable(estimators[0]):
        return fit_batched(estimators, datasets)
    every = check_number(every, "checkpoint_every", Integral, min_val=1)
    every = -(-every // estimators[0].eval_every) * estimators[0].eval_every
    total, warm = int(estimators[0].max_iter), estimators[0].warm_start
    estimators[:] = [_load(results_dir, run, estimator) for run, estimator in zip(run_ids, estimators)]
    outcomes = [None] * len(estimators)
    by_step: dict[int, list[int]] = {}
    for i, estimator in enumerate(estimators):
        by_step.setdefault(getattr(estimator, "n_iter_", 0) if "_warm_state" in vars(estimator) else 0, []).append(i)
    try:
        for done, members in by_step.items():
            while members and done < total:
                size = min(every, total - done)
                for i in members:
                    estimators[i].set_params(max_iter=size, warm_start=True)
                results = fit_batched([estimators[i] for i in members], [datasets[i] for i in members])
                for i, result in zip(members, results):
                    outcomes[i] = result
                    if result is not None:
                        drop_checkpoint(results_dir, run_ids[i])
                members = [i for i, result in zip(members, results) if result is None]
                done += size
                for i in members:
                    _save(results_dir, run_ids[i], estimators[i])
    finally:
        for estimator in estimators:
            estimator.set_params(max_iter=total, warm_start=warm)
    return outcomes
