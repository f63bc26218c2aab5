"""Exact Gaussian-process regression (gpytorch) trained by gradient steps on the marginal likelihood."""

from __future__ import annotations

import math
from numbers import Real

import gpytorch
import numpy as np
import pandas as pd
import torch
from linear_operator.utils.cholesky import psd_safe_cholesky
from linear_operator.utils.errors import NanError, NotPSDError
from sklearn.utils.validation import check_array

from .._validation import check_number
from ..exceptions import InputError
from ._prediction import TrajectoryRegressor

__all__ = ["GPRegressor", "mll_landscape"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
_TRANSFORMS = {"softplus": None, "exp": (torch.exp, torch.log)}
#: The smallest noise variance the Gaussian likelihood allows (its gpytorch constraint).
MIN_NOISE = 1e-6


def _gaussian_mll_terms(K_y: torch.Tensor, residual: torch.Tensor):
    """Split −log N(y | m, K_y)/n into data fit and complexity.

    Parameters
    ----------
    K_y : Tensor of shape (..., n, n)
        Covariance of the targets, kernel plus noise.
    residual : Tensor of shape (..., n)
        ``y − m``.

    Returns
    -------
    data_fit, complexity : Tensor of shape (...)
        ``½ rᵀK_y⁻¹r / n`` and ``½ log|K_y| / n`` (nats per datapoint).
    L : Tensor of shape (..., n, n)
        Lower Cholesky factor of ``K_y``.
    alpha : Tensor of shape (..., n)
        ``K_y⁻¹ r``.
    """
    n = residual.shape[-1]
    L = psd_safe_cholesky(K_y)
    z = torch.linalg.solve_triangular(L, residual.unsqueeze(-1), upper=False)
    alpha = torch.linalg.solve_triangular(L.mT, z, upper=True).squeeze(-1)
    data_fit = 0.5 * z.square().sum((-2, -1)) / n
    complexity = torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1) / n
    return data_fit, complexity, L, alpha


class _ExactGP(gpytorch.models.ExactGP):
    """Constant mean, ARD ``ScaleKernel(RBFKernel)``, R replicates."""

    def __init__(self, X, y, likelihood, transform):
        super().__init__(X, y, likelihood)
        batch = torch.Size([X.shape[0]])
        positive = None if transform is None else gpytorch.constraints.Positive(*transform)
        self.mean_module = gpytorch.means.ConstantMean(batch_shape=batch)
        self.covar_module = gpytorch.kernels.ScaleKernel(
            gpytorch.kernels.RBFKernel(ard_num_dims=X.shape[-1], batch_shape=batch, lengthscale_constraint=positive),
            batch_shape=batch,
            outputscale_constraint=positive,
        )

    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))


