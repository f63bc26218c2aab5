"""Linear regression by gradient descent on a Gaussian likelihood and prior (MAP)."""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import torch

from .._validation import check_number
from ..exceptions import InputError
from ._prediction import TrajectoryRegressor

__all__ = ["LinearRegression"]


class LinearRegression(TrajectoryRegressor):
    """Linear regression trained by gradient descent to the MAP estimate.

    ``ŷ = X W (+ b)``, one output (``y`` of shape (n,)) or several (``y`` of shape
    (n, n_outputs): a linear student of a linear teacher, Levi et al. 2023). The
    per-datapoint objective of Miller, O'Neill & Bui (2023, sec. 3.3, experiments
    E4–E7) splits into

    - ``data_fit = Σᵢₖ (ŷᵢₖ − yᵢₖ)² / σ² / n`` — the Gaussian negative log-likelihood
      with noise variance σ² (``noise_variance``), up to a factor ½ and constants, on
      the split's n points (summed over outputs);
    - ``complexity = Σⱼₖ Wⱼₖ² / s² / n_train + β₁ Σⱼₖ |Wⱼₖ|`` — the Gaussian prior
      N(0, s²) on the weights (``prior_variance``), likewise, and an ℓ1 penalty
      (``l1_penalty`` β₁, 0 by default); the intercept is not penalised;
    - ``objective = data_fit + complexity``.

    The ℓ1 term is trained as Notsawo, Dumas & Rabusseau (2025, "Grokking beyond the
    Euclidean norm of model parameters", sec. 4; their code's
    ``sparse_recovery/compressed_sensing.py``) train it: by constant-step
    *subgradient* descent, ``β₁ sign(W)`` with ``sign(0) = 0`` (not the proximal
    ISTA step, which their code also has but their main-text figures do not use).
    Their objective ``½‖Xa − y‖² + (β₂/2)‖a‖² + β₁‖a‖₁`` with step α is this one with
    ``noise_variance = 2/n_train``, ``prior_variance = 2/(β₂ n_train)`` (or None for
    β₂ = 0), ``l1_penalty = β₁`` and ``lr = α``: the same update, step for step.

    With ``noise_variance = n_outputs`` the gradient of ``data_fit`` is that of torch's
    mean squared error over all ``n × n_outputs`` entries (Levi et al.'s ``L_tr``), and
    ``prior_variance = 2 / (γ n_train)`` is their weight decay γ.

    ``error`` is the mean squared error (over all entries), ``loss`` the Gaussian
    negative log predictive density ``mean(½ (ŷ − y)² / σ² + ½ log 2πσ²)`` (nats per
    entry), and ``sign_accuracy`` the paper's metric, the fraction of entries with
    ``sign(ŷ) = sign(y)``. With ``epsilon`` set, ``threshold_accuracy`` is the fraction
    of points whose squared error per output, ``‖ŷᵢ − yᵢ‖² / n_outputs``, is below ε:
    the accuracy of a regressor in Levi, Beck & Bar-Sinai (2023, "Grokking in linear
    estimators", sec. 3.1.2), which :func:`~grokbeyond.grokking.detect_grokking` reads
    as ``metric="threshold_accuracy"``.

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
    weight_init : float, array-like of shape (n_features,) or (n_features, n_outputs), or None, default=None
        Initial weights; ``None`` starts at zero, a float sets every weight. The paper's
        E4 uses ``[0.0005, 0.9, 0.9, 0.9]``, E5 ``[α, 1−α, 1−α, 1−α]``.
    init_scale : float, default=0.0
        Adds ``N(0, init_scale² / n_features)`` noise to each initial weight, drawn from
        ``random_state`` (as :class:`LogisticRegression`'s ``init_scale``); 0 adds
        none. Levi et al. (2023, app. A) draw the student ``N(0, 1/(2 d_in d_out))``:
        ``init_scale = (2 n_outputs) ** -0.5``.
    fit_intercept : bool, default=False
        Whether to learn an intercept (the paper: no).
    l1_penalty : float, default=0.0
        β₁ (>= 0), the ℓ1 penalty's weight in the per-datapoint objective.
    epsilon : float or None, default=None
        ε of ``threshold_accuracy`` (> 0, in squared target units); ``None`` records
        no such column.
    eval_every : int, "log" or list of them, default=1
    device : str or torch.device, default="cpu"
        Torch device of the fit (``"cuda"``, ...; untested); see ``TrajectoryEstimator``.
    warm_start : bool, default=False
        Continue the last fit for another ``max_iter`` steps; see ``TrajectoryEstimator``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the initial noise (``init_scale``) and of the minibatch order.
    verbose : bool, default=False

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) for 1-d ``y``, else (n_outputs, n_features)
    intercept_ : float for 1-d ``y``, else ndarray of shape (n_outputs,)
    n_outputs_ : int
    history_ : pandas.DataFrame
        The trajectory, with the further columns ``sign_accuracy``,
        ``threshold_accuracy`` (with ``epsilon``) and the weights: ``weight_0 …``
        when there are at most 128 (``W`` of shape (n_features, n_outputs) flattened
        feature by feature, i.e. ``coef_.T.ravel()``), else ``weight_norm``
        (``‖W‖_F``).
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        From ``fit``, for NaN inputs, a ``weight_init`` of the wrong length, or invalid
        parameters.
    NumericalError
        From ``fit``, if the objective becomes non-finite, naming the step.

    Examples
    --------
    >>> from grokbeyond.datasets import make_decoy_linear
    >>> from grokbeyond.models import LinearRegression
    >>> data = make_decoy_linear(random_state=0)   # Miller et al.'s E4: one signal, decoys
    >>> model = LinearRegression(max_iter=2000, eval_every=100, random_state=0)
    >>> model = model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    >>> test = model.history_.query("split == 'test'").set_index("step")
    >>> test.loc[[0, 2000], "sign_accuracy"].round(2).tolist()
    [0.0, 0.59]
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
        init_scale=0.0,
        fit_intercept=False,
        l1_penalty=0.0,
        epsilon=None,
        eval_every=1,
        device="cpu",
        warm_start=False,
        random_state=None,
        verbose=False,
    ):
        self.noise_variance = noise_variance
        self.prior_variance = prior_variance
        self.lr = lr
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.weight_init = weight_init
        self.init_scale = init_scale
        self.fit_intercept = fit_intercept
        self.l1_penalty = l1_penalty
        self.epsilon = epsilon
        self.eval_every = eval_every
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _replicate_params = ("weight_init", "init_scale")

    _affine = None  # (A, c) of the full-batch gradient map, formed by the first step of a fit
    _multi_output = True
    # Per-weight history columns up to this many weights (Notsawo et al.'s n = 100 path is
    # kept); beyond, their norm (Levi et al.'s d_in · d_out reaches 7·10⁵).
    _MAX_WEIGHT_COLUMNS = 128

    def _check_params(self):
        check_number(self.noise_variance, "noise_variance", Real, min_val=0.0, include_boundaries="neither")
        if self.prior_variance is not None:
            check_number(self.prior_variance, "prior_variance", Real, min_val=0.0, include_boundaries="neither",
                         allow_inf=True)
        check_number(self.lr, "lr", Real, min_val=0.0, include_boundaries="neither")
        check_number(self.l1_penalty, "l1_penalty", Real, min_val=0.0)
        check_number(self.init_scale, "init_scale", Real, min_val=0.0)
        if self.epsilon is not None:
            check_number(self.epsilon, "epsilon", Real, min_val=0.0, include_boundaries="neither")

    def _build(self, X, y, generator):
        n_replicates, _, n_features = X.shape
        # 1-d targets give 1-d predictions; 2-d targets (even one column) give 2-d ones.
        self._flat_targets = y.ndim == 2
        self.n_outputs_ = 1 if self._flat_targets else y.shape[-1]
        shape = (n_features, self.n_outputs_)
        if self.weight_init is None:
            weights = torch.zeros(n_replicates, *shape, dtype=X.dtype, device=X.device)
        else:
            init = np.asarray(self.weight_init, dtype=np.float64)
            if init.ndim == 0:  # one value for every weight (Notsawo et al.'s 10·1)
                init = np.full(shape, float(init))
            if init.shape == (n_features,) and self._flat_targets:
                init = init[:, None]
            if init.shape != shape or not np.isfinite(init).all():
                expected = f"({n_features},)" if self._flat_targets else str(shape)
                raise InputError(f"weight_init must be a finite array of shape {expected} (n_features"
                                 f"{'' if self._flat_targets else ', n_outputs'}); got {init.shape}.")
            weights = torch.tensor(init, dtype=X.dtype, device=X.device).expand(n_replicates, -1, -1).clone()
        if self.init_scale:
            noise = torch.randn(n_replicates, *shape, generator=generator, dtype=X.dtype, device=X.device)
            weights = weights + noise.mul_(self.init_scale / math.sqrt(n_features))
        self._affine = None
        self.weights_ = weights.requires_grad_()
        self.bias_ = torch.zeros(n_replicates, 1, self.n_outputs_, dtype=X.dtype, device=X.device,
                                 requires_grad=self.fit_intercept)

    def _make_optimizer(self):
        parameters = [self.weights_] + ([self.bias_] if self.fit_intercept else [])
        return torch.optim.SGD(parameters, lr=self.lr)

    @staticmethod
    def _columns(y):
        """Targets as (R, n, n_outputs)."""
        return y.unsqueeze(-1) if y.ndim == 2 else y

    def _outputs(self, X):
        """``X W + b``, shape (R, n, n_outputs)."""
        return X @ self.weights_ + self.bias_

    def _predict(self, X):
        outputs = self._outputs(X)
        return outputs.squeeze(-1) if self._flat_targets else outputs

    def _terms(self, X, y, *, train):
        Y = self._columns(y)
        residual = self._outputs(X) - Y
        squared = residual.square()
        entries = squared.flatten(-2)  # (R, n · n_outputs): one output is (R, n)
        data_fit = entries.sum(-1) / self.noise_variance / y.shape[1]
        if self.prior_variance is None:
            complexity = torch.zeros(X.shape[0], dtype=X.dtype, device=X.device)
        else:
            complexity = self.weights_.flatten(-2).square().sum(-1) / self.prior_variance / self.n_train_
        if self.l1_penalty:
            complexity = complexity + self.l1_penalty * self.weights_.flatten(-2).abs().sum(-1)
        terms = {
            "objective": data_fit + complexity,
            "data_fit": data_fit,
            "complexity": complexity,
            "loss": (0.5 * entries / self.noise_variance).mean(-1) + 0.5 * math.log(2 * math.pi * self.noise_variance),
            "error": entries.mean(-1),
            "sign_accuracy": self._sign_accuracy((residual + Y).flatten(-2), Y.flatten(-2)),
        }
        if self.epsilon is not None:
            terms["threshold_accuracy"] = (squared.mean(-1) < self.epsilon).to(squared.dtype).mean(-1)
        return terms

    def _gradients(self, X, y):
        # The gradient of the summed objective in closed form (no autograd graph):
        # ∇W = 2/(σ² n) Xᵀ(XW + b − Y) + 2/(s² N) W (+ β₁ sign W). Full batch without
        # intercept, X is the training set at every step and the smooth part A W − C is an
        # affine map formed once.
        prior = 0.0 if self.prior_variance is None else 2.0 / self.prior_variance / self.n_train_
        scale = 2.0 / self.noise_variance / y.shape[1]
        Y = self._columns(y)
        full_batch = self.batch_size is None or self.batch_size >= self.n_train_
        if full_batch and not self.fit_intercept:
            if self._affine is None:
                A = (X.transpose(1, 2) @ X).mul_(scale)
                A.diagonal(dim1=1, dim2=2).add_(prior)
                self._affine = A, (X.transpose(1, 2) @ Y).mul_(scale)
            A, C = self._affine
            weights = torch.baddbmm(C, A, self.weights_, beta=-1)
        else:
            residual = self._outputs(X) - Y  # (R, n, n_outputs)
            weights = torch.bmm(residual.transpose(1, 2), X).mul_(scale).transpose(1, 2)
            if prior:
                weights.add_(self.weights_, alpha=prior)
        if self.l1_penalty:  # the subgradient, sign(0) = 0
            weights.add_(torch.sign(self.weights_), alpha=self.l1_penalty)
        gradients = {"weights": weights}
        if self.fit_intercept:
            gradients["bias"] = residual.sum(-2, keepdim=True).mul_(scale)
        return gradients

    def _parameters(self):
        return {"weights": self.weights_, "bias": self.bias_}

    def _load_parameters(self, params):
        self.weights_, self.bias_ = params["weights"], params["bias"]

    def _model_quantities(self):
        weights = self.weights_.flatten(-2)  # row by row: (R, n_features · n_outputs)
        if weights.shape[-1] <= self._MAX_WEIGHT_COLUMNS:
            return {"weight": weights}
        return {"weight_norm": weights.square().sum(-1).sqrt()}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    @property
    def coef_(self):
        """Fitted weights, ndarray of shape (n_features,) or (n_outputs, n_features)."""
        weights = self.weights_.detach()[0].cpu().numpy().copy()
        return weights[:, 0] if self._flat_targets else weights.T

    @property
    def intercept_(self):
        """Fitted intercept: float (0 unless ``fit_intercept``) or ndarray of shape (n_outputs,)."""
        bias = self.bias_.detach()[0, 0].cpu().numpy().copy()
        return float(bias[0]) if self._flat_targets else bias
