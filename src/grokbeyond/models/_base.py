"""The shared base of every grokbeyond estimator: one training loop for all families.

A family supplies what is its own (building the model, the optimiser, the data-fit and
complexity terms, predictions); the base owns validation, the step schedule,
minibatching, evaluation, the ``history_`` rows, progress and seeding.

Every tensor a family builds carries a leading *replicate* axis of size
``n_replicates`` (1 for a single estimator), and every term is returned per replicate,
shape ``(n_replicates,)``. Replicates have disjoint parameters and the loop minimises the
*sum* of their objectives, so each replicate's gradient, and hence its trajectory under
an element-wise optimiser (SGD, Adam), is exactly the one it would have alone. A batch
of seeds can thus later be trained as one batched model.
"""

from __future__ import annotations

import contextlib
from numbers import Integral

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_scalar
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from tqdm.auto import tqdm

from .._random import check_random_state, torch_generator

__all__ = [
    "HISTORY_COLUMNS",
    "NumericalError",
    "TrajectoryClassifier",
    "TrajectoryEstimator",
    "TrajectoryRegressor",
    "evaluation_steps",
]

HISTORY_COLUMNS = ("step", "split", "objective", "data_fit", "complexity", "loss", "error")
"""Columns every ``history_`` has; classifiers add ``accuracy``, families add their own."""

_N_LOG_STEPS = 100
_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class NumericalError(RuntimeError):
    """A numerical failure during ``fit`` (non-finite objective, failed Cholesky).

    Attributes
    ----------
    step : int
        The optimisation step at which the failure happened.
    history : pandas.DataFrame
        The ``history_`` rows recorded before the failure, so a sweep can store them.
    """

    def __init__(self, message: str, *, step: int, history: pd.DataFrame):
        super().__init__(message)
        self.step = step
        self.history = history


def evaluation_steps(max_iter: int, eval_every) -> np.ndarray:
    """Steps at which ``fit`` evaluates and records the model.

    Parameters
    ----------
    max_iter : int
        Number of optimisation steps.
    eval_every : int or "log"
        Every ``eval_every`` steps, or ``"log"``: every step up to 10, then about 100
        log-spaced steps (grokking is seen on a log-step axis). Step 0 (the
        initialisation) and step ``max_iter`` (the final state) are always included.

    Returns
    -------
    steps : ndarray of shape (n_evaluations,)
        Sorted, unique steps in ``[0, max_iter]``.

    Raises
    ------
    ValueError
        If ``eval_every`` is neither a positive int nor ``"log"``.
    """
    if isinstance(eval_every, str):
        if eval_every != "log":
            raise ValueError(f"eval_every must be a positive int or 'log'; got {eval_every!r}.")
        grid = np.geomspace(1, max(max_iter, 1), _N_LOG_STEPS).round()
        steps = np.concatenate([np.arange(min(10, max_iter) + 1), grid, [max_iter]])
    else:
        eval_every = check_scalar(eval_every, "eval_every", Integral, min_val=1)
        steps = np.concatenate([np.arange(0, max_iter + 1, eval_every), [max_iter]])
    steps = np.unique(steps.astype(np.int64))
    return steps[steps <= max_iter]