class GPRegressor(TrajectoryRegressor):
    """Exact GP regression whose hyperparameter trajectory can show grokking.

    The model of Miller, O'Neill & Bui (2023, sec. 3.2, experiment E3): ``f ~ GP(c,
    k)``, constant mean ``c``, ``k = outputscale · RBF`` with ARD lengthscales,
    Gaussian likelihood with noise variance σ². Adam minimises the negative log
    marginal likelihood per datapoint over ``c``, the lengthscales, the outputscale and
    (by default) σ². With ``K_y = K(X, X) + σ² I`` and ``r = y − c``,

    - ``data_fit = ½ rᵀ K_y⁻¹ r / N`` (nats per datapoint),
    - ``complexity = ½ log|K_y| / N`` (nats per datapoint),
    - ``objective = data_fit + complexity + ½ log 2π = −log p(y | X) / N``, gpytorch's
      ``ExactMarginalLogLikelihood`` negated (Rasmussen & Williams 2006, eq. 5.8, whose
      first two terms the paper calls data fit and complexity, sec. 3.2).

    On the test split, ``data_fit`` is ``mean(½ (y* − μ*)² / v*)`` and ``loss`` the mean
    negative log predictive density ``mean(½ (y* − μ*)² / v* + ½ log 2π v*)``, with μ*, v*
    the posterior predictive mean and variance (noise included); on the training split
    ``loss`` is the same quantity at the training inputs. ``error`` is the mean squared
    error of the posterior mean on the split.

    Parameters
    ----------
    max_iter : int, default=3000
        Adam steps (full batch).
    lr : float, default=4e-2
        Adam learning rate.
    initial_lengthscale, initial_outputscale : float or None, default=None
        Initial values (``None``: gpytorch's default, ≈ 0.693). The paper's inits are
        given as ``(log ℓ, log σ_f²)``, e.g. B = (−6, 4): pass ``exp`` of them.
    initial_noise : float or None, default=None
        Initial noise variance σ² (``None``: gpytorch's default, ≈ 0.693; the paper 0.01).
    learn_noise : bool, default=True
        Whether σ² is optimised.
    hyperparameter_transform : {"softplus", "exp"}, default="softplus"
        How the lengthscales and outputscale are parameterised for the optimiser:
        gpytorch's softplus, or ``exp`` (Adam steps on their logarithms, as the paper's
        code does). The trajectories differ.
    dtype : {"float64", "float32"}, default="float64"
    eval_every : int, "log" or list of them, default=1
    device : str or torch.device, default="cpu"
        Torch device of the fit (``"cuda"``, ...; untested); see ``TrajectoryEstimator``.
    warm_start : bool, default=False
        Continue the last fit for another ``max_iter`` steps; see ``TrajectoryEstimator``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Unused by the model itself (its initialisation is deterministic); kept so every
        family takes the same arguments.
    verbose : bool, default=False

    Attributes
    ----------
    history_ : pandas.DataFrame
        The trajectory, with the further columns ``sign_accuracy`` (fraction of
        points with sign(μ) = sign(y), the accuracy on ±1-coded labels),
        ``lengthscale_0 …``, ``outputscale``, ``noise`` and ``constant_mean``.
    n_iter_ : int
    n_features_in_ : int
    model_ : gpytorch.models.ExactGP
    likelihood_ : gpytorch.likelihoods.GaussianLikelihood

    Raises
    ------
    ValueError
        From ``fit``, for NaN or infinite inputs or targets, or invalid parameters.
    NumericalError
        From ``fit``, if ``K_y`` is not positive definite even after jitter, naming the step.

    Examples
    --------
    >>> from grokbeyond.datasets import make_noisy_sine
    >>> from grokbeyond.models import GPRegressor
    >>> data = make_noisy_sine(random_state=0)
    >>> model = GPRegressor(max_iter=50, eval_every=25, random_state=0)
    >>> model = model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    >>> round(model.score(data.X_test, data.y_test), 2)
    0.98
    >>> [c for c in model.history_.columns if c in ("lengthscale_0", "outputscale", "noise")]
    ['lengthscale_0', 'outputscale', 'noise']
    """

    _numerical_errors = (NotPSDError, NanError)
    _objective_constant = _HALF_LOG_2PI


    def __init__(
        self,
        *,
        max_iter=3000,
        lr=4e-2,
        initial_lengthscale=None,
        initial_outputscale=None,
        initial_noise=None,
        learn_noise=True,
        hyperparameter_transform="softplus",
        dtype="float64",
        eval_every=1,
        device="cpu",
        warm_start=False,
        random_state=None,
        verbose=False,
    ):
        self.max_iter = max_iter
        self.lr = lr
        self.initial_lengthscale = initial_lengthscale
        self.initial_outputscale = initial_outputscale
        self.initial_noise = initial_noise
        self.learn_noise = learn_noise
        self.hyperparameter_transform = hyperparameter_transform
        self.dtype = dtype
        self.eval_every = eval_every
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self):
        check_number(self.lr, "lr", Real, min_val=0.0, include_boundaries="neither")
        for name in ("initial_lengthscale", "initial_outputscale"):
            if getattr(self, name) is not None:
                check_number(getattr(self, name), name, Real, min_val=0.0, include_boundaries="neither")
        if self.initial_noise is not None:  # the likelihood's constraint: noise > MIN_NOISE
            check_number(self.initial_noise, "initial_noise", Real, min_val=MIN_NOISE, include_boundaries="neither")
        if self.hyperparameter_transform not in _TRANSFORMS:
            raise InputError(
                f"hyperparameter_transform must be 'softplus' or 'exp'; got {self.hyperparameter_transform!r}."
            )

    def _fit_context(self):
        # Predictions at the training inputs are wanted (train-split error): silence
        # gpytorch's debug warning about them.
        return gpytorch.settings.debug(False)

    def _build(self, X, y, generator):
        batch = torch.Size([X.shape[0]])
        with torch.device(X.device):  # gpytorch makes its modules' tensors on the default device
            noise_constraint = gpytorch.constraints.GreaterThan(MIN_NOISE)
            likelihood = gpytorch.likelihoods.GaussianLikelihood(batch_shape=batch, noise_constraint=noise_constraint)
            model = _ExactGP(X, y, likelihood, _TRANSFORMS[self.hyperparameter_transform]).to(self._torch_dtype)
        likelihood = likelihood.to(self._torch_dtype)
        if self.initial_lengthscale is not None:
            model.covar_module.base_kernel.lengthscale = self.initial_lengthscale
        if self.initial_outputscale is not None:
            model.covar_module.outputscale = self.initial_outputscale
        if self.initial_noise is not None:
            likelihood.noise = self.initial_noise
        likelihood.raw_noise.requires_grad_(bool(self.learn_noise))
        self.model_, self.likelihood_ = model.train(), likelihood.train()

    def _make_optimizer(self):
        parameters = [p for p in self.model_.parameters() if p.requires_grad]
        return torch.optim.Adam(parameters, lr=self.lr)

    def _noise(self):
        return self.likelihood_.noise.squeeze(-1)  # (R,)

    def _parameter_versions(self):
        return tuple(p._version for p in self.model_.parameters())

    def _held_out_predictive(self, X):
        """Predictive mean and variance (noise included) at held-out inputs.

        From the Cholesky factor of the training pass at the same parameters (cached with
        their version counters; recomputed if they moved): μ* = c + K*ₓ α, v* = σ² +
        k(x*, x*) − ‖L⁻¹Kₓ*‖², the exact predictive gpytorch's ``likelihood(model(X))``
        gives in eval mode, without its prediction-strategy rebuild every step.
        """
        cached = getattr(self, "_factor_cache", None)
        if cached is None or cached[0] != self._parameter_versions():
            self._terms(self._train_inputs, self._train_targets, train=True)
            cached = self._factor_cache
        _, L, alpha, X_train = cached
        kernel = self.model_.covar_module
        cross = kernel(X_train, X).to_dense()  # (R, n, m)
        mean = self.model_.mean_module(X) + (cross * alpha.unsqueeze(-1)).sum(-2)
        V = torch.linalg.solve_triangular(L, cross, upper=False)
        prior_variance = kernel(X, diag=True)
        return mean, self._noise()[:, None] + prior_variance - V.square().sum(-2)

    def _terms(self, X, y, *, train):
        if train:
            prior = self.model_.forward(X)
            K_y = prior.covariance_matrix + self._noise()[:, None, None] * torch.eye(X.shape[-2], dtype=X.dtype, device=X.device)
            data_fit, complexity, L, alpha = _gaussian_mll_terms(K_y, y - prior.mean)
            self._train_inputs, self._train_targets = X, y
            self._factor_cache = (self._parameter_versions(), L.detach(), alpha.detach(), X)
            # Posterior predictive at the training inputs from the same factor:
            # μ = y − σ² K_y⁻¹ r,  v = σ² + k(x, x) − k_xᵀ K_y⁻¹ k_x.
            with torch.no_grad():
                noise = self._noise()[:, None]
                mean = y - noise * alpha
                K = prior.covariance_matrix
                V = torch.linalg.solve_triangular(L, K, upper=False)
                variance = noise + torch.diagonal(K, dim1=-2, dim2=-1) - V.square().sum(-2)
        else:
            with torch.no_grad():
                mean, variance = self._held_out_predictive(X)
            complexity = torch.zeros(X.shape[0], dtype=X.dtype, device=X.device)  # replaced by the train value
            data_fit = (0.5 * (y - mean).square() / variance).mean(-1)
        variance = variance.clamp_min(torch.finfo(X.dtype).tiny)
        squared = (y - mean).square()
        return {
            "objective": data_fit + complexity + _HALF_LOG_2PI,
            "data_fit": data_fit,
            "complexity": complexity,
            "loss": (0.5 * squared / variance + 0.5 * torch.log(2 * math.pi * variance)).mean(-1),
            "error": squared.mean(-1),
            "sign_accuracy": self._sign_accuracy(mean, y),
        }

    def _model_quantities(self):
        kernel = self.model_.covar_module
        return {
            "lengthscale": kernel.base_kernel.lengthscale.squeeze(-2),
            "outputscale": kernel.outputscale,
            "noise": self._noise(),
            "constant_mean": self.model_.mean_module.constant,
        }

    def _predict(self, X):
        self.model_.eval()
        try:
            return self.model_(X).mean
        finally:
            self.model_.train()


