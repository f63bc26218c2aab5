"""Logistic regression at the edge of linear separability (Beck, Levi & Bar-Sinai 2025)."""

from __future__ import annotations

from numbers import Real

import numpy as np
from scipy import optimize, special, stats

from .._validation import check_number, check_values
from ..exceptions import InputError

__all__ = ["beck_delay_ratio", "limiting_accuracy", "origin_margin", "separability_probability"]


def origin_margin(points) -> float:
    """The margin by which a set of points is separable from the origin; 0 if it is not.

    ``M = max_{‖u‖=1} min_i u·pᵢ`` when positive, which by duality is the distance
    from the origin to the convex hull of the points; the set is *separable from the
    origin* (some hyperplane through the origin has every point strictly on one side)
    exactly when the origin is outside that hull. Beck, Levi & Bar-Sinai (2025,
    "Grokking at the edge of linear separability", ICML, sec. 3.2, prop. 3.2) show that
    logistic regression with a bias on a constant label generalises perfectly if and
    only if its training inputs are *not* separable from the origin; otherwise its test
    accuracy tends to :func:`limiting_accuracy` of this margin.

    The nearest point of the hull is found by non-negative least squares (scipy's
    Lawson–Hanson ``nnls`` on the convex weights, their sum held at 1 by a heavy
    penalty row); the margin returned is certified: it is ``min_i u·pᵢ`` of the
    direction ``u`` found, a margin some hyperplane attains.

    Parameters
    ----------
    points : array-like of shape (n_points, n_features)
        For the constant-label model, the training inputs, each multiplied by its
        label (±1).

    Returns
    -------
    float
        ``M ≥ 0``, in the units of the points; 0 when the origin is in the hull.

    Raises
    ------
    ValueError
        If ``points`` is not a non-empty 2-d array of finite values.
    RuntimeError
        From scipy's ``nnls``, if it does not converge within ``50 × n_points``
        iterations.

    Examples
    --------
    >>> from grokbeyond.theory import origin_margin
    >>> round(origin_margin([[1.0, 1.0], [1.0, -1.0]]), 9)
    1.0
    >>> origin_margin([[1.0, 0.0], [-1.0, 0.0]])
    0.0
    """
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.size == 0 or not np.isfinite(points).all():
        raise InputError("points must be a non-empty 2-d array of finite values (n_points, n_features).")
    scale = np.abs(points).max()
    if scale == 0:
        return 0.0
    unit = points / scale
    penalty = 1e4  # the row that holds Σ weights = 1; a relative error of ~1e-8 on the margin
    design = np.vstack([unit.T, np.full(len(unit), penalty)])
    target = np.zeros(design.shape[0])
    target[-1] = penalty
    weights, _ = optimize.nnls(design, target, maxiter=50 * design.shape[1])
    nearest = unit.T @ weights / weights.sum()
    norm = np.linalg.norm(nearest)
    if norm == 0:
        return 0.0
    certified = float((unit @ (nearest / norm)).min())
    return float(scale * certified) if certified > 0 else 0.0


def separability_probability(n_features, n_samples):
    """The probability that N Gaussian points in d dimensions are separable from the origin.

    Wendel (1962): for ``N`` points drawn i.i.d. from a distribution symmetric about
    the origin and in general position in ``R^d``, the probability that they lie in one
    open half-space through the origin is ``2^{-(N-1)} Σ_{k<d} C(N−1, k)``, i.e.
    ``P(Binomial(N−1, ½) ≤ d − 1)``. As ``N, d → ∞`` at ``λ = d/N`` it tends to 1 for
    λ > ½ and to 0 for λ < ½ (Beck, Levi & Bar-Sinai 2025, prop. 3.3, proved in their
    app. A from Wendel's theorem).

    Parameters
    ----------
    n_features : int or array-like of int
        ``d`` (>= 1).
    n_samples : int or array-like of int
        ``N`` (>= 1).

    Returns
    -------
    ndarray or float
        The probability.

    Raises
    ------
    ValueError
        If a size is below 1.

    Examples
    --------
    >>> from grokbeyond.theory import separability_probability
    >>> separability_probability(2, 3)
    0.75
    >>> round(float(separability_probability(490, 1000)), 3)
    0.263
    """
    d, n = np.asarray(n_features), np.asarray(n_samples)
    for name, values in (("n_features", d), ("n_samples", n)):
        if not np.issubdtype(values.dtype, np.integer) or (values < 1).any():
            raise InputError(f"{name} must be integers >= 1; got {values.tolist()!r}.")
    result = stats.binom.cdf(d - 1, n - 1, 0.5)
    return float(result) if np.ndim(result) == 0 else result


