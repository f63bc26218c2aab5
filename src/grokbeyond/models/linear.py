"""Linear regression by gradient descent on a Gaussian likelihood and prior (MAP)."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_scalar

from ._base import TrajectoryRegressor

__all__ = ["LinearRegression"]


class LinearRegression(TrajectoryRegressor):
    """Linear regression trained by gradient descent to the MAP estimate.

    ``ŷ = X w (+ b)``. The per-datapoint objective of Miller, O'Neill & Bui (2023,
    sec. 3.3, experiments E4–E7) splits into

    - ``data_fit = Σᵢ (ŷᵢ − yᵢ)² / σ² / n`` — the Gaussian negative log-likelihood with
      noise variance σ² (``noise_variance``), up to a factor ½ and constants, on the
      split's n points;
    - ``complexity = Σⱼ wⱼ² / s² / n_train`` — the Gaussian prior N(0, s²) on the
      weights (``prior_variance``), likewise; the intercept is not penalised;
    - ``objective = data_fit + complexity``.

    ``error`` is the mean squared error, ``loss`` the Gaussian negative log
    predictive density ``mean(½ (ŷ − y)² / σ² + ½ log 2πσ²)`` (nats per datapoint), and
    ``sign_accuracy`` the paper's metric, the fraction of points with
    ``sign(ŷ) = sign(y)``. With ``epsilon`` set, ``threshold_accuracy`` is the fraction
    of points whose squared error is below ε, the accuracy of a regressor in Levi,
    Beck & Bar-Sinai (2023, "Grokking in linear estimators", sec. 3.1.2), which
    :func:`~grokbeyond.grokking.detect_grokking` reads as ``metric="threshold_accuracy"``.

    Parameters
    ----------
    noise_variance : float, default=0.002
        σ², the likelihood's noise variance (the paper: 0.002).
    prior_variance : float or None, default=0.5
        s², the prior variance (the paper: 0.5); ``None`` removes the prior (E7).
    lr : float, default=1e-3
        SGD learning rate.
    max_iter : int, default=5000
        Number of SGD steps.
    batch_size : int or None, default=None
        Minibatch size; ``None`` is full batch (the paper).
    weight_init : array-like of shape (n_features,) or None, default=None
        Initial weights; ``None`` starts at zero. The paper's E4 uses
        ``[0.0005, 0.9, 0.9, 0.9]``, E5 ``[α, 1−α, 1−α, 1−α]``.
    fit_intercept : bool, default=False
        Whether to learn an intercept (the paper: no).
    epsilon : float or None, default=None
        ε of ``threshold_accuracy`` (> 0, in squared target units); ``None`` records
        no such column.
    eval_every : int or "log", default=1
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the minibatch order.
    verbose : bool, default=False

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    history_ : pandas.DataFrame
        The trajectory, with the further columns ``sign_accuracy``,
        ``threshold_accuracy`` (with ``epsilon``) and ``weight_0 …`` (the weights).
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        From ``fit``, for NaN inputs, a ``weight_init`` of the wrong length, or invalid
        parameters.
    NumericalError
        From ``fit``, if the objective becomes non-finite, naming the step.
    """

    def __init__(
        self,
        *,
        noise_variance=0.002,
        prior_variance=0.5,
        lr=1e-3,
        max_iter=5000,
        batch_size=None,
        weight_init=None,
        fit_intercept=False,
        epsilon=None,
        eval_every=1,
        random_state=None,
        verbose=False,
    ):
        self.noise_variance = noise_variance
        self.prior_variance = prior_variance
        self.lr = lr
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.weight_init = weight_init
        self.fit_intercept = fit_intercept
        self.epsilon = epsilon
        self.eval_every = eval_every
        self.random_state = random_state
        self.verbose = verbose

    _replicate_params = ("weight_init",)

    _affine = None  # (A, c) of the full-batch gradient map, formed by the first step of a fit

    def _check_params(self):
        check_scalar(self.noise_variance, "noise_variance", Real, min_val=0.0, include_boundaries="neither")
        if self.prior_variance is not None:
            check_scalar(self.prior_variance, "prior_variance", Real, min_val=0.0, include_boundaries="neither")
        check_scalar(self.lr, "lr", Real, min_val=0.0, include_boundaries="neither")
        if self.epsilon is not None:
            check_scalar(self.epsilon, "epsilon", Real, min_val=0.0, include_boundaries="neither")

    def _build(self, X, y, generator):
        n_replicates, _, n_features = X.shape
        if self.weight_init is None:
            weights = torch.zeros(n_replicates, n_features, dtype=X.dtype)
        else:
            init = np.asarray(self.weight_init, dtype=np.float64)
            if init.shape != (n_features,) or not np.isfinite(init).all():
                raise ValueError(
                    f"weight_init must be a finite array of shape ({n_features},) (n_features); got {init.shape}."
                )
            weights = torch.tensor(init, dtype=X.dtype).expand(n_replicates, -1).clone()
        self._affine = None
        self.weights_ = weights.requires_grad_()
        self.bias_ = torch.zeros(n_replicates, 1, dtype=X.dtype, requires_grad=self.fit_intercept)

    def _make_optimizer(self):
        parameters = [self.weights_] + ([self.bias_] if self.fit_intercept else [])
        return torch.optim.SGD(parameters, lr=self.lr)

    def _predict(self, X):
        return (X @ self.weights_.unsqueeze(-1)).squeeze(-1) + self.bias_

    def _terms(self, X, y, *, train):
        residual = self._predict(X) - y
        squared = residual.square()
        data_fit = squared.sum(-1) / self.noise_variance / y.shape[-1]
        if self.prior_variance is None:
            complexity = torch.zeros(X.shape[0], dtype=X.dtype)
        else:
            complexity = self.weights_.square().sum(-1) / self.prior_variance / self.n_train_
        terms = {
            "objective": data_fit + complexity,
            "data_fit": data_fit,
            "complexity": complexity,
            "loss": (0.5 * squared / self.noise_variance).mean(-1)
            + 0.5 * math.log(2 * math.pi * self.noise_variance),
            "error": squared.mean(-1),
            "sign_accuracy": self._sign_accuracy(residual + y, y),
        }
        if self.epsilon is not None:
            terms["threshold_accuracy"] = (squared < self.epsilon).to(squared.dtype).mean(-1)
        return terms

    def _gradients(self, X, y):
        # The gradient of the summed objective in closed form (no autograd graph):
        # ∇w = 2/(σ² n) Xᵀ(Xw + b − y) + 2/(s² N) w. Full batch without intercept, X is
        # the training set at every step and ∇w = A w − c is an affine map formed once.
        prior = 0.0 if self.prior_variance is None else 2.0 / self.prior_variance / self.n_train_
        scale = 2.0 / self.noise_variance / y.shape[-1]
        full_batch = self.batch_size is None or self.batch_size >= self.n_train_
        if full_batch and not self.fit_intercept:
            if self._affine is None:
                A = (X.transpose(1, 2) @ X).mul_(scale)
                A.diagonal(dim1=1, dim2=2).add_(prior)
                self._affine = A, (X.transpose(1, 2) @ y.unsqueeze(-1)).mul_(scale)
            A, c = self._affine
            return {"weights": torch.baddbmm(c, A, self.weights_.unsqueeze(-1), beta=-1).squeeze(-1)}
        residual = self._predict(X) - y
        weights = torch.bmm(residual.unsqueeze(1), X).squeeze(1).mul_(scale)
        if prior:
            weights.add_(self.weights_, alpha=prior)
        gradients = {"weights": weights}
        if self.fit_intercept:
            gradients["bias"] = residual.sum(-1, keepdim=True).mul_(scale)
        return gradients

    def _parameters(self):
        return {"weights": self.weights_, "bias": self.bias_}

    def _load_parameters(self, params):
        self.weights_, self.bias_ = params["weights"], params["bias"]

    def _model_quantities(self):
        return {"weight": self.weights_}

    @property
    def coef_(self):
        """Fitted weights, ndarray of shape (n_features,)."""
        return self.weights_.detach()[0].numpy().copy()

    @property
    def intercept_(self):
        """Fitted intercept (float; 0 unless ``fit_intercept``)."""
        return float(self.bias_.detach()[0, 0])
