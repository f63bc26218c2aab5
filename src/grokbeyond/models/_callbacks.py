"""Callbacks: watch a fit at each evaluated step, add columns to its history, stop it.

A callback is any callable ``callback(estimator, rows)`` passed to ``fit(...,
callbacks=[...])``. It is called at every evaluated step (``eval_every``), after the
step's rows are recorded, with the estimator being fitted and ``rows``: the step's new
``history_`` rows (a DataFrame: the train row, and the test row with an ``eval_set``).
It may

- read them (log to MLflow or TensorBoard, report to an Optuna trial);
- add columns to ``rows`` in place (``rows["margin"] = ...``): they become columns of
  ``history_`` (NaN at the steps and splits where no value was given);
- stop the fit by returning ``True``: ``fit`` returns normally, ``history_`` ends at
  that step and ``n_iter_`` is its step count;
- raise (``optuna.TrialPruned``, say): ``fit`` raises it and, like any failed fit,
  leaves the estimator as it was.

The shipped callbacks start counting afresh at a fit's step 0, so one object can watch
several fits (cross-validation folds); a continued fit (``warm_start``) goes on counting.
While a callback runs the estimator's parameters are the current ones, but it is not
yet fitted (``predict`` raises ``NotFittedError``): read the rows, or the family's
parameters. Callbacks act on single fits; :func:`~grokbeyond.models.fit_batched` and
the harness's batched runs take none.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import check_number
from ..exceptions import InputError

__all__ = ["StopOnGrokking", "StopOnPlateau"]


def _metric_value(rows, split, metric) -> float | None:
    """The step's value of ``metric`` on ``split``; None when the rows have no such row."""
    row = rows[rows["split"] == split]
    if row.empty:
        return None
    if metric not in row:
        raise InputError(f"metric {metric!r} is not recorded; the history has {list(rows.columns)}.")
    return float(row[metric].iloc[0])


class StopOnGrokking:
    """Stop a fit once it has generalised: the test metric held the threshold for
    ``n_evaluations`` evaluations in a row.

    A grokking run is over once its test metric has risen and stayed: its gap is
    measured at the first crossing (:func:`~grokbeyond.grokking.detect_grokking`), and
    the steps after it cost time without changing the gap. Holding for several
    evaluations guards against a transient spike.

    Parameters
    ----------
    metric : str, default="accuracy"
        The ``history_`` column watched.
    threshold : float, default=0.95
        Generalised means ``metric >= threshold`` (``<=`` if not
        ``higher_is_better``), as in ``detect_grokking``.
    n_evaluations : int, default=3
        Consecutive evaluations at or past the threshold before the fit stops.
    split : {"test", "train"}, default="test"
        The split watched (``"test"`` needs an ``eval_set``).
    higher_is_better : bool, default=True
        The metric's direction.

    Attributes
    ----------
    stopped_step_ : int or None
        The step the fit stopped at (None until it stops).

    Examples
    --------
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> from grokbeyond.models import LogisticRegression, StopOnGrokking
    >>> data = make_sparse_parity(n_bits=6, k=1, n_train=200, n_test=100, random_state=0)
    >>> stop = StopOnGrokking(threshold=0.95, n_evaluations=2)
    >>> model = LogisticRegression(max_iter=5000, eval_every=10, random_state=0)
    >>> model = model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test), callbacks=[stop])
    >>> model.n_iter_ == stop.stopped_step_ < 5000
    True
    """

    def __init__(self, metric="accuracy", threshold=0.95, n_evaluations=3, split="test", higher_is_better=True):
        self.metric = metric
        self.threshold = check_number(threshold, "threshold", Real)
        self.n_evaluations = check_number(n_evaluations, "n_evaluations", Integral, min_val=1)
        if split not in ("train", "test"):
            raise InputError(f"split must be 'train' or 'test'; got {split!r}.")
        self.split = split
        self.higher_is_better = bool(higher_is_better)
        self._held = 0
        self.stopped_step_ = None

    def __call__(self, estimator, rows) -> bool:
        if rows["step"].iloc[0] == 0:  # a new fit (a continued one goes on counting)
            self._held, self.stopped_step_ = 0, None
        value = _metric_value(rows, self.split, self.metric)
        if value is None:
            raise InputError(f"StopOnGrokking watches the {self.split} split; fit with an eval_set "
                             "(or split='train').")
        reached = value >= self.threshold if self.higher_is_better else value <= self.threshold
        self._held = self._held + 1 if reached else 0
        if self._held >= self.n_evaluations:
            self.stopped_step_ = int(rows["step"].iloc[0])
            return True
        return False


class StopOnPlateau:
    """Stop a fit whose metric has not improved for ``n_evaluations`` evaluations.

    A confused run (neither memorising nor generalising) or one whose objective has
    converged gains nothing from more steps. The rule is scikit-learn's
    ``n_iter_no_change`` / ``tol`` (``MLPClassifier``): an evaluation improves on the
    best value so far when it beats it by more than ``tol``.

    Parameters
    ----------
    metric : str, default="objective"
        The ``history_`` column watched.
    split : {"train", "test"}, default="train"
        The split watched.
    n_evaluations : int, default=10
        Evaluations without improvement before the fit stops.
    tol : float, default=1e-4
        The smallest improvement, in the metric's units.
    higher_is_better : bool, default=False
        The metric's direction (False: an objective or a loss, to be lowered).

    Attributes
    ----------
    stopped_step_ : int or None
        The step the fit stopped at (None until it stops).
    best_ : float
        The best value seen.

    Examples
    --------
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> from grokbeyond.models import LogisticRegression, StopOnPlateau
    >>> data = make_sparse_parity(n_bits=6, k=1, n_train=200, n_test=100, random_state=0)
    >>> stop = StopOnPlateau(n_evaluations=5, tol=1e-3)
    >>> model = LogisticRegression(max_iter=100000, eval_every=100, random_state=0)
    >>> model.fit(data.X_train, data.y_train, callbacks=[stop]).n_iter_ < 100000
    True
    """

    def __init__(self, metric="objective", split="train", n_evaluations=10, tol=1e-4, higher_is_better=False):
        self.metric = metric
        if split not in ("train", "test"):
            raise InputError(f"split must be 'train' or 'test'; got {split!r}.")
        self.split = split
        self.n_evaluations = check_number(n_evaluations, "n_evaluations", Integral, min_val=1)
        self.tol = check_number(tol, "tol", Real, min_val=0.0)
        self.higher_is_better = bool(higher_is_better)
        self.best_ = -np.inf if self.higher_is_better else np.inf
        self._since = 0
        self.stopped_step_ = None

    def __call__(self, estimator, rows) -> bool:
        if rows["step"].iloc[0] == 0:  # a new fit (a continued one goes on counting)
            self.best_, self._since, self.stopped_step_ = -np.inf if self.higher_is_better else np.inf, 0, None
        value = _metric_value(rows, self.split, self.metric)
        if value is None:
            raise InputError(f"StopOnPlateau watches the {self.split} split; fit with an eval_set "
                             "(or split='train').")
        better = value > self.best_ + self.tol if self.higher_is_better else value < self.best_ - self.tol
        if better:
            self.best_, self._since = value, 0
        else:
            self._since += 1
        if self._since >= self.n_evaluations:
            self.stopped_step_ = int(rows["step"].iloc[0])
            return True
        return False
