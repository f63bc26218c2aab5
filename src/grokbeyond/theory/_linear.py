"""The linear teacher–student model of Levi, Beck & Bar-Sinai (2023): exact and large-d dynamics."""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import integrate, special

from .._validation import check_number, check_values
from ..exceptions import InputError

__all__ = ["levi_grokking_time", "linear_gd_trajectory", "marchenko_pastur_trajectory", "threshold_accuracy"]


def threshold_accuracy(loss, epsilon, n_outputs=1):
    """Expected accuracy at threshold ε of a zero-mean Gaussian error with mean square ``loss``.

    A sample is correct when its error per output, ``‖e‖² / d_out``, is below ``ε``
    (Levi et al. 2023, sec. 3.1.2). For one output, ``e ~ N(0, L)`` and the accuracy is
    ``erf(√(ε / (2L)))`` (their eq. 10, exact); for ``d_out`` outputs of equal
    variance ``L`` (their isotropic approximation, eq. 13) it is the regularised lower
    incomplete gamma function ``P(d_out/2, d_out·ε / (2L))``.

    Parameters
    ----------
    loss : float or array-like
        ``L``, the mean squared error per output (the generalisation loss ``‖S − T‖²_F /
        d_out`` for Gaussian inputs), ``>= 0``; an infinite loss gives accuracy 0 and a
        NaN (a missing loss) NaN.
    epsilon : float
        The threshold ε (> 0), in squared output units.
    n_outputs : int, default=1
        ``d_out``.

    Returns
    -------
    ndarray or float
        In [0, 1]; 1 where ``loss`` is 0.

    Raises
    ------
    InputError
        If ``epsilon`` is not positive, ``n_outputs < 1``, or a loss is negative or a
        boolean.

    Examples
    --------
    >>> from grokbeyond.theory import threshold_accuracy
    >>> round(float(threshold_accuracy(1e-3 / 4, 1e-3)), 4)   # L = ε/4: the paper's 95% point
    0.9545
    """
    epsilon = check_number(epsilon, "epsilon", Real, min_val=0.0, include_boundaries="neither")
    n_outputs = check_number(n_outputs, "n_outputs", Integral, min_val=1)
    loss = check_values(loss, "loss", min_val=0.0, allow_nan=True, allow_inf=True)  # NaN: a missing loss
    with np.errstate(divide="ignore", over="ignore"):  # loss 0 or subnormal: accuracy 1
        return special.gammainc(n_outputs / 2, n_outputs * epsilon / (2 * loss))


_CHUNK_ENTRIES = 20_000_000  # floats held at once by linear_gd_trajectory (steps × (d_in·d_out + n·d_out))


