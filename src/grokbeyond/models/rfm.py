"""Recursive Feature Machine: kernel regression whose Mahalanobis metric learns by the AGOP."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import pandas as pd
import torch
from linear_operator.utils.cholesky import psd_safe_cholesky
from linear_operator.utils.errors import NanError, NotPSDError
from sklearn.utils.validation import check_is_fitted

from .._validation import check_number
from ..exceptions import InputError
from ._prediction import TrajectoryClassifier
from ._agop import agop_alignment, circulant_deviation, kernel_agop

__all__ = ["RFMClassifier"]

class _Replace(torch.optim.Optimizer):
    """The "optimiser" of an RFM: a fixed-point update ``M ← new M`` (the tensor the
    family leaves in ``M.grad``), not a descent step."""

    def __init__(self, params):
        super().__init__(params, {})

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    param.copy_(param.grad)


def _squared_distances(X: torch.Tensor, Z: torch.Tensor, M: torch.Tensor):
    """Mahalanobis ``(x − z)ᵀ M (x − z)`` for every pair, shape (R, n, m), clamped at 0, as
    the authors' code forms it (``xᵀMx + zᵀMz − 2xᵀMz``), and the scale ``xᵀMx + zᵀMz`` of
    its rounding error."""
    XM = X @ M
    x_norm = (XM * X).sum(-1, keepdim=True)
    z_norm = x_norm if Z is X else ((Z @ M) * Z).sum(-1, keepdim=True)
    scale = x_norm + z_norm.mT
    return (scale - 2.0 * XM @ Z.mT).clamp_(min=0.0), scale


class RFMClassifier(TrajectoryClassifier):
    """Recursive Feature Machine (RFM) classifier: a kernel machine that learns features.

    The algorithm of Radhakrishnan et al. (2024, "Mechanism for feature learning in
    neural networks and backpropagation-free machine learning models", *Science*) as
    Mallinar et al. (2025, "Emergence in non-neural models: grokking modular arithmetic
    via average gradient outer product", ICML; sec. 2, Alg. 1) run it on modular
    arithmetic, where it groks without gradient descent: training loss is zero from the
    first iteration while test accuracy jumps late.

    The predictor is kernel regression on one-hot targets ``Y`` (n × c) with a
    Mahalanobis kernel

    - Gaussian: ``K_M(x, z) = exp(−(x − z)ᵀ M (x − z) / (2 L²))``,
    - Laplace: ``K_M(x, z) = exp(−‖x − z‖_M / L)``,

    ``L = bandwidth``, ``f(x) = K_M(x, X) α`` with ``α = (K_M(X, X) + ridge·I)⁻¹ Y``.
    **One optimisation step is one RFM iteration**: solve for ``α`` at the current
    ``M``, then replace ``M`` by a power of the centred Average Gradient Outer Product
    of the fitted predictor over the training inputs,

    ``AGOP = (1/n) Σ_j Σ_c (g_jc − ḡ_c)(g_jc − ḡ_c)ᵀ``, ``g_jc = ∇_x f_c(x_j)``,
    ``ḡ_c = (1/n) Σ_j g_jc``, ``M ← AGOP^s`` (``s = agop_power``, by the
    eigendecomposition; 0.5 is the matrix square root),

    exactly as the authors' code (``nmallinar/rfm-grokking``, ``train_kernel.py``)
    does with its Gaussian kernel: ``M`` is replaced, not accumulated, and not
    normalised (their Laplace update always takes the square root, whatever
    ``agop_power``; here the power applies to both kernels). Step 0 is plain
    kernel regression with ``M = I``; the row of step ``t`` describes the predictor
    solved with the metric after ``t`` updates.

    ``history_`` columns (per datapoint of the split; squared errors of the outputs
    ``f(x)`` against one-hot targets):

    - ``loss``: mean squared error over all ``n × c`` entries (the code's "loss");
    - ``data_fit``: ``(1/n) Σ_j ‖f(x_j) − y_j‖²``, the squared error per datapoint
      (``c ×`` ``loss``);
    - ``complexity``: ``‖f‖²_H / n = tr(αᵀ K_M α) / n``, the squared RKHS norm of the
      fitted predictor per training datapoint. With ``ridge = 0`` the solve returns
      the minimum-norm interpolant, so this is the "how much function" the
      interpolation needs under the current metric: the same quantity as the data-fit
      term ``½ yᵀK⁻¹y`` of a GP's marginal likelihood (twice it), which Miller et al.
      (2023, sec. 3.2) read as the price of the fit. It is computed on the training
      pass and copied to the test rows;
    - ``objective = data_fit + complexity``: the kernel ridge regression objective at
      unit ridge, per datapoint (recorded for the data-fit/complexity split; the
      iteration itself minimises nothing);
    - ``accuracy`` / ``error``: argmax of ``f(x)`` against the label;
    - ``correct_class_loss``: ``(1/n) Σ_j (f_{y_j}(x_j) − 1)²`` (the code's
      "correct_logit_loss");
    - ``trace_M``: the trace of the metric used by the row's solve;
    - ``agop_alignment``: ``ρ(M_t, M_T) = ⟨M_t, M_T⟩_F / (‖M_t‖_F ‖M_T‖_F)``, the
      cosine similarity of the row's metric with the final one (Mallinar et al. 2025,
      sec. 3, "Progress measures"); see :func:`agop_alignment`;
    - ``circulant_deviation`` (when ``modulus`` is given): of the metric's
      bottom-left ``p × p`` block; see :func:`circulant_deviation`.

    Parameters
    ----------
    kernel : {"gaussian", "laplace"}, default="gaussian"
        The kernel's profile.
    bandwidth : float, default=2.5
        ``L`` (> 0), in the units of the inputs.
    ridge : float, default=0.0
        Ridge added to the kernel matrix (``>= 0``); 0 is exact interpolation (the
        paper's setting).
    agop_power : float, default=0.5
        ``s`` in ``M ← AGOP^s`` (> 0); negative eigenvalues of the AGOP (rounding) are
        set to 0.
    centering : bool, default=True
        Centre the gradients over the training points before the AGOP (the code's
        default).
    modulus : int or None, default=None
        ``p`` of inputs laid out as ``one-hot(a) ‖ one-hot(b) ‖ …`` (modular
        arithmetic); when given (``2p <= n_features``), ``history_`` records the
        circulant deviation of ``M[p:2p, :p]``.
    max_iter : int, default=50
        Number of RFM iterations (metric updates); ``history_`` has rows for steps
        ``0 … max_iter``.
    eval_every : int, "log" or list of them, default=1
        Evaluation schedule; see :func:`~grokbeyond.models.evaluation_steps`.
    dtype : {"float64", "float32"}, default="float64"
        Precision; an interpolating solve needs float64.
    device : str or torch.device, default="cpu"
        Torch device of the fit (``"cuda"``, ...; untested); see ``TrajectoryEstimator``.
    warm_start : bool, default=False
        Continue the last fit for another ``max_iter`` steps; see ``TrajectoryEstimator``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Unused: an RFM is deterministic given its data. Kept for the shared
        interface (a suite's seed varies the data split).
    verbose : bool, default=False
        Show a tqdm progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    M_ : ndarray of shape (n_features, n_features)
        The final metric (``max_iter`` updates).
    dual_coef_ : ndarray of shape (n_train, n_classes)
        ``α`` of the final predictor.
    X_fit_ : ndarray of shape (n_train, n_features)
        The training inputs (the kernel machine's centres).
    metrics_ : ndarray of shape (n_evaluations, n_features, n_features)
        The metric of every evaluated step, in the order of ``history_``'s steps.
    history_ : pandas.DataFrame
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        From ``fit``, for one class, NaN or infinite inputs, or invalid parameters.
    NumericalError
        From ``fit``, if the kernel matrix is not positive definite even after
        linear_operator's jitter escalation (``psd_safe_cholesky``: ×10 per retry),
        naming the iteration.

    Examples
    --------
    >>> from grokbeyond.datasets import make_modular_arithmetic
    >>> from grokbeyond.models import RFMClassifier
    >>> data = make_modular_arithmetic("add", p=17, train_fraction=0.7, random_state=0)
    >>> rfm = RFMClassifier(max_iter=20, modulus=17).fit(
    ...     data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    >>> test = rfm.history_.query("split == 'test'").set_index("step")
    >>> print(f"test accuracy {test.loc[0, 'accuracy']:.2f} -> {test.loc[20, 'accuracy']:.2f}")
    test accuracy 0.00 -> 1.00
    >>> print(f"circulant deviation {test.loc[1, 'circulant_deviation']:.2f} -> "
    ...       f"{test.loc[20, 'circulant_deviation']:.2f}")
    circulant deviation 0.53 -> 0.01
    """

    _numerical_errors = (NotPSDError, NanError, torch.linalg.LinAlgError)
    _runaway_check = False  # one iteration can raise the RKHS norm by 10¹² and the next bring it back

    def __init__(
        self,
        *,
        kernel="gaussian",
        bandwidth=2.5,
        ridge=0.0,
        agop_power=0.5,
        centering=True,
        modulus=None,
        max_iter=50,
        eval_every=1,
        dtype="float64",
        device="cpu",
        warm_start=False,
        random_state=None,
        verbose=False,
    ):
        self.kernel = kernel
        self.bandwidth = bandwidth
        self.ridge = ridge
        self.agop_power = agop_power
        self.centering = centering
        self.modulus = modulus
        self.max_iter = max_iter
        self.eval_every = eval_every
        self.dtype = dtype
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ---- the family contract ------------------------------------------------------
    def _check_params(self):
        if self.kernel not in ("gaussian", "laplace"):
            raise InputError(f"kernel must be 'gaussian' or 'laplace'; got {self.kernel!r}.")
        check_number(self.bandwidth, "bandwidth", Real, min_val=0.0, include_boundaries="neither")
        check_number(self.ridge, "ridge", Real, min_val=0.0)
        check_number(self.agop_power, "agop_power", Real, min_val=0.0, include_boundaries="neither")
        if not isinstance(self.centering, (bool, np.bool_)):
            raise InputError(f"centering must be True or False; got {self.centering!r}.")
        if self.modulus is not None:
            check_number(self.modulus, "modulus", Integral, min_val=2)

    def _build(self, X, y, generator):
        n_replicates, _, n_features = X.shape
        if self.modulus is not None and 2 * self.modulus > n_features:
            raise InputError(f"modulus={self.modulus} needs at least 2·modulus = {2 * self.modulus} "
                             f"features (one-hot(a) ‖ one-hot(b)); X has {n_features}.")
        eye = torch.eye(n_features, dtype=X.dtype, device=X.device)
        self._metric = eye.expand(n_replicates, -1, -1).clone()
        self._centres = X.clone()
        self._alpha = torch.zeros(n_replicates, X.shape[1], len(self.classes_), dtype=X.dtype, device=X.device)
        self._path = []  # the metric of every evaluated step, (R, d, d) each
        self._solved_for = None

    def _make_optimizer(self):
        return _Replace([self._metric])

    def _parameters(self):
        # No _load_parameters: replicates fit one after another. An interpolating solve
        # amplifies the rounding differences of batched matrix products (1e-6 relative
        # after one iteration at p = 17), so a run would depend on its batch; and the
        # solves are large enough that batching would gain nothing.
        return {"M": self._metric}

    def _gradients(self, X, y):
        # Not a gradient: the next metric, which the _Replace step copies into M.
        _, weights = self._solve(y, gradient_weights=True)
        return {"M": self._agop_power(self._agop(weights))}

    def _terms(self, X, y, *, train):
        if train:
            K, _ = self._solve(y)
            outputs = K @ self._alpha
        else:
            outputs = self._decision_function(X)
        targets = torch.nn.functional.one_hot(y, len(self.classes_)).to(outputs.dtype)
        squared = (outputs - targets).square()
        data_fit = squared.sum(-1).mean(-1)
        accuracy = (outputs.argmax(-1) == y).to(outputs.dtype).mean(-1)
        if train:
            complexity = (self._alpha * outputs).sum((-2, -1)) / X.shape[-2]
        else:  # a model term: the engine copies the training row's
            complexity = torch.full_like(data_fit, float("nan"))
        return {
            "objective": data_fit + complexity,
            "data_fit": data_fit,
            "complexity": complexity,
            "loss": squared.mean((-2, -1)),
            "error": 1.0 - accuracy,
            "accuracy": accuracy,
            "correct_class_loss": (outputs.gather(-1, y[..., None]).squeeze(-1) - 1.0).square().mean(-1),
        }

    def _model_quantities(self):
        # Called once per evaluated step: keep that step's metric for agop_alignment.
        self._path.append(self._metric.detach().clone())
        quantities = {"trace_M": torch.diagonal(self._metric, dim1=-2, dim2=-1).sum(-1)}
        if self.modulus is not None:
            p = self.modulus
            quantities["circulant_deviation"] = circulant_deviation(self._metric[:, p : 2 * p, :p])
        return quantities

    _completed_columns = ("agop_alignment",)

    def _continue(self):
        self._path = list(self._path.unbind(1))  # the metrics recorded so far, appended to

    def _complete_history(self, history: pd.DataFrame) -> pd.DataFrame:
        """Add each row's AGOP alignment with the final metric (needs the whole path); drop
        the fit's working state (the n × n kernel matrix, the last update)."""
        self._solved_for, self._metric.grad = None, None
        self._path = torch.stack(self._path, dim=1)  # (R, n_evaluations, d, d)
        metrics = self._path[0]
        alignment = agop_alignment(metrics, metrics[-1]).cpu().numpy()
        steps = np.unique(history["step"].to_numpy())
        return history.assign(agop_alignment=alignment[np.searchsorted(steps, history["step"].to_numpy())])

    # ---- the kernel machine ---------------------------------------------------------
    def _kernel(self, X, Z, *, with_weights=False):
        """``K_M(X, Z)`` (R, n, m) and, on request, the factor ``w`` of its input
        gradient ``∇_x K_M(x, z) = −w(x, z) M (x − z)``."""
        squared, scale = _squared_distances(X, Z, self._metric)
        L = float(self.bandwidth)
        if self.kernel == "gaussian":
            K = torch.exp(-squared / (2.0 * L**2))
            weights = K / L**2 if with_weights else None
        else:
            distance = squared.sqrt()
            K = torch.exp(-distance / L)
            weights = None
            if with_weights:
                # w = K / (L d) is unbounded as d → 0, where the term w M (x − z) → 0: points that
                # coincide under M (repeated inputs, or inputs the metric no longer tells apart)
                # get w = 0. Their expanded distance is rounding noise (~1e-8, not 0: the authors'
                # code's cut-off d < 1e-10 misses it), so coincidence is read relative to the
                # distance's rounding scale; an unbounded w would also ruin the expanded AGOP.
                coincident = squared <= 1e-12 * scale
                weights = torch.where(coincident, torch.zeros_like(K), K / (L * distance.clamp(min=1e-300)))
        if with_weights and Z is X:
            # A point's own term, w_jj (x_j − x_j), is exactly zero; dropping it keeps a huge
            # w_jj (the expanded distance of a point to itself is ~1e-8, not 0) from
            # cancelling in rounding.
            weights.diagonal(dim1=-2, dim2=-1).zero_()
        return K, weights

    def _solve(self, y, *, gradient_weights=False):
        """Solve for ``dual_coef_`` at the current metric (once per metric); return the
        training kernel matrix and, on request, its gradient weights."""
        key = (id(self._metric), self._metric._version)
        if self._solved_for is not None and self._solved_for[0] == key and not gradient_weights:
            return self._solved_for[1], None
        K, weights = self._kernel(self._centres, self._centres, with_weights=gradient_weights)
        system = K + self.ridge * torch.eye(K.shape[-1], dtype=K.dtype, device=K.device) if self.ridge else K
        targets = torch.nn.functional.one_hot(y, len(self.classes_)).to(K.dtype)
        self._alpha = torch.cholesky_solve(targets, psd_safe_cholesky(system))
        self._solved_for = (key, K)
        return K, weights

    def _agop(self, weights):
        """The centred AGOP of the fitted predictor over the training inputs, (R, d, d)
        (:func:`~grokbeyond.models._agop.kernel_agop`, between the metric on both sides);
        ``tests/models/test_rfm.py`` checks it against autograd."""
        second = kernel_agop(self._centres, self._alpha, weights, centering=bool(self.centering))
        return self._metric @ second @ self._metric

    def _agop_power(self, agop):
        """``AGOP^s`` by the eigendecomposition, negative (rounding) eigenvalues at 0."""
        eigenvalues, vectors = torch.linalg.eigh(agop)
        powered = eigenvalues.clamp(min=0.0) ** float(self.agop_power)
        return (vectors * powered[..., None, :]) @ vectors.mT

    def _decision_function(self, X):
        K, _ = self._kernel(X, self._centres)
        return K @ self._alpha

    # ---- fitted attributes (replicate 0 of the tensors, as numpy) --------------------
    def _fitted(self, tensor):
        check_is_fitted(self)
        return tensor.detach()[0].cpu().numpy().copy()

    @property
    def M_(self):
        """The final metric, ndarray of shape (n_features, n_features)."""
        return self._fitted(self._metric)

    @property
    def dual_coef_(self):
        """``α`` of the final predictor, ndarray of shape (n_train, n_classes)."""
        return self._fitted(self._alpha)

    @property
    def X_fit_(self):
        """The training inputs (the centres), ndarray of shape (n_train, n_features)."""
        return self._fitted(self._centres)

    @property
    def metrics_(self):
        """The metric of every evaluated step, ndarray of shape (n_evaluations,
        n_features, n_features), in the order of ``history_``'s steps."""
        return self._fitted(self._path)