def mll_landscape(X, y, log_lengthscales, log_outputscales, *, noise=0.01, mean=0.0):
    """The GP regression objective and its two terms over a hyperparameter grid.

    For every pair (log ℓ, log σ_f²) of the grid, with ``K_y = σ_f² RBF_ℓ(X, X) + noise·I``
    and ``r = y − mean``: ``data_fit = ½ rᵀK_y⁻¹r / N``, ``complexity = ½ log|K_y| / N``
    and ``objective = data_fit + complexity + ½ log 2π`` (nats per datapoint), the
    quantities :class:`GPRegressor` records, so that a landscape and optimisation paths
    can be drawn together (Miller et al. 2023, sec. 3.2, fig. 3; their grid: log σ_f² in
    [−5, 5], log ℓ in [−7, 4], noise 0.01, mean 0).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Training inputs (one lengthscale is shared by all features).
    y : array-like of shape (n_samples,)
        Training targets.
    log_lengthscales : array-like of shape (n_lengthscales,)
        Natural logarithms of the lengthscales.
    log_outputscales : array-like of shape (n_outputscales,)
        Natural logarithms of the outputscales σ_f².
    noise : float, default=0.01
        Noise variance σ², fixed.
    mean : float, default=0.0
        Constant mean, fixed.

    Returns
    -------
    landscape : pandas.DataFrame
        One row per grid point: ``log_lengthscale, log_outputscale, objective,
        data_fit, complexity``.

    Raises
    ------
    ValueError
        For NaN inputs, mismatched lengths or a non-positive noise.

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.models import mll_landscape
    >>> X = np.linspace(0, 1, 20)[:, None]
    >>> landscape = mll_landscape(X, np.sin(6 * X[:, 0]), np.linspace(-4, 1, 11), np.linspace(-2, 2, 9))
    >>> landscape.shape
    (99, 5)
    >>> best = landscape.loc[landscape["objective"].idxmin()]
    >>> bool(-4 < best["log_lengthscale"] < 1)
    True
    """
    X = check_array(X, dtype=np.float64)
    y = check_array(y, ensure_2d=False, dtype=np.float64)
    if y.ndim != 1 or len(y) != len(X):
        raise InputError(f"y must have shape ({len(X)},); got {y.shape}.")
    noise = check_number(noise, "noise", Real, min_val=0.0, include_boundaries="neither")
    grid_l, grid_o = np.meshgrid(np.asarray(log_lengthscales, float), np.asarray(log_outputscales, float),
                                 indexing="ij")
    kernel = gpytorch.kernels.ScaleKernel(
        gpytorch.kernels.RBFKernel(batch_shape=torch.Size([grid_l.size])), batch_shape=torch.Size([grid_l.size])
    ).double()
    kernel.base_kernel.lengthscale = torch.tensor(np.exp(grid_l.ravel())).reshape(-1, 1, 1)
    kernel.outputscale = torch.tensor(np.exp(grid_o.ravel()))
    X_t = torch.tensor(X)
    with torch.no_grad():
        K_y = kernel(X_t).to_dense() + noise * torch.eye(len(X), dtype=torch.float64)
        residual = torch.tensor(y - mean).expand(grid_l.size, -1)
        data_fit, complexity, _, _ = _gaussian_mll_terms(K_y, residual)
    return pd.DataFrame({
        "log_lengthscale": grid_l.ravel(),
        "log_outputscale": grid_o.ravel(),
        "objective": (data_fit + complexity + _HALF_LOG_2PI).numpy(),
        "data_fit": data_fit.numpy(),
        "complexity": complexity.numpy(),
    })