def limiting_accuracy(margin, noise_scale):
    """The test accuracy logistic regression tends to on a training set separable from the origin.

    Beck, Levi & Bar-Sinai (2025, prop. 3.2): on the constant-label model with inputs
    ``x ~ N(0, σ² I)`` and a bias, gradient descent converges in direction to the
    max-margin separator of the extended inputs ``(x, 1)`` (Soudry et al. 2018); when
    the training inputs are separable from the origin with margin ``M > 0``, its test
    accuracy tends to ``½[1 + erf(1/(σ M √2))] = Φ(1/(σM))``, below 1; with ``M = 0``
    (not separable) it tends to 1.

    Parameters
    ----------
    margin : float or array-like
        ``M ≥ 0`` (:func:`origin_margin` of the label-signed inputs), in input units.
    noise_scale : float
        ``σ`` (> 0), the standard deviation of each input coordinate.

    Returns
    -------
    ndarray or float
        Accuracy in [½, 1].

    Raises
    ------
    ValueError
        If a margin is negative or not finite, or ``noise_scale`` is not positive.

    Examples
    --------
    >>> from grokbeyond.theory import limiting_accuracy
    >>> limiting_accuracy(0.0, 5.0)
    1.0
    >>> round(float(limiting_accuracy(0.2, 5.0)), 4)
    0.8413
    """
    noise_scale = check_number(noise_scale, "noise_scale", Real, min_val=0.0, include_boundaries="neither")
    margin = check_values(margin, "margin", min_val=0.0)
    with np.errstate(divide="ignore"):
        result = special.ndtr(1.0 / (noise_scale * margin))
    return float(result) if np.ndim(result) == 0 else result


def beck_delay_ratio(ratio):
    """The delay ratio t_gen / t_tr of Beck et al.'s one-dimensional toy model, near λ = ½.

    Beck, Levi & Bar-Sinai (2025, app. E, eqs. 39–41, fig. 9) reduce the constant-label
    model to two points, ``x₁ = −σ``, ``x₂ = σ(1 − 2λ)``, and find the times at which
    the training and the generalisation loss cross a small level related by
    ``log(t_gen / t_tr) ≈ ½ log²(1 − 2λ)`` (in conformal time, exact to leading order;
    fig. 9 checks ``√log(t_gen/t_tr)`` against ``log(1 − 2λ)``, slope ``1/√2`` in
    magnitude). The ratio grows faster than any power of ``1/(½ − λ)``: a divergence,
    but not a power law with a critical exponent.

    Parameters
    ----------
    ratio : float or array-like
        ``λ = d/N`` in (0, ½).

    Returns
    -------
    ndarray or float
        ``exp(½ log²(1 − 2λ))`` (dimensionless).

    Raises
    ------
    ValueError
        If a ratio is outside (0, ½).

    Examples
    --------
    >>> from grokbeyond.theory import beck_delay_ratio
    >>> round(float(beck_delay_ratio(0.45)), 2)
    14.17
    """
    ratio = check_values(ratio, "ratio", min_val=0.0, include_min=False)
    if (ratio >= 0.5).any():
        raise InputError("ratio must be < 1/2 for beck_delay_ratio (λ ≥ 1/2 is separable and never generalises).")
    result = np.exp(0.5 * np.log1p(-2.0 * ratio) ** 2)
    return float(result) if np.ndim(result) == 0 else result