class TrajectoryEstimator(BaseEstimator):
    """Base class of grokbeyond's estimators: ``fit`` records a training trajectory.

    Not used directly; every family (``GPClassifier``, ``LogisticRegression``, ...)
    derives from it (through :class:`TrajectoryClassifier` or
    :class:`TrajectoryRegressor`) and shares its parameters ``max_iter``,
    ``eval_every``, ``random_state`` and ``verbose``; ``batch_size`` (``None``: full
    batch) and ``dtype`` (``"float32"`` or ``"float64"``) are read from the base's
    defaults unless a family makes them constructor parameters.

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
      or (R, k) for per-dimension ones (``{}``).
    - ``_fit_context()``: a context manager around fit and prediction (none).
    - ``_evaluation_terms(X, y, *, train)``: the terms recorded in ``history_`` when
      they differ from the gradient pass's (a one-sample ELBO); defining it stops the
      training pass from being recorded (``_terms``).
    - ``_gradient_objective(terms)``: what the optimiser differentiates (``objective``).
    - ``_target_dtype()``: the dtype of the target tensor (long for classifiers).
    - class attributes ``_numerical_errors`` (exceptions reported as
      :class:`NumericalError`; ``()``), ``_model_terms`` (terms copied from the train
      row to the test row; ``("complexity",)``), ``_objective_constant`` (``0.0``).
    """

    #: Full batch unless a family makes ``batch_size`` a parameter.
    batch_size = None
    #: Precision unless a family makes ``dtype`` a parameter (or sets it as a class attribute).
    dtype = "float64"

    # Exceptions a family raises for numerical failures, reported as NumericalError.
    _numerical_errors: tuple[type[BaseException], ...] = ()

    # Terms that are properties of the model, not of the evaluated data: computed with
    # the training pass of a step and copied to that step's test rows.
    _model_terms: tuple[str, ...] = ("complexity",)

    # A constant of the objective outside both terms (e.g. ½ log 2π of a Gaussian MLL).
    _objective_constant = 0.0

    # Whether targets are numeric (regression) rather than class labels.
    _y_numeric = False

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

    def _model_quantities(self) -> dict[str, torch.Tensor]:
        """Model-level quantities recorded on every row, shape (R,) or (R, k)."""
        return {}

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
    def _record_training_pass(self) -> bool:
        """Whether a full-batch gradient pass's terms are recorded as the step's train row
        (not when the family evaluates recorded rows with its own ``_evaluation_terms``)."""
        return type(self)._evaluation_terms is TrajectoryEstimator._evaluation_terms

    def _inference(self, X, method) -> np.ndarray:
        """Validate ``X`` for a fitted estimator and return ``method(X)[0]`` as float64 numpy."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype="numeric")
        X = torch.tensor(X, dtype=self._torch_dtype).unsqueeze(0)
        with torch.no_grad(), self._fit_context():
            return method(X)[0].numpy().astype(np.float64)

    # ---- data handling ----------------------------------------------------------
    def _validate_targets(self, y, *, fitting: bool) -> np.ndarray:
        raise NotImplementedError

    def _as_tensors(self, X, y):
        X = torch.tensor(np.asarray(X), dtype=self._torch_dtype).unsqueeze(0)
        y = torch.tensor(np.asarray(y), dtype=self._target_dtype()).unsqueeze(0)
        return X, y

    def _target_dtype(self):
        return self._torch_dtype

    def _validate_eval_set(self, eval_set):
        if eval_set is None:
            return None
        if not isinstance(eval_set, (tuple, list)) or len(eval_set) != 2:
            raise TypeError("eval_set must be a pair (X_test, y_test).")
        X_test, y_test = validate_data(
            self, eval_set[0], eval_set[1], reset=False, dtype="numeric", y_numeric=self._y_numeric
        )
        return self._as_tensors(X_test, self._validate_targets(y_test, fitting=False))

    def _check_base_params(self) -> None:
        check_scalar(self.max_iter, "max_iter", Integral, min_val=0)
        evaluation_steps(int(self.max_iter), self.eval_every)
        check_random_state(self.random_state)
        if self.batch_size is not None:
            check_scalar(self.batch_size, "batch_size", Integral, min_val=1)
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}.")
        self._check_params()

    # ---- the loop -------------------------------------------------------------
    def fit(self, X, y, *, eval_set=None):
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
            If the objective becomes non-finite or a factorisation fails; its
            ``step`` and ``history`` attributes say where and what was recorded.
        """
        self._check_base_params()
        X, y = validate_data(self, X, y, dtype="numeric", y_numeric=self._y_numeric)
        y = self._validate_targets(y, fitting=True)
        X_train, y_train = self._as_tensors(X, y)
        test = self._validate_eval_set(eval_set)
        generator = torch_generator(self.random_state)
        self.n_train_ = X_train.shape[1]

        max_iter = int(self.max_iter)
        record_at = set(evaluation_steps(max_iter, self.eval_every).tolist())
        batches = self._batches(X_train.shape[1], generator)
        rows: list[dict] = []
        step = 0
        try:
            with self._fit_context():
                self._build(X_train, y_train, generator)
                optimizer = self._make_optimizer()
                progress = tqdm(total=max_iter, disable=not self.verbose, desc=type(self).__name__)
                for step in range(max_iter + 1):
                    record = step in record_at
                    train_terms = None
                    if step < max_iter:
                        index = next(batches)
                        Xb, yb = (X_train, y_train) if index is None else (X_train[:, index], y_train[:, index])
                        optimizer.zero_grad(set_to_none=True)
                        terms = self._terms(Xb, yb, train=True)
                        objective = self._gradient_objective(terms)
                        if not torch.isfinite(objective).all():
                            raise FloatingPointError(f"the objective is {objective.tolist()}")
                        objective.sum().backward()
                        if record and index is None and self._record_training_pass:
                            train_terms = terms
                    if record:
                        train_terms = self._evaluated(train_terms, X_train, y_train, train=True)
                        rows += self._rows(step, "train", train_terms)
                        if test is not None:
                            test_terms = self._evaluated(None, *test, train=False)
                            test_terms.update({name: train_terms[name] for name in self._model_terms})
                            test_terms["objective"] = (
                                test_terms["data_fit"] + test_terms["complexity"] + self._objective_constant
                            )
                            rows += self._rows(step, "test", test_terms)
                        if self.verbose:
                            progress.set_postfix(self._postfix(rows, test is not None))
                    if step < max_iter:
                        optimizer.step()
                        progress.update()
                progress.close()
        except (FloatingPointError, *self._numerical_errors) as err:
            raise NumericalError(
                f"{type(self).__name__}.fit failed at step {step}: {type(err).__name__}: {err}",
                step=step,
                history=self._history_frame(rows),
            ) from err

        self.history_ = self._history_frame(rows)
        self.n_iter_ = max_iter
        return self

    def _batches(self, n: int, generator: torch.Generator):
        """Yield index tensors of minibatches (epoch-wise shuffles), or None for full batch."""
        batch_size = self.batch_size
        if batch_size is None or batch_size >= n:
            while True:
                yield None
        while True:
            order = torch.randperm(n, generator=generator)
            for start in range(0, n, batch_size):
                yield order[start : start + batch_size]

    def _evaluated(self, terms, X, y, *, train) -> dict[str, torch.Tensor]:
        """Detached terms: those of the training pass when given, else a fresh evaluation."""
        with torch.no_grad():
            if terms is None:
                terms = self._evaluation_terms(X, y, train=train)
            return {name: value.detach() for name, value in terms.items()}

    def _rows(self, step, split, terms) -> list[dict]:
        with torch.no_grad():
            values = dict(terms)
            values.update(self._model_quantities())
        n_replicates = next(iter(values.values())).shape[0]
        rows = []
        for r in range(n_replicates):
            row = {"step": step, "split": split}
            if n_replicates > 1:
                row["replicate"] = r
            for name, value in values.items():
                value = value[r]
                if value.ndim == 0:
                    row[name] = value.item()
                else:
                    row.update({f"{name}_{i}": v for i, v in enumerate(value.tolist())})
            rows.append(row)
        return rows

    @staticmethod
    def _postfix(rows, has_test):
        last = rows[-2:] if has_test else rows[-1:]
        key = "accuracy" if "accuracy" in last[-1] else "error"
        return {f"{row['split']}_{key}": f"{row[key]:.3f}" for row in last}

    @staticmethod
    def _history_frame(rows) -> pd.DataFrame:
        frame = pd.DataFrame(rows)
        if frame.empty:
            return pd.DataFrame(columns=list(HISTORY_COLUMNS))
        front = [c for c in (*HISTORY_COLUMNS[:2], "replicate", *HISTORY_COLUMNS[2:], "accuracy") if c in frame]
        frame = frame[front + [c for c in frame.columns if c not in front]]
        frame["split"] = frame["split"].astype("category")
        return frame


