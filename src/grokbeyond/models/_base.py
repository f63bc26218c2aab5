"""The shared base of every grokbeyond estimator: validation, prediction, the family contract.

A family supplies what is its own (building the model, the optimiser, the data-fit and
complexity terms, predictions); the base owns validation and prediction, and its
``fit`` hands the training loop (:mod:`grokbeyond.models._engine`: the step schedule,
minibatching, evaluation, the ``history_`` rows, progress, seeding) one replicate.

Every tensor a family builds carries a leading *replicate* axis of size
``n_replicates`` (1 for a single estimator), and every term is returned per replicate,
shape ``(n_replicates,)``. Replicates have disjoint parameters and the loop minimises the
*sum* of their objectives, so each replicate's gradient, and hence its trajectory under
an element-wise optimiser (SGD, Adam), is exactly the one it would have alone: batches
of seeds train as one batched model (:func:`~grokbeyond.models.fit_batched`).
"""

from __future__ import annotations

import contextlib
import copy
import math
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import check_number
from .._random import check_random_state
from ..exceptions import InputError, NumericalError
from ._engine import fit_members
from ._recording import HISTORY_COLUMNS, evaluation_steps

__all__ = ["HISTORY_COLUMNS", "NumericalError", "TrajectoryEstimator", "evaluation_steps"]

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class TrajectoryEstimator(BaseEstimator):
    """Base class of grokbeyond's estimators: ``fit`` records a training trajectory.

    Not used directly; every family (``GPClassifier``, ``LogisticRegression``, ...)
    derives from it (through :class:`TrajectoryClassifier` or
    :class:`TrajectoryRegressor`) and shares its parameters ``max_iter``,
    ``eval_every``, ``warm_start``, ``device``, ``random_state`` and ``verbose``;
    ``batch_size`` (``None``: full batch) and ``dtype`` (``"float32"`` or
    ``"float64"``) are read from the base's defaults unless a family makes them
    constructor parameters.

    ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``) places the fit's
    tensors, its random generators and its replicate batches on one torch device; the
    fitted attributes stay there, and ``history_`` and predictions come back as NumPy. A
    device's random streams differ from the CPU's, so a run's trajectory depends on its
    device. A family makes every tensor on the device of the training tensors it is
    given (``X.device``) or of its generator, never on torch's default device
    (``tests/models/test_contract.py`` checks this with the default set to ``"meta"``).
    Only CPU runs are tested: GPU runs are untested until a GPU result is recorded.

    ``fit`` runs ``max_iter`` optimisation steps and records ``history_``, a tidy
    DataFrame with one row per evaluated step and split and the columns

    ============ ==============================================================
    step         optimisation steps taken before the row's evaluation (0 = init)
    split        ``"train"`` or ``"test"`` (``eval_set``)
    objective    ``data_fit + complexity`` (plus a constant where the family's
                 objective has one), the per-datapoint training objective
    data_fit     the data-fit term on that split, per datapoint (nats)
    complexity   the complexity term, per training datapoint (nats); a property
                 of the model, computed in the step's training pass and copied
                 to its test row
    loss         the mean negative log predictive probability (classifiers) or
                 the family's predictive loss, per datapoint
    error        misclassification rate (classifiers) or mean squared error
                 (regressors)
    accuracy     classifiers only: ``1 - error``
    ...          family-specific columns (lengthscales, norms, ...)
    ============ ==============================================================

    A row at step ``t`` describes the model after ``t`` updates, computed before the
    ``t``-th update (as in Miller et al.'s code). With full-batch training, the train
    row is computed from the very forward pass that gives the step's gradient.

    **The contract of a family** (the one place it is written; ``tests/models/
    test_contract.py`` checks every registered family against it). A family is one
    file with a class on :class:`TrajectoryClassifier` or :class:`TrajectoryRegressor`
    whose ``__init__`` stores its parameters (scikit-learn's convention) including the
    shared ones above, plus one line in :mod:`grokbeyond.registry`. Every tensor has a
    leading replicate axis R; every term has shape (R,).

    Required:

    - ``_build(X, y, generator)``: create the fitted model (attributes ending in ``_``)
      from training tensors of shape (R, n, d) and (R, n); draw only from ``generator``.
    - ``_make_optimizer()``: the torch optimiser over the model's parameters.
    - ``_terms(X, y, *, train)``: a dict of per-replicate tensors ``objective``
      (minimised), ``data_fit``, ``complexity`` (nats per datapoint; ``objective =
      data_fit + complexity + _objective_constant``), ``loss``, ``error`` (and
      ``accuracy`` for classifiers); further keys become extra ``history_`` columns.
    - ``_predict_proba(X)`` (classifiers, shape (R, n, n_classes)) or ``_predict(X)``
      (regressors, shape (R, n)).

    Optional, with their defaults:

    - ``_check_params()``: validate the family's own parameters (nothing).
    - ``_model_quantities()``: model-level values recorded on every row, shape (R,)
      or (R, k) for per-dimension ones (``{}``); called once per evaluated step.
    - ``_complete_history(history)``: the fitted replicate's ``history_`` with columns
      that need the whole trajectory (an alignment with the final state); called on
      a replicate that completed (identity).
    - ``_decision_function(X)`` (classifiers without probabilities, shape (R, n,
      n_classes)) instead of ``_predict_proba``: ``predict`` takes its argmax and
      ``decision_function`` replaces ``predict_proba``.
    - ``_fit_context()``: a context manager around fit and prediction (none).
    - ``_evaluation_terms(X, y, *, train)``: the terms recorded in ``history_`` when
      they differ from the gradient pass's (a one-sample ELBO); defining it stops the
      training pass from being recorded (``_terms``).
    - ``_gradient_objective(terms)``: what the optimiser differentiates (``objective``).
    - ``_target_dtype()``: the dtype of the target tensor (long for classifiers).
    - ``_objective(X, y)``: the per-replicate gradient objective alone, for the steps
      that record nothing (``_gradient_objective(_terms(X, y, train=True))``); a
      family overrides it to skip the recorded-only terms.
    - ``_gradients(X, y)``: closed-form gradients of the summed objective, a dict
      keyed like ``_parameters()``; defining it replaces autograd in every step
      (not defined).
    - ``_parameters()`` and ``_load_parameters(params)``: the trainable tensors by
      name, shape (R, ...), and setting them; defining both makes the family
      *batchable*: replicates of it train as one batched model (:func:`fit_batched`).
      A batchable family draws any noise of its gradient pass from
      ``self._replicate_generators[r]`` and of its recorded rows
      (``_evaluation_terms``) from ``self._evaluation_generators[r]``: one generator
      per replicate and stream, so neither batching nor recording moves a trajectory.
    - class attributes ``_numerical_errors`` (exceptions reported as
      :class:`NumericalError`, besides ``ArithmeticError``; ``()``), ``_model_terms`` (terms copied from the train
      row to the test row; ``("complexity",)``), ``_objective_constant`` (``0.0``),
      ``_replicate_params`` (parameters, used by ``_build`` only, that may differ
      between the replicates of one batched fit, besides ``random_state``; ``()``),
      ``_runaway_check`` (whether a runaway objective fails the fit; ``True``, False for
      a family that does not minimise its objective, the RFM).

    Non-finite and runaway objectives (past ``RUNAWAY = 1e10`` times one plus the
    first recorded value's magnitude) are detected at evaluated steps (``eval_every``):
    the failure is reported at the first evaluated step whose recorded objective is
    either. A fit that raises leaves the estimator as it was before it.

    **Continuing a fit** (``warm_start=True``). A fit with ``warm_start=True`` keeps
    what the next one needs to go on: its step, the optimiser's state (Adam's moments),
    the random streams of training and evaluation (minibatch order and position, noise
    draws), the runaway bounds. The next ``fit`` (still ``warm_start=True``) trains
    another ``max_iter`` steps from there and ``history_`` goes on from step ``n_iter_``:
    fit(a) then fit(b) records exactly fit(a + b) when an integer ``eval_every`` divides
    ``a`` (a full-batch fit records its last train row from the training pass's own
    path, as the continuing fit's first step would). Only ``max_iter``,
    ``eval_every`` and ``verbose`` may change in between; other parameters, the training
    data or the presence of an ``eval_set`` raise ``InputError``. A fit stopped by a
    callback continues from the step it stopped at; :func:`fit_batched` continues
    replicates stopped at one step. ``clone`` starts afresh.

    Examples
    --------
    Every family shares the base's parameters and its ``history_``; a new family is
    written on :class:`TrajectoryClassifier` (see its example) or
    :class:`TrajectoryRegressor`.

    >>> from grokbeyond.models import LogisticRegression, TrajectoryEstimator
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> data = make_sparse_parity(n_bits=6, k=1, n_train=100, n_test=50, random_state=0)
    >>> clf = LogisticRegression(max_iter=40, eval_every=20, random_state=0)
    >>> clf.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test)).n_iter_
    40
    >>> isinstance(clf, TrajectoryEstimator), clf.history_[["step", "split"]].values.tolist()[-2:]
    (True, [[40, 'train'], [40, 'test']])
    """

    #: Full batch unless a family makes ``batch_size`` a parameter.
    batch_size = None
    #: Precision unless a family makes ``dtype`` a parameter (or sets it as a class attribute).
    dtype = "float64"
    #: Where the tensors live unless a family makes ``device`` a parameter.
    device = "cpu"

    # Exceptions a family raises for numerical failures, reported as NumericalError.
    _numerical_errors: tuple[type[BaseException], ...] = ()
    _runaway_check = True

    # Terms that are properties of the model, not of the evaluated data: computed with
    # the training pass of a step and copied to that step's test rows.
    _model_terms: tuple[str, ...] = ("complexity",)

    # A constant of the objective outside both terms (e.g. ½ log 2π of a Gaussian MLL).
    _objective_constant = 0.0

    # Whether targets are numeric (regression) rather than class labels.
    _y_numeric = False

    # Whether a family takes 2-d targets (several outputs).
    _multi_output = False

    # Parameters (used by _build only) that may differ between replicates of one batch.
    _replicate_params: tuple[str, ...] = ()

    # ---- hooks a family implements -------------------------------------------------
    def _build(self, X: torch.Tensor, y: torch.Tensor, generator: torch.Generator) -> None:
        """Create the fitted model from training data of shape (R, n, d) and (R, n)."""
        raise NotImplementedError

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """Return the optimiser over the model's parameters."""
        raise NotImplementedError

    def _terms(self, X: torch.Tensor, y: torch.Tensor, *, train: bool) -> dict[str, torch.Tensor]:
        """Per-replicate terms on (X, y): ``objective``, ``data_fit``, ``complexity``,
        ``loss``, ``error`` (and ``accuracy``), each of shape (R,); further keys are
        recorded as extra columns. ``train`` says whether (X, y) is (part of) the
        training set, for families whose training terms differ from held-out ones."""
        raise NotImplementedError

    def _evaluation_terms(self, X: torch.Tensor, y: torch.Tensor, *, train: bool) -> dict[str, torch.Tensor]:
        """The terms recorded in ``history_`` (same keys as ``_terms``); by default the
        gradient pass's own terms. Families whose gradient pass is a stochastic estimate
        (a one-sample ELBO) evaluate recorded rows differently."""
        return self._terms(X, y, train=train)

    def _gradient_objective(self, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """The per-replicate quantity whose gradient the optimiser follows."""
        return terms["objective"]

    def _objective(self, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The per-replicate gradient objective on a (mini)batch, shape (R,)."""
        return self._gradient_objective(self._terms(X, y, train=True))

    def _parameters(self) -> dict[str, torch.Tensor]:
        """The trainable tensors by name, each of shape (R, ...)."""
        raise NotImplementedError

    def _load_parameters(self, params: dict[str, torch.Tensor]) -> None:
        """Set the trainable tensors from ``params`` (keys of ``_parameters()``)."""
        raise NotImplementedError

    @property
    def _batchable(self) -> bool:
        """Whether replicates of this family can train as one batched model."""
        cls = type(self)
        return (cls._parameters is not TrajectoryEstimator._parameters
                and cls._load_parameters is not TrajectoryEstimator._load_parameters)

    @property
    def _closed_form_gradients(self) -> bool:
        """Whether the family computes its gradients itself (``_gradients``)."""
        return hasattr(self, "_gradients")

    def _set_gradients(self, X: torch.Tensor, y: torch.Tensor) -> None:
        """Store the closed-form gradients on (X, y) as the parameters' ``.grad``
        (called under ``torch.no_grad()``)."""
        params = self._parameters()
        for name, gradient in self._gradients(X, y).items():
            params[name].grad = gradient

    def _model_quantities(self) -> dict[str, torch.Tensor]:
        """Model-level quantities recorded on every row, shape (R,) or (R, k)."""
        return {}

    def _complete_history(self, history):
        """``history_`` with the columns that need the whole trajectory (identity)."""
        return history

    def _continue(self) -> None:
        """Restore the working state a continued fit (``warm_start``) needs that the end
        of the previous fit dropped (see ``_complete_history``)."""

    #: Columns ``_complete_history`` computes from the whole trajectory (recomputed when a
    #: fit is continued).
    _completed_columns: tuple[str, ...] = ()

    def _check_params(self) -> None:
        """Validate the family's own parameters (raise ValueError / TypeError)."""

    def _fit_context(self):
        """A context manager active during fit and prediction (e.g. gpytorch settings)."""
        return contextlib.nullcontext()

    @property
    def _torch_dtype(self):
        """The torch dtype of ``dtype``."""
        return _DTYPES[self.dtype]

    @property
    def _torch_device(self) -> torch.device:
        """The torch device of ``device``."""
        return torch.device(self.device)

    @property
    def _record_training_pass(self) -> bool:
        """Whether a full-batch gradient pass's terms are recorded as the step's train row
        (not when the family evaluates recorded rows with its own ``_evaluation_terms``)."""
        return type(self)._evaluation_terms is TrajectoryEstimator._evaluation_terms

    def __sklearn_is_fitted__(self) -> bool:
        # Fitted means a fit completed: a fit that raised leaves no history_.
        return "history_" in vars(self)

    def _inference(self, X, method) -> np.ndarray:
        """Validate ``X`` for a fitted estimator and return ``method(X)[0]`` as float64 numpy."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype="numeric")
        X = torch.tensor(X, dtype=self._torch_dtype, device=self._fitted_device).unsqueeze(0)
        with torch.no_grad(), self._fit_context():
            return method(X)[0].cpu().numpy().astype(np.float64)

    # ---- data handling ----------------------------------------------------------
    def _validate_targets(self, y, *, fitting: bool) -> np.ndarray:
        raise NotImplementedError

    def _as_tensors(self, X, y):
        X = torch.tensor(np.asarray(X), dtype=self._torch_dtype, device=self._torch_device).unsqueeze(0)
        y = torch.tensor(np.asarray(y), dtype=self._target_dtype(), device=self._torch_device).unsqueeze(0)
        return X, y

    def _target_dtype(self):
        return self._torch_dtype

    def _validate_eval_set(self, eval_set):
        if eval_set is None:
            return None
        if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
            raise InputError("eval_set must be a pair (X_test, y_test).")
        X_test, y_test = validate_data(
            self, eval_set[0], eval_set[1], reset=False, dtype="numeric", y_numeric=self._y_numeric,
            multi_output=self._multi_output,
        )
        return self._as_tensors(X_test, self._validate_targets(y_test, fitting=False))

    def _check_base_params(self) -> None:
        check_number(self.max_iter, "max_iter", Integral, min_val=0)
        evaluation_steps(int(self.max_iter), self.eval_every)
        check_random_state(self.random_state)
        if self.batch_size is not None:
            check_number(self.batch_size, "batch_size", Integral, min_val=1)
        if self.dtype not in _DTYPES:
            raise InputError(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}.")
        _check_device(self.device)
        if self._torch_device.type == "mps" and self.dtype == "float64":
            raise InputError(f"device={self.device!r}: mps has no float64; set dtype='float32' where the family "
                             "takes a dtype.")
        self._check_params()
        largest = torch.finfo(self._torch_dtype).max
        for name, value in self.get_params(deep=False).items():
            if isinstance(value, float) and math.isfinite(value) and abs(value) > largest:
                raise InputError(f"{name}={value:g} is beyond the range of {self.dtype} (±{largest:.4g}), the "
                                 "estimator's dtype.")

    # ---- the loop -------------------------------------------------------------
    def fit(self, X, y, *, eval_set=None, callbacks=None):
        """Fit the model, recording its trajectory in ``history_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Training targets.
        eval_set : tuple (X_test, y_test), default=None
            Held-out data evaluated at the same steps as the training data; its rows
            have ``split == "test"``.
        callbacks : sequence of callable, default=None
            Each called as ``callback(self, rows)`` at every evaluated step with the
            step's new ``history_`` rows; it may add columns to ``rows`` and stop the
            fit by returning True (:mod:`grokbeyond.models._callbacks`; shipped:
            :class:`StopOnGrokking`, :class:`StopOnPlateau`).

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            If the inputs contain NaN or infinity, have the wrong number of
            dimensions or features, mismatched lengths, or unsuitable targets, or a
            parameter is invalid.
        NumericalError
            If the objective becomes non-finite or runs away, growing past
            ``1e10 × (1 + |its first recorded value|)`` (detected at the first
            evaluated step after it does, see ``eval_every``), or a factorisation
            fails; its ``step`` and ``history`` attributes say where and what was
            recorded.

        Whatever it raises, ``fit`` leaves the estimator as it was before the call:
        unfitted if it was (``predict`` raises ``NotFittedError``), else with its
        previous fit (scikit-learn's convention).
        """
        before = _snapshot(self)
        try:
            outcome = fit_members([self], [self._prepare_fit(X, y, eval_set)], _check_callbacks(callbacks))[0]
        except BaseException:
            self._restore(before)
            raise
        if outcome is not None:
            self._restore(before)
            raise outcome
        return self

    def _restore(self, state: dict) -> None:
        """Put back the attributes of ``state`` (a copy of ``vars(self)``), dropping any others."""
        vars(self).clear()
        vars(self).update(state)

    def _prepare_fit(self, X, y, eval_set):
        """Validate the parameters and data of a fit; return the tensors (1, n, d),
        (1, n) (or (1, n, n_outputs) for 2-d targets) and the test pair (or None)."""
        self._check_base_params()
        X, y = validate_data(self, X, y, dtype="numeric", y_numeric=self._y_numeric, multi_output=self._multi_output)
        y = self._validate_targets(y, fitting=True)
        X_train, y_train = self._as_tensors(X, y)
        return X_train, y_train, self._validate_eval_set(eval_set)


def _check_device(device) -> None:
    """Raise ``InputError`` unless ``device`` names a torch device this machine has."""
    if not isinstance(device, (str, torch.device)):
        raise InputError(f"device must be a str or torch.device such as 'cpu' or 'cuda:0'; got {device!r}.")
    try:
        device = torch.device(device)
    except RuntimeError as err:
        raise InputError(f"device must be a torch device such as 'cpu' or 'cuda:0'; got {device!r} ({err}).") from None
    if device.type == "cpu":
        return
    module = getattr(torch, device.type, None)
    available = module is not None and hasattr(module, "is_available") and module.is_available()
    if not available:
        raise InputError(f"device={str(device)!r}: this machine's torch has no {device.type} device available.")
    if device.index is not None and hasattr(module, "device_count") and device.index >= module.device_count():
        raise InputError(f"device={str(device)!r}: there are only {module.device_count()} {device.type} device(s).")


def _check_callbacks(callbacks) -> tuple:
    if callbacks is None:
        return ()
    if callable(callbacks) or isinstance(callbacks, (str, bytes)):
        raise InputError(f"callbacks must be a sequence of callables; got {callbacks!r}.")
    callbacks = tuple(callbacks)  # a generator is read once
    if not all(map(callable, callbacks)):
        raise InputError(f"callbacks must be a sequence of callables; got {callbacks!r}.")
    return callbacks


def _snapshot(estimator) -> dict:
    """What ``fit`` puts back if it raises: the attributes, deep-copied when the fit will
    continue the fitted tensors in place (``warm_start``), else shallow (a fresh fit
    builds new ones)."""
    state = vars(estimator)
    return copy.deepcopy(state) if estimator.warm_start and "_warm_state" in state else dict(state)
