"""Variational Gaussian-process classifier (gpytorch), trained by gradient steps on the ELBO."""

from __future__ import annotations

import contextlib
from numbers import Integral, Real

import gpytorch
import torch
from linear_operator.operators import DiagLinearOperator
from linear_operator.utils.errors import NanError, NotPSDError

from .._validation import check_number
from .._random import forked_global_torch_rng, torch_generator
from ..exceptions import InputError
from ._prediction import TrajectoryClassifier
from ._kl import gaussian_kl

__all__ = ["GPClassifier"]


class _VariationalGP(gpytorch.models.ApproximateGP):
    """Constant mean, ARD ``ScaleKernel(RBFKernel)``, full-rank q(u), R replicates.

    With ``n_latent=C`` there are C independent latent GPs per replicate (batch shape
    (R, C), each with its own hyperparameters and q(u)), combined by gpytorch's
    ``IndependentMultitaskVariationalStrategy`` into outputs of shape (R, n, C).
    """

    def __init__(self, inducing_points, *, whiten, learn_inducing_locations, n_latent=None):
        n_replicates, n_inducing, n_features = inducing_points.shape
        batch = torch.Size([n_replicates] if n_latent is None else [n_replicates, n_latent])
        if n_latent is not None:
            inducing_points = inducing_points[:, None].expand(-1, n_latent, -1, -1).clone()
        distribution = gpytorch.variational.CholeskyVariationalDistribution(n_inducing, batch_shape=batch)
        strategy_class = (
            gpytorch.variational.VariationalStrategy
            if whiten
            else gpytorch.variational.UnwhitenedVariationalStrategy
        )
        strategy = strategy_class(
            self, inducing_points, distribution, learn_inducing_locations=learn_inducing_locations
        )
        if n_latent is not None:
            strategy = gpytorch.variational.IndependentMultitaskVariationalStrategy(
                strategy, num_tasks=n_latent, task_dim=-1
            )
        super().__init__(strategy)
        self.mean_module = gpytorch.means.ConstantMean(batch_shape=batch)
        self.covar_module = gpytorch.kernels.ScaleKernel(
            gpytorch.kernels.RBFKernel(ard_num_dims=n_features, batch_shape=batch), batch_shape=batch
        )
        self.n_latent = n_latent

    def __call__(self, x, **kwargs):
        # Multiclass: inputs (R, n, d) broadcast against the (R, C) batch of latent GPs.
        return super().__call__(x if self.n_latent is None else x.unsqueeze(-3), **kwargs)

    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))


class GPClassifier(TrajectoryClassifier):
    """Variational GP classifier (binary and multiclass) whose trajectory shows grokking.

    The model of Miller, O'Neill & Bui (2023, "Grokking Beyond Neural Networks",
    sec. 3.1, experiment E1): latent ``f ~ GP(c, k)`` with a constant mean ``c`` and
    ``k = outputscale · RBF`` with one lengthscale per input dimension (ARD), a
    Bernoulli likelihood with probit link ``p(y=1 | f) = Φ(f)``, and a full-rank
    Gaussian variational posterior ``q(u) = N(m, S)`` (``S = LLᵀ``, Cholesky
    parameterised) over the function values ``u`` at the inducing points. By
    default the inducing points are the training inputs, fixed. Adam minimises the
    negative ELBO per datapoint jointly over the kernel hyperparameters, the
    constant mean and the variational parameters.

    The objective splits into (Miller et al. 2023, eq. 2; Hensman et al. 2015):

    - ``data_fit = −(1/N) Σᵢ E_q(fᵢ)[log Φ((2yᵢ − 1) fᵢ)]``, the expected negative
      log-likelihood per datapoint (nats; Gauss–Hermite quadrature, as gpytorch's
      ``BernoulliLikelihood.expected_log_prob``); on the test split it is averaged
      over the test points;
    - ``complexity = beta · KL(q(u) ‖ p(u)) / N``, nats per training datapoint, ``N``
      the number of training points;
    - ``objective = data_fit + complexity = −ELBO/N`` (gpytorch's ``VariationalELBO``
      with ``num_data=N``).

    **Multiclass** (more than two classes, e.g. the modular tasks or the digits):
    independent latent GPs, one per class ``c``, each with its own constant mean,
    ARD kernel hyperparameters and full-rank ``q(u_c)`` (gpytorch's
    ``IndependentMultitaskVariationalStrategy``), and a softmax likelihood
    ``p(y = c | f) = exp(f_c) / Σ_c' exp(f_c')`` (gpytorch's ``SoftmaxLikelihood``
    without mixing weights). Then ``data_fit`` is a Monte Carlo estimate with
    ``num_likelihood_samples`` reparameterised draws from q's marginals (so the
    objective is stochastic, seeded by ``random_state``), the KL sums over the class
    GPs, predictions average the softmax over the same number of draws, and the
    recorded lengthscales and outputscale are averaged over the class GPs. Two
    classes always use the probit model above.

    **Unwhitened vs whitened.** With the default unwhitened strategy and inducing
    points fixed at the training inputs, ``q(f(X_train)) = q(u)`` exactly, so the
    data-fit term does not depend on the kernel hyperparameters: they learn *only*
    through the KL term, which pulls the prior toward the posterior. That is why
    removing the KL (``beta=0``, the paper's ablation E1b) stops grokking: the
    lengthscales never move. With ``variational_strategy="whitened"`` q is placed
    on ``v`` with ``u = c + L_K v`` (``L_K`` the Cholesky factor of ``K(Z, Z)``) and
    the KL is ``KL(N(m, S) ‖ N(0, I))``; the data-fit term then depends on the
    hyperparameters through ``L_K``, and the dynamics differ.

    Parameters
    ----------
    max_iter : int, default=500
        Number of Adam steps (full batch).
    lr : float, default=1e-2
        Adam learning rate.
    n_inducing : int or None, default=None
        ``None``: the inducing points are all training inputs, fixed (Miller's E1).
        An int ``m``: ``m`` inducing points initialised at a random subset of the
        training inputs and learned (sparse variational GP); ``m`` is capped at the
        number of training points.
    variational_strategy : {"unwhitened", "whitened"}, default="unwhitened"
        Parameterisation of q(u); see above.
    beta : float, default=1.0
        Weight of the KL term in the objective (gpytorch's ``beta``); 0 removes it.
    initial_lengthscale : float or None, default=None
        Initial value of every lengthscale; ``None`` keeps gpytorch's default
        (softplus(0) ≈ 0.693, as in the paper).
    initial_outputscale : float or None, default=None
        Initial outputscale; ``None`` keeps gpytorch's default (≈ 0.693).
    mean_init_std : float, default=1e-3
        Standard deviation of the noise added to the initial variational mean
        (gpytorch's default), drawn from this estimator's generator.
    num_likelihood_samples : int, default=16
        Multiclass only: Monte Carlo draws of the latent functions per evaluation of
        the softmax likelihood's expectation and of the predictive.
    max_cholesky_size : int, default=20000
        Largest kernel matrix factorised exactly by Cholesky. gpytorch's own default
        (800) switches larger problems to conjugate gradients and stochastic Lanczos
        quadrature, which makes the ELBO stochastic and, at E1's 1000 points, a step
        ~4× slower; the paper's code ran that way. Set 800 to reproduce it.
    dtype : {"float32", "float64"}, default="float32"
        Floating-point precision. float64 is ~1.6× slower at E1's size but avoids
        ``NotPSDError`` where kernel matrices become ill-conditioned.
    eval_every : int, "log" or list of them, default=1
        Evaluation schedule; see :func:`~grokbeyond.models.evaluation_steps`.
    device : str or torch.device, default="cpu"
        Torch device of the fit (``"cuda"``, ...; untested); see ``TrajectoryEstimator``.
    warm_start : bool, default=False
        Continue the last fit for another ``max_iter`` steps; see ``TrajectoryEstimator``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the initial variational mean, of the inducing-point subset and of
        gpytorch's iterative solvers (which draw from the global torch RNG: they run
        on a forked RNG seeded from this, so the caller's RNG state is untouched).
    verbose : bool, default=False
        Show a tqdm progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    history_ : pandas.DataFrame
        The trajectory (see :class:`~grokbeyond.models.TrajectoryEstimator`), with the
        further columns ``kl`` (unweighted KL/N, nats per training datapoint),
        ``lengthscale_0 … lengthscale_{d-1}``, ``outputscale`` and ``constant_mean``
        (multiclass: lengthscales and outputscale averaged over the class GPs, one
        ``constant_mean_c`` per class).
    n_iter_ : int
        Number of optimisation steps taken.
    n_features_in_ : int
        Number of input features.
    model_ : gpytorch.models.ApproximateGP
        The fitted model (batch of one replicate).
    likelihood_ : gpytorch.likelihoods.BernoulliLikelihood or SoftmaxLikelihood
    lengthscale_ : ndarray of shape (n_features,) or (n_classes, n_features)
        Fitted ARD lengthscales (multiclass: one row per class GP).
    outputscale_ : float or ndarray of shape (n_classes,)
        Fitted outputscale(s).

    Raises
    ------
    ValueError
        From ``fit``, for one class, NaN or infinite inputs, or invalid parameters.
    NumericalError
        From ``fit``, if the Cholesky factorisation fails even after gpytorch's
        jitter escalation (``cholesky_jitter`` ×10 per retry, up to
        ``cholesky_max_tries``), naming the step; retry with ``dtype="float64"``.

    Notes
    -----
    Exact Cholesky is used up to ``max_cholesky_size`` points (gpytorch's own default
    switches to stochastic CG/Lanczos above 800), so the ELBO is deterministic.
    Metrics at step ``t`` are computed before the ``t``-th update in training mode,
    as in the paper's code.

    Examples
    --------
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> from grokbeyond.models import GPClassifier
    >>> data = make_sparse_parity(n_bits=10, k=2, n_train=100, n_test=50, random_state=0)
    >>> clf = GPClassifier(max_iter=5, random_state=0).fit(
    ...     data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    >>> clf.history_[["step", "split", "accuracy", "kl"]].shape
    (12, 4)
    """

    _numerical_errors = (NotPSDError, NanError)
    _model_terms = ("complexity", "kl")

    def __init__(
        self,
        *,
        max_iter=500,
        lr=1e-2,
        n_inducing=None,
        variational_strategy="unwhitened",
        beta=1.0,
        initial_lengthscale=None,
        initial_outputscale=None,
        mean_init_std=1e-3,
        max_cholesky_size=20_000,
        num_likelihood_samples=16,
        dtype="float32",
        eval_every=1,
        device="cpu",
        warm_start=False,
        random_state=None,
        verbose=False,
    ):
        self.max_iter = max_iter
        self.lr = lr
        self.n_inducing = n_inducing
        self.variational_strategy = variational_strategy
        self.beta = beta
        self.initial_lengthscale = initial_lengthscale
        self.initial_outputscale = initial_outputscale
        self.mean_init_std = mean_init_std
        self.max_cholesky_size = max_cholesky_size
        self.num_likelihood_samples = num_likelihood_samples
        self.dtype = dtype
        self.eval_every = eval_every
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _target_dtype(self):
        # Bernoulli takes 0/1 floats; the softmax likelihood class indices.
        return self._torch_dtype if len(self.classes_) == 2 else torch.long

    @property
    def _multiclass(self):
        return len(self.classes_) > 2

    def _check_params(self):
        check_number(self.lr, "lr", Real, min_val=0.0, include_boundaries="neither")
        check_number(self.beta, "beta", Real, min_val=0.0)
        check_number(self.mean_init_std, "mean_init_std", Real, min_val=0.0)
        check_number(self.max_cholesky_size, "max_cholesky_size", Integral, min_val=0)
        check_number(self.num_likelihood_samples, "num_likelihood_samples", Integral, min_val=1)
        if self.n_inducing is not None:
            check_number(self.n_inducing, "n_inducing", Integral, min_val=1)
        for name in ("initial_lengthscale", "initial_outputscale"):
            if getattr(self, name) is not None:
                check_number(getattr(self, name), name, Real, min_val=0.0, include_boundaries="neither")
        if self.variational_strategy not in ("unwhitened", "whitened"):
            raise InputError(
                f"variational_strategy must be 'unwhitened' or 'whitened'; got {self.variational_strategy!r}."
            )

    @contextlib.contextmanager
    def _fit_context(self):
        # gpytorch's iterative solvers draw probe vectors from the global torch RNG: run
        # them on a forked RNG seeded from random_state (restored on exit).
        with (
            forked_global_torch_rng(self.random_state, "gpytorch-global", self._torch_device),
            gpytorch.settings.max_cholesky_size(self.max_cholesky_size),
        ):
            yield

    def _build(self, X, y, generator):
        n_replicates, n_train, _ = X.shape
        if self.n_inducing is None or self.n_inducing >= n_train:
            inducing, learn = X.clone(), False
        else:
            subset = torch.stack(
                [torch.randperm(n_train, generator=generator, device=generator.device)[: self.n_inducing] for _ in range(n_replicates)]
            )
            inducing, learn = torch.gather(X, 1, subset[..., None].expand(-1, -1, X.shape[-1])).clone(), True
        n_classes = len(self.classes_)
        with torch.device(X.device):  # gpytorch makes its modules' tensors on the default device
            model = _VariationalGP(
                inducing, whiten=self.variational_strategy == "whitened", learn_inducing_locations=learn,
                n_latent=None if n_classes == 2 else n_classes,
            ).to(self._torch_dtype)
        if self.initial_lengthscale is not None:
            model.covar_module.base_kernel.lengthscale = self.initial_lengthscale
        if self.initial_outputscale is not None:
            model.covar_module.outputscale = self.initial_outputscale
        self._initialise_variational(model, generator)
        self._learn_inducing_ = learn
        self.model_ = model.train()
        with torch.device(X.device):
            self.likelihood_ = (
                gpytorch.likelihoods.BernoulliLikelihood()
                if n_classes == 2
                else gpytorch.likelihoods.SoftmaxLikelihood(num_classes=n_classes, mixing_weights=False)
            ).train()

    def _initialise_variational(self, model, generator):
        """q(u) := the prior plus small mean noise, drawn from ``generator``.

        gpytorch does the same lazily on the first forward pass, but draws the noise
        from the global torch RNG; doing it here keeps every draw explicit.
        """
        strategy = model.variational_strategy
        strategy = getattr(strategy, "base_variational_strategy", strategy)  # multiclass: the per-class GPs
        distribution = strategy._variational_distribution  # the module holding m and L
        with torch.no_grad():
            prior = strategy.prior_distribution
            noise = torch.randn(prior.mean.shape, generator=generator, dtype=prior.mean.dtype, device=prior.mean.device)
            distribution.variational_mean.copy_(prior.mean + self.mean_init_std * noise)
            distribution.chol_variational_covar.copy_(prior.lazy_covariance_matrix.cholesky().to_dense())
            strategy.variational_params_initialized.fill_(1)
        strategy._clear_cache()

    def _make_optimizer(self):
        return torch.optim.Adam(self.model_.parameters(), lr=self.lr)

    @property
    def _closed_form(self) -> bool:
        """Whether the fast path applies: binary, unwhitened, exact Cholesky at the
        inducing points (the KL by :func:`~grokbeyond.models._kl.gaussian_kl`)."""
        if self._multiclass or self.variational_strategy != "unwhitened":
            return False
        return self.model_.variational_strategy.inducing_points.shape[-2] <= self.max_cholesky_size

    def _kl_divergence(self, chol=None) -> torch.Tensor:
        """KL(q(u) ‖ p(u)) per replicate, shape (R,) (nats, summed over the inducing points).

        The value gpytorch's ``UnwhitenedVariationalStrategy.kl_divergence`` computes,
        with q = N(m, S), S = L_S L_Sᵀ, and its prior N(μ, K + 10⁻³I) (linear_operator's
        default jitter), by :func:`~grokbeyond.models._kl.gaussian_kl`, whose gradient
        is in closed form: the same objective at a fraction of autograd's cost through
        the Cholesky factorisation, most of an E1 step's. ``chol`` is L_S if already
        formed.
        """
        strategy = self.model_.variational_strategy
        distribution = strategy._variational_distribution
        prior = self.model_.forward(strategy.inducing_points)
        covariance = prior.lazy_covariance_matrix.to_dense()
        covariance = covariance + 1e-3 * torch.eye(covariance.shape[-1], dtype=covariance.dtype, device=covariance.device)
        chol = distribution.chol_variational_covar.tril() if chol is None else chol
        return gaussian_kl(covariance, distribution.variational_mean - prior.mean, chol)

    def _latent(self, X, *, train):
        """q(f(X)) and KL(q(u) ‖ p(u)) per replicate (NaN on held-out data: the engine
        records the training row's KL and complexity on the test row, ``_model_terms``).

        On the fast path with the inducing points fixed at the training inputs,
        q(f(X_train)) = q(u) = N(m, L_S L_Sᵀ), of which the data-fit term needs only
        the marginals (m, row norms² of L_S): what gpytorch's strategy returns when
        its inputs equal the inducing points, without building q(u) twice.
        """
        if not train:  # held-out rows take the KL from the training row (``_model_terms``)
            f = self.model_(X)
            return f, torch.full(f.batch_shape[:1], float("nan"), dtype=f.mean.dtype, device=f.mean.device)
        if not self._closed_form:
            return self.model_(X), self.model_.variational_strategy.kl_divergence()
        if not self._learn_inducing_:
            distribution = self.model_.variational_strategy._variational_distribution
            chol = distribution.chol_variational_covar.tril()
            f = gpytorch.distributions.MultivariateNormal(
                distribution.variational_mean, DiagLinearOperator(chol.square().sum(-1)))
            return f, self._kl_divergence(chol)
        return self.model_(X), self._kl_divergence()

    def _terms(self, X, y, *, train):
        f, kl = self._latent(X, train=train)
        kl = kl / self.n_train_
        complexity = self.beta * kl
        if self._multiclass:  # the training pass's draws from the training streams, recorded rows' from their own
            likelihood = self._sampled_likelihood(f, self._replicate_generators if train else self._evaluation_generators)
            data_fit = -likelihood.log_prob(y).mean(0).mean(-1)
            log_predictive = likelihood.probs.mean(0).log()
            terms = self._cross_entropy_terms(log_predictive, y, complexity)
            terms.update(objective=data_fit + complexity, data_fit=data_fit, kl=kl)
            return terms
        data_fit = -self.likelihood_.expected_log_prob(y, f).mean(-1)
        z = f.mean / torch.sqrt(1.0 + f.variance)
        log_predictive = torch.where(y > 0.5, torch.special.log_ndtr(z), torch.special.log_ndtr(-z))
        accuracy = ((f.mean > 0) == (y > 0.5)).to(z.dtype).mean(-1)
        return {
            "objective": data_fit + complexity,
            "data_fit": data_fit,
            "complexity": complexity,
            "loss": -log_predictive.mean(-1),
            "error": 1.0 - accuracy,
            "accuracy": accuracy,
            "kl": kl,
        }

    def _model_quantities(self):
        kernel = self.model_.covar_module
        lengthscale, outputscale = kernel.base_kernel.lengthscale.squeeze(-2), kernel.outputscale
        if self._multiclass:  # averaged over the class GPs
            lengthscale, outputscale = lengthscale.mean(-2), outputscale.mean(-1)
        return {"lengthscale": lengthscale, "outputscale": outputscale, "constant_mean": self.model_.mean_module.constant}

    def _sampled_likelihood(self, f, generators):
        """Multiclass: the softmax likelihood at ``num_likelihood_samples`` reparameterised
        draws of the latent functions, batch shape (S, R, n).

        The expected log-likelihood and the predictive factorise over datapoints, so
        only q's marginals N(μᵢ_c, σ²ᵢ_c) are sampled, not the joint over all points
        (gpytorch's ``expected_log_prob`` default). Every point
        uses the same S × C standard-normal draws (common random numbers), so a point's
        prediction does not depend on which other points share its batch. Replicate r's
        draws come from ``generators[r]``.
        """
        mean, std = f.mean, f.variance.sqrt()
        shape = (self.num_likelihood_samples, 1, mean.shape[-1])
        noise = torch.stack([torch.randn(shape, generator=g, dtype=mean.dtype, device=mean.device) for g in generators], 1)
        return self.likelihood_(mean + std * noise)

    def _predict_proba(self, X):
        f = self.model_(X)
        if self._multiclass:  # a fresh generator per call: predictions are reproducible and draw nothing global
            return self._sampled_likelihood(f, [torch_generator(self.random_state, "predict", X.device)]).probs.mean(0)
        p1 = torch.special.ndtr(f.mean / torch.sqrt(1.0 + f.variance))
        return torch.stack([1.0 - p1, p1], dim=-1)

    @property
    def lengthscale_(self):
        """Fitted ARD lengthscales: ndarray of shape (n_features,), or (n_classes,
        n_features) for multiclass (one row per class GP)."""
        lengthscale = self.model_.covar_module.base_kernel.lengthscale.detach()[0]
        return lengthscale[..., 0, :].cpu().numpy().copy()

    @property
    def outputscale_(self):
        """Fitted outputscale: float, or ndarray of shape (n_classes,) for multiclass."""
        outputscale = self.model_.covar_module.outputscale.detach()[0]
        return float(outputscale) if outputscale.ndim == 0 else outputscale.cpu().numpy().copy()