class TrajectoryClassifier(ClassifierMixin, TrajectoryEstimator):
    """Base class of grokbeyond's classifiers: label encoding, ``predict_proba``, ``predict``.

    A family implements ``_predict_proba(X)`` returning a tensor of shape
    (R, n_samples, n_classes).
    """

    def _target_dtype(self):
        return torch.long

    def _validate_targets(self, y, *, fitting: bool) -> np.ndarray:
        check_classification_targets(y)
        if fitting:
            encoder = LabelEncoder().fit(y)
            if len(encoder.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in y; "
                    f"got one class ({encoder.classes_[0]!r})."
                )
            self.classes_ = encoder.classes_
            return encoder.transform(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(f"eval_set y contains labels not seen in the training y: {unseen.tolist()}.")
        return np.searchsorted(self.classes_, y)

    @staticmethod
    def _cross_entropy_terms(log_proba: torch.Tensor, y: torch.Tensor, complexity: torch.Tensor):
        """Terms of a point-estimate classifier: data fit = loss = mean cross-entropy (nats).

        ``log_proba`` has shape (R, n, n_classes), ``y`` (R, n), ``complexity`` (R,).
        """
        data_fit = -log_proba.gather(-1, y[..., None]).squeeze(-1).mean(-1)
        accuracy = (log_proba.argmax(-1) == y).to(log_proba.dtype).mean(-1)
        return {
            "objective": data_fit + complexity,
            "data_fit": data_fit,
            "complexity": complexity,
            "loss": data_fit,
            "error": 1.0 - accuracy,
            "accuracy": accuracy,
        }

    def predict_proba(self, X):
        """Predictive class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns follow ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` has NaN, the wrong shape or the wrong number of features.
        """
        return self._inference(X, self._predict_proba)

    def predict(self, X):
        """Predicted class labels (the most probable class).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)  # checks fitted state and input first
        return self.classes_[np.argmax(proba, axis=1)]

    def _predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class TrajectoryRegressor(RegressorMixin, TrajectoryEstimator):
    """Base class of grokbeyond's regressors: numeric targets, ``predict``, R² ``score``.

    A family implements ``_predict(X)`` returning a tensor of shape (R, n_samples).
    """

    _y_numeric = True

    def _validate_targets(self, y, *, fitting: bool) -> np.ndarray:
        return np.asarray(y, dtype=np.float64)

    @staticmethod
    def _sign_accuracy(prediction: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Fraction of points with sign(ŷ) = sign(y), shape (R,): Miller et al.'s (2023,
        sec. 3.3) accuracy of a regressor, and the classification accuracy of sign(ŷ) on
        ±1-coded labels."""
        return (torch.sign(prediction) == torch.sign(y)).to(prediction.dtype).mean(-1)

    def predict(self, X):
        """Predicted targets (the posterior or point-estimate mean).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` has NaN, the wrong shape or the wrong number of features.
        """
        return self._inference(X, self._predict)

    def _predict(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError
