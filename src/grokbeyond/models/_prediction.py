"""The classifier and regressor bases: label encoding, and what a fitted estimator predicts.

Every family derives from one of them (through :class:`TrajectoryEstimator`, the shared
base in :mod:`grokbeyond.models._base`).
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from ..exceptions import InputError
from ._base import TrajectoryEstimator

__all__ = ["TrajectoryClassifier", "TrajectoryRegressor"]


class TrajectoryClassifier(ClassifierMixin, TrajectoryEstimator):
    """Base class of grokbeyond's classifiers: label encoding, ``predict_proba``, ``predict``.

    A family implements ``_predict_proba(X)`` returning a tensor of shape
    (R, n_samples, n_classes), or, if it has no probabilities (a kernel machine on
    one-hot targets), ``_decision_function(X)`` of the same shape; the public
    ``predict_proba`` / ``decision_function`` exists for the one it implements.

    Examples
    --------
    A family in a few lines: softmax regression, its objective split into the mean
    cross-entropy and an ℓ2 complexity term (the example gallery registers a fuller one).

    >>> import numpy as np
    >>> import torch
    >>> from grokbeyond.models import TrajectoryClassifier
    >>> class Softmax(TrajectoryClassifier):
    ...     def __init__(self, *, alpha=1e-3, lr=0.5, max_iter=100, eval_every=10, warm_start=False,
    ...                  random_state=None, verbose=False):
    ...         self.alpha, self.lr, self.max_iter, self.eval_every = alpha, lr, max_iter, eval_every
    ...         self.warm_start, self.random_state, self.verbose = warm_start, random_state, verbose
    ...     def _build(self, X, y, generator):  # X: (R, n, d), one replicate per batched run
    ...         self.weights_ = torch.zeros(X.shape[0], X.shape[2], len(self.classes_), dtype=X.dtype,
    ...                                     device=X.device, requires_grad=True)
    ...     def _make_optimizer(self):
    ...         return torch.optim.SGD([self.weights_], lr=self.lr)
    ...     def _predict_proba(self, X):
    ...         return torch.softmax(X @ self.weights_, -1)
    ...     def _terms(self, X, y, *, train):
    ...         complexity = self.alpha * self.weights_.square().sum((1, 2))
    ...         return self._cross_entropy_terms(torch.log_softmax(X @ self.weights_, -1), y, complexity)
    >>> X = np.random.default_rng(0).normal(size=(60, 2))
    >>> clf = Softmax(random_state=0).fit(X, (X[:, 0] > 0).astype(int))
    >>> clf.history_.columns[:8].tolist()
    ['step', 'split', 'objective', 'data_fit', 'complexity', 'loss', 'error', 'accuracy']
    >>> clf.score(X, (X[:, 0] > 0).astype(int)) > 0.95
    True
    """

    def _target_dtype(self):
        return torch.long

    def _validate_targets(self, y, *, fitting: bool) -> np.ndarray:
        check_classification_targets(y)
        if fitting:
            encoder = LabelEncoder().fit(y)
            if len(encoder.classes_) < 2:
                raise InputError(
                    f"{type(self).__name__} needs samples of at least 2 classes in y; "
                    f"got one class ({encoder.classes_[0]!r})."
                )
            self.classes_ = encoder.classes_
            return encoder.transform(y)
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise InputError(f"eval_set y contains labels not seen in the training y: {unseen.tolist()}.")
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

    @available_if(lambda self: _implements(self, "_predict_proba"))
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
        """Predicted class labels: the most probable class (or, for a family without
        probabilities, the class of the highest ``decision_function`` score).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        method = self._predict_proba if _implements(self, "_predict_proba") else self._decision_function
        scores = self._inference(X, method)  # checks fitted state and input first
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(lambda self: _implements(self, "_decision_function"))
    def decision_function(self, X):
        """Per-class scores of a classifier without probabilities (e.g. an RFM's outputs).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, the second class's score minus the first's (scikit-learn's
            binary convention: positive means ``classes_[1]``); else one column per
            class, following ``classes_``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If called before ``fit``.
        ValueError
            If ``X`` has NaN, the wrong shape or the wrong number of features.

        Examples
        --------
        >>> from grokbeyond.datasets import make_modular_arithmetic
        >>> from grokbeyond.models import RFMClassifier
        >>> data = make_modular_arithmetic("add", p=5, random_state=0)
        >>> rfm = RFMClassifier(max_iter=1).fit(data.X_train, data.y_train)
        >>> rfm.decision_function(data.X_test).shape
        (13, 5)
        """
        scores = self._inference(X, self._decision_function)
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def _predict_proba(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _decision_function(self, X: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


def _implements(estimator, name: str) -> bool:
    """Whether the estimator's family overrides the classifier hook ``name``."""
    return getattr(type(estimator), name) is not getattr(TrajectoryClassifier, name)


class TrajectoryRegressor(RegressorMixin, TrajectoryEstimator):
    """Base class of grokbeyond's regressors: numeric targets, ``predict``, R² ``score``.

    A family implements ``_predict(X)`` returning a tensor of shape (R, n_samples).

    Examples
    --------
    Every regressor family is one; its ``score`` is scikit-learn's R².

    >>> import numpy as np
    >>> from grokbeyond.models import LinearRegression, TrajectoryRegressor
    >>> X = np.random.default_rng(0).normal(size=(50, 3))
    >>> reg = LinearRegression(lr=0.05, noise_variance=1.0, max_iter=300, random_state=0).fit(X, X @ [1.0, -2.0, 0.5])
    >>> isinstance(reg, TrajectoryRegressor), round(reg.score(X, X @ [1.0, -2.0, 0.5]), 2)
    (True, 1.0)
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
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            2-d for a family fitted to 2-d targets (``LinearRegression``).

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