def linear_gd_trajectory(X_train, teacher, student_init, *, lr, max_iter, weight_decay=0.0, epsilon=None,
                         steps=None, train_accuracy=True):
    """The exact full-batch gradient-descent trajectory of a linear student, step by step.

    The model of Levi, Beck & Bar-Sinai (2023, "Grokking in linear estimators – a
    solvable model that groks without understanding", ICLR 2024, sec. 3): a student
    ``S`` (d_in × d_out) fits a teacher ``T`` on noiseless targets ``y = Tᵀx`` by
    gradient descent with step ``η`` on ``L_tr = ‖X(S − T)‖²_F / (N d_out)`` (torch's
    mean squared error), with weight decay ``γ`` applied as torch's SGD applies it
    (``S ← S − η(∇L_tr + γS)``, their eq. 14). In the eigenbasis ``Σ̂ = XᵀX/N =
    Σ_i ν_i v_i v_iᵀ`` the error ``D = S − T`` evolves mode by mode (their eq. 3 in
    discrete time):

    ``D̃_i(t) = D̃_i* + (1 − η(2ν_i/d_out + γ))ᵗ (D̃_i(0) − D̃_i*)``,
    ``D̃_i* = −γ T̃_i / (2ν_i/d_out + γ)``,

    so ``L_tr(t) = Σ_i ν_i ‖D̃_i(t)‖² / d_out`` and, for inputs ``x ~ N(0, I)``, the
    generalisation loss is ``L_gen(t) = ‖D(t)‖²_F / d_out`` (their eq. 2).

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
        The training design.
    teacher : array-like of shape (n_features,) or (n_features, n_outputs)
        ``T`` (for :func:`~grokbeyond.datasets.make_linear_teacher`'s ``teacher``,
        pass its transpose).
    student_init : array-like of the shape of ``teacher``
        ``S(0)``.
    lr : float
        ``η`` (> 0).
    max_iter : int
        Steps; rows for ``t = 0 … max_iter``.
    weight_decay : float, default=0.0
        ``γ`` (>= 0).
    epsilon : float or None, default=None
        When given, the columns ``train_accuracy`` (the exact fraction of training
        samples with ``‖Dᵀx_i‖² / d_out < ε``) and ``test_accuracy``, the exact
        expected accuracy over ``x ~ N(0, I)``: the error ``Dᵀx`` is ``N(0, DᵀD)``, so
        it is ``erf(√(ε / (2 L_gen)))`` for one output (their eq. 10) and, for several,
        the distribution function of a weighted sum of χ²₁ variables (weights the
        eigenvalues of ``DᵀD``; Imhof 1961) at ``d_out·ε``, not the paper's isotropic
        approximation (eq. 13, :func:`threshold_accuracy`), which puts the 95% step
        ≈ 30% early at d_out = 20–50.
    steps : array-like of int or None, default=None
        The steps to evaluate instead of every step; they are evaluated in chunks, so
        memory stays bounded.
    train_accuracy : bool, default=True
        With ``epsilon``, whether to compute ``train_accuracy`` (a pass over the
        training points at every step, the costly column).

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step``, ``train_loss``, ``test_loss`` (and the accuracies).

    Raises
    ------
    ValueError
        If shapes disagree or a parameter is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.datasets import make_linear_teacher
    >>> from grokbeyond.theory import linear_gd_trajectory
    >>> data = make_linear_teacher(n_features=50, n_train=100, random_state=0)
    >>> curve = linear_gd_trajectory(data.X_train, data.teacher.T, np.zeros((50, 1)), lr=0.05, max_iter=200)
    >>> bool(curve["test_loss"].is_monotonic_decreasing)
    True
    """
    X = np.asarray(X_train, dtype=float)
    T = np.asarray(teacher, dtype=float)
    S0 = np.asarray(student_init, dtype=float)
    T, S0 = (T[:, None] if T.ndim == 1 else T), (S0[:, None] if S0.ndim == 1 else S0)
    if X.ndim != 2 or T.shape[0] != X.shape[1] or S0.shape != T.shape:
        raise InputError(f"X_train (n, d), teacher and student_init (d, d_out) must agree; got {X.shape}, "
                         f"{T.shape}, {S0.shape}.")
    lr = check_number(lr, "lr", Real, min_val=0.0, include_boundaries="neither")
    max_iter = check_number(max_iter, "max_iter", Integral, min_val=0)
    weight_decay = check_number(weight_decay, "weight_decay", Real, min_val=0.0)
    n, n_outputs = X.shape[0], T.shape[1]
    nu, V = np.linalg.eigh(X.T @ X / n)
    nu = np.clip(nu, 0.0, None)
    rate = 2.0 * nu / n_outputs + weight_decay  # (d,)
    T_modes, D0_modes = V.T @ T, V.T @ (S0 - T)
    with np.errstate(divide="ignore", invalid="ignore"):
        fixed = np.where(rate[:, None] > 0, -weight_decay * T_modes / rate[:, None], 0.0)
    steps = np.arange(max_iter + 1) if steps is None else np.asarray(steps, dtype=int)
    if steps.ndim != 1 or (steps < 0).any():
        raise InputError("steps must be a 1-d array of non-negative ints.")
    rotated = X @ V
    columns = {"train_loss": [], "test_loss": [], "train_accuracy": [], "test_accuracy": []}
    per_step = T.size + (n * n_outputs if epsilon is not None and train_accuracy else 0)
    for chunk in np.array_split(steps, max(1, -(-steps.size * per_step // _CHUNK_ENTRIES))):
        factor = (1.0 - lr * rate)[None, :] ** chunk[:, None]  # (t, d)
        modes = fixed[None] + factor[..., None] * (D0_modes - fixed)[None]  # (t, d, d_out)
        energy = (modes**2).sum(-1)  # (t, d)
        columns["train_loss"].append(energy @ nu / n_outputs)
        columns["test_loss"].append(energy.sum(-1) / n_outputs)
        if epsilon is None:
            continue
        if train_accuracy:
            errors = rotated @ modes  # (t, n, d_out): Dᵀx_i in the rotated basis, one BLAS product per step
            columns["train_accuracy"].append(((errors**2).sum(-1) / n_outputs < epsilon).mean(-1))
        if n_outputs == 1:
            columns["test_accuracy"].append(threshold_accuracy(energy.sum(-1), epsilon))
        else:  # Dᵀx ~ N(0, DᵀD): a weighted sum of χ²₁ over the eigenvalues of DᵀD (or of DDᵀ, the smaller)
            gram = np.swapaxes(modes, 1, 2) @ modes if n_outputs <= modes.shape[1] else modes @ np.swapaxes(modes, 1, 2)
            columns["test_accuracy"].append(np.array([_weighted_chi2_cdf(w, n_outputs * epsilon)
                                                      for w in np.linalg.eigvalsh(gram)]))
    return pd.DataFrame({"step": steps, **{name: np.concatenate(parts) for name, parts in columns.items() if parts}})


def _weighted_chi2_cdf(weights, x):
    """``P(Σ_k w_k z_k² ≤ x)`` for ``z ~ N(0, I)`` and weights ``w ≥ 0`` (Imhof 1961, Biometrika 48,
    eq. 3.2, by numerical integration; the weights are scaled to sum 1 first)."""
    weights = np.clip(np.asarray(weights, dtype=float), 0.0, None)
    total = weights.sum()
    if total <= 0:
        return 1.0 if x >= 0 else 0.0
    weights, x = weights[weights > total * 1e-14] / total, x / total

    def integrand(u):
        theta = 0.5 * np.arctan(weights * u).sum() - 0.5 * x * u
        return math.sin(theta) / (u * math.exp(0.25 * np.log1p((weights * u) ** 2).sum()))

    with warnings.catch_warnings():  # two weights: a slow 1/u² tail, still within ~1e-6
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        value = integrate.quad(integrand, 0.0, np.inf, limit=500, epsabs=1e-10)[0]
    return float(min(1.0, max(0.0, 0.5 - value / math.pi)))


def _marchenko_pastur(ratio):
    """The support ``(λ₋, λ₊)`` and the atom at 0 of the Marchenko–Pastur law of ratio λ."""
    root = math.sqrt(ratio)
    return (1 - root) ** 2, (1 + root) ** 2, max(0.0, 1.0 - 1.0 / ratio)


def marchenko_pastur_trajectory(ratio, *, lr, max_iter, n_outputs=1, initial_loss=None, epsilon=None,
                                steps=None):
    """Losses of the linear teacher–student model in the limit of large dimension.

    Levi et al. (2023, sec. 3.1.1, eqs. 6–8): for ``d_in, N → ∞`` at ``λ = d_in / N``
    the spectrum of ``Σ̂`` follows the Marchenko–Pastur law ``p(ν) = (1 − 1/λ)⁺ δ₀ +
    √((λ₊ − ν)(ν − λ₋)) / (2πλν)``, ``λ± = (1 ± √λ)²``, and with an isotropic initial
    error the losses are averages over it. In the discrete time of
    :func:`linear_gd_trajectory` (no weight decay),

    ``L_gen(t) = L₀ E[(1 − 2ην/d_out)^{2t}]``, ``L_tr(t) = L₀ E[ν (1 − 2ην/d_out)^{2t}]``,

    where ``L₀ = L_gen(0)`` (the paper's initialisation, student and teacher entries
    ``N(0, 1/(2 d_in d_out))``, gives ``L₀ = 1/d_out``;
    :func:`~grokbeyond.datasets.make_linear_teacher`'s default teacher with a zero
    student gives ``L₀ = 1``: pass ``initial_loss``, since ε is absolute). The paper's gradient-flow form
    ``e^{−4ηνt}`` is the limit of small ``η``. For λ > 1 the atom at 0 leaves
    ``L_gen → L₀ (1 − 1/λ)``: the student never generalises.

    Parameters
    ----------
    ratio : float
        ``λ = d_in / N`` (> 0).
    lr : float
        ``η`` (> 0).
    max_iter : int
        Rows for steps ``0 … max_iter`` (or ``steps``).
    n_outputs : int, default=1
        ``d_out``.
    initial_loss : float or None, default=None
        ``L₀``; ``None`` is ``1/d_out``.
    epsilon : float or None, default=None
        When given, ``test_accuracy`` (:func:`threshold_accuracy` of ``L_gen``).
    steps : array-like of int or None, default=None
        The steps to evaluate instead of every step (the integrals cost ~1 ms each).

    Returns
    -------
    pandas.DataFrame
        ``step``, ``train_loss``, ``test_loss`` (and ``test_accuracy``).

    Raises
    ------
    ValueError
        If a parameter is out of range.

    Examples
    --------
    >>> from grokbeyond.theory import marchenko_pastur_trajectory
    >>> curve = marchenko_pastur_trajectory(2.0, lr=0.01, max_iter=20000, steps=[0, 20000])
    >>> [round(v, 3) for v in curve["test_loss"]]   # λ = 2: half the error stays
    [1.0, 0.5]
    """
    ratio = check_number(ratio, "ratio", Real, min_val=0.0, include_boundaries="neither")
    lr = check_number(lr, "lr", Real, min_val=0.0, include_boundaries="neither")
    max_iter = check_number(max_iter, "max_iter", Integral, min_val=0)
    n_outputs = check_number(n_outputs, "n_outputs", Integral, min_val=1)
    initial_loss = 1.0 / n_outputs if initial_loss is None else check_number(initial_loss, "initial_loss", Real,
                                                                             min_val=0.0)
    low, high, atom = _marchenko_pastur(ratio)
    middle, half = (high + low) / 2, (high - low) / 2

    # ν = middle − half·cos θ removes the square-root edges: p(ν) dν = half² sin²θ / (2πλν) dθ.
    def expectation(power, t):
        def integrand(theta):
            nu = middle - half * math.cos(theta)
            weight = half**2 * math.sin(theta) ** 2 / (2 * math.pi * ratio * nu)
            return nu**power * (1.0 - 2.0 * lr * nu / n_outputs) ** (2 * t) * weight
        # Relative tolerance only: late losses (≪ 1e-8) matter at small ε.
        return integrate.quad(integrand, 0.0, math.pi, limit=400, epsabs=0.0, epsrel=1e-10)[0]

    steps = np.arange(max_iter + 1) if steps is None else np.asarray(steps, dtype=int)
    if steps.ndim != 1 or (steps < 0).any():
        raise InputError("steps must be a 1-d array of non-negative ints.")
    rows = [{"step": int(t), "train_loss": initial_loss * expectation(1, int(t)),
             "test_loss": initial_loss * (expectation(0, int(t)) + atom)} for t in steps]
    frame = pd.DataFrame(rows)
    if epsilon is not None:
        frame["test_accuracy"] = threshold_accuracy(frame["test_loss"].to_numpy(), epsilon, n_outputs)
    return frame


def levi_grokking_time(ratio, lr):
    """The grokking time of the linear teacher–student model, small ε (Levi et al. 2023, eq. 12).

    ``Δt_grok ≃ log(1 / (1 − √λ)) / (2η (1 − √λ)²)`` for one output, no weight decay and
    ``λ = d_in / N < 1``: the steps between the training and the test accuracy
    reaching 95% (``L = ε/4``), in the limit ``ε → 0``. It grows without bound as
    ``λ → 1`` and vanishes as ``λ → 0``. The limit is approached slowly: the gap read
    from :func:`marchenko_pastur_trajectory`'s curves is about 0.5–0.85 of it for ε
    from 1e-2 to 1e-8 (at λ = 0.5, η = 0.01: 320–615 steps against 716), so a measured
    gap below it at a practical ε is expected.

    Parameters
    ----------
    ratio : float or array-like
        ``λ``, in (0, 1).
    lr : float
        ``η`` (> 0).

    Returns
    -------
    ndarray or float
        Steps.

    Raises
    ------
    ValueError
        If a ratio is outside (0, 1) or ``lr`` is not positive.

    Examples
    --------
    >>> from grokbeyond.theory import levi_grokking_time
    >>> round(float(levi_grokking_time(0.5, 0.01)))
    716
    """
    lr = check_number(lr, "lr", Real, min_val=0.0, include_boundaries="neither")
    ratio = check_values(ratio, "ratio", min_val=0.0, include_min=False)
    if (ratio >= 1).any():
        raise InputError("ratio must be < 1 for levi_grokking_time (λ ≥ 1 never generalises).")
    gap = 1.0 - np.sqrt(ratio)
    return np.log(1.0 / gap) / (2.0 * lr * gap**2)
