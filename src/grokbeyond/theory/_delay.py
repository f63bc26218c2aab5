"""Delay laws: how long generalisation lags memorisation under an explicit complexity term."""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple

import numpy as np
from scipy import optimize, stats

from .._validation import check_number, check_values
from ..exceptions import InputError

__all__ = ["NormDelayFit", "SlopeFit", "fit_delay_slope", "fit_norm_delay", "norm_delay", "notsawo_delay"]


def notsawo_delay(lr, beta, constant=1.0):
    """The delay between memorisation and generalisation under a penalty (Notsawo et al. 2025).

    Notsawo, Dumas & Rabusseau (2025, "Grokking beyond the Euclidean norm of model
    parameters", ICML, sec. 3): minimising ``g + β·h`` by (sub)gradient descent with step
    ``α``, the model first fits ``g`` and reaches the structure ``h`` favours
    ``Δt = Θ(1/(αβ))`` steps later. The constant is not given by the theory: the
    authors' code, run on a machine like ours (``shared/reference/README.md``), gives
    ``Δt·α·β ≈ 10.8`` for ℓ1 sparse recovery from the initialisation ``10·1``.

    Parameters
    ----------
    lr : float or array-like
        ``α`` (> 0).
    beta : float or array-like
        ``β`` (> 0).
    constant : float, default=1.0
        ``c`` in ``Δt = c / (αβ)``.

    Returns
    -------
    ndarray or float
        Steps.

    Raises
    ------
    ValueError
        If ``lr`` or ``beta`` is not positive and finite.

    Examples
    --------
    >>> from grokbeyond.theory import notsawo_delay
    >>> round(float(notsawo_delay(0.1, 1e-5, constant=10.8)))
    10800000
    """
    _positive(lr, "lr"), _positive(beta, "beta"), _positive(constant, "constant")
    return constant / (np.asarray(lr, dtype=float) * np.asarray(beta, dtype=float))


class SlopeFit(NamedTuple):
    """A least-squares fit of ``log Δt = intercept + slope · log(lr · weight_decay)``.

    Returned by :func:`fit_delay_slope` (and :func:`line_fit`); ``low`` and ``high`` bound
    the slope's confidence interval.

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.theory import fit_delay_slope
    >>> lr, wd = np.repeat([0.1, 0.2, 0.4], 3), np.tile([1e-3, 2e-3, 4e-3], 3)
    >>> fit = fit_delay_slope(lr, wd, 7.0 / (lr * wd) * np.exp(0.1 * np.sin(np.arange(9))))
    >>> bool(fit.low < -1 < fit.high), fit.n_runs
    (True, 9)
    """

    slope: float
    low: float  #: lower end of the slope's interval
    high: float  #: upper end of the slope's interval
    intercept: float
    r_squared: float
    n_runs: int


def _positive(values, name):
    return check_values(values, name, min_val=0.0, include_min=False).ravel()


def fit_delay_slope(lr, weight_decay, delay, confidence_level=0.95) -> SlopeFit:
    """The slope of log Δt on log(lr · weight_decay), with its Student-t interval.

    Notsawo, Dumas & Rabusseau (2025, sec. 3) prove ``Δt = Θ(1/(αβ))`` for (sub)gradient
    descent with step ``α`` on ``g + β·h``; weight decay shrinks the parameters by the
    factor ``1 − lr·wd`` per step, so the decay-driven delay of any family trained so is
    predicted to scale as ``(lr·wd)^−1``: slope −1.

    Parameters
    ----------
    lr, weight_decay, delay : array-like of shape (n_runs,)
        Each run's learning rate α, penalty weight β (the coefficient of the decay
        per step is ``α·β``) and measured delay Δt (steps); all positive and finite;
        at least three runs and two distinct products.
    confidence_level : float, default=0.95
        Of the interval (Student's t with ``n_runs − 2`` degrees of freedom).

    Returns
    -------
    SlopeFit
        ``slope``, its interval ``low, high``, ``intercept`` (of log Δt, natural
        logs), ``r_squared`` and ``n_runs``.

    Raises
    ------
    ValueError
        If the arrays differ in length, hold a non-positive or non-finite value,
        there are fewer than three runs or one product only, or the confidence level
        is not in (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.theory import fit_delay_slope
    >>> lr, wd = np.repeat([0.1, 0.2, 0.4], 3), np.tile([1e-3, 2e-3, 4e-3], 3)
    >>> round(fit_delay_slope(lr, wd, 7.0 / (lr * wd)).slope, 6)
    -1.0
    """
    confidence_level = check_number(confidence_level, "confidence_level", Real, min_val=0.0, max_val=1.0,
                                    include_boundaries="neither")
    lr, weight_decay, delay = (_positive(v, n) for v, n in ((lr, "lr"), (weight_decay, "weight_decay"),
                                                            (delay, "delay")))
    if not len(lr) == len(weight_decay) == len(delay):
        raise InputError("lr, weight_decay and delay must have one value per run.")
    x = np.log(lr * weight_decay)
    if len(x) < 3 or np.ptp(x) == 0:
        raise InputError(f"fit_delay_slope needs at least three runs at two or more values of lr·weight_decay; "
                         f"got {len(x)} run(s).")
    return line_fit(x, np.log(delay), confidence_level)


def line_fit(x, y, confidence_level=0.95) -> SlopeFit:
    """Least squares ``y = intercept + slope·x`` with the slope's Student-t interval (n − 2 degrees of
    freedom); the shared core of the delay fits (at least three points, two distinct x)."""
    fit = stats.linregress(x, y)
    half = stats.t.ppf((1 + confidence_level) / 2, len(x) - 2) * fit.stderr
    return SlopeFit(float(fit.slope), float(fit.slope - half), float(fit.slope + half), float(fit.intercept),
                    float(fit.rvalue**2), len(x))


def norm_delay(norm_sq, lr, weight_decay, *, kappa=1.0, target=1.0):
    """The delay predicted at memorisation from the squared parameter norm.

    Under weight decay the squared norm shrinks as ``V(t) ≈ V_mem · exp(−2κ·lr·wd·t)``
    once the data fit is saturated; generalisation comes when it reaches the level
    ``V★`` of the generalising solution:

    ``Δt ≈ log(V_mem / V★) / (2κ · lr · wd)``

    (Khanh et al. 2026, "First-Passage Prediction of Grokking Delay", arXiv
    2605.18845, who fit κ and V★ per architecture; their earlier "The Norm-Separation
    Delay Law of Grokking", arXiv 2603.13331, sets V★ to the run's final ‖θ‖²). κ = 1
    is plain gradient descent with decoupled weight decay and no opposing data
    gradient.

    Parameters
    ----------
    norm_sq : float or array-like
        ``V_mem = ‖θ_mem‖²`` at the memorisation step.
    lr, weight_decay : float or array-like
        The step and the decay coefficient (``lr·weight_decay`` is the decay per step).
    kappa : float, default=1.0
        κ (> 0), the effective fraction of the decay rate.
    target : float or array-like, default=1.0
        ``V★`` (> 0), the squared norm at which the run generalises.

    Returns
    -------
    ndarray or float
        Steps; negative where ``V_mem < V★`` (nothing to decay).

    Raises
    ------
    ValueError
        If a value is not positive and finite.

    Examples
    --------
    >>> import math
    >>> from grokbeyond.theory import norm_delay
    >>> round(float(norm_delay(math.e ** 2, 0.1, 1e-2)))
    1000
    """
    for value, name in ((norm_sq, "norm_sq"), (lr, "lr"), (weight_decay, "weight_decay"), (kappa, "kappa"),
                        (target, "target")):
        _positive(value, name)
    return _decay_steps(np.log(np.asarray(norm_sq, float)) - np.log(np.asarray(target, float)), lr, weight_decay,
                        kappa)


def _decay_steps(log_ratio, lr, weight_decay, kappa):
    """``log(V_mem / V★) / (2κ · lr · wd)``, a float for scalar inputs."""
    result = np.asarray(log_ratio, float) / (2.0 * kappa * np.asarray(lr, float) * np.asarray(weight_decay, float))
    return float(result) if np.ndim(result) == 0 else result


class NormDelayFit(NamedTuple):
    """κ and V★ of :func:`norm_delay`, fitted by :func:`fit_norm_delay`.

    V★ is kept as its logarithm: where ‖θ_mem‖² hardly varies between runs, κ and V★
    trade off (the prediction tends to ``c / (lr·wd)``) and V★ may be far below any
    float; the prediction stays finite.

    Examples
    --------
    Delays made by :func:`norm_delay` itself are fitted back:

    >>> import numpy as np
    >>> from grokbeyond.theory import fit_norm_delay, norm_delay
    >>> norm_sq, lr, wd = np.array([4.0, 9.0, 16.0, 25.0]), np.full(4, 0.1), np.array([1e-3, 2e-3, 1e-3, 2e-3])
    >>> fit = fit_norm_delay(norm_sq, lr, wd, norm_delay(norm_sq, lr, wd, kappa=2.0, target=1.0))
    >>> round(fit.kappa, 3), round(fit.target, 3)
    (2.0, 1.0)
    """

    kappa: float
    log_target: float  #: log V★; NaN when each run's own target was given
    n_runs: int

    @property
    def target(self) -> float:
        """V★ (0.0 where it underflows)."""
        return float(np.exp(self.log_target))

    def predict(self, norm_sq, lr, weight_decay, target=None):
        """:func:`norm_delay` with the fitted κ (and V★, unless ``target`` is given)."""
        if target is not None:
            return norm_delay(norm_sq, lr, weight_decay, kappa=self.kappa, target=target)
        _positive(norm_sq, "norm_sq")
        return _decay_steps(np.log(np.asarray(norm_sq, float)) - self.log_target, lr, weight_decay, self.kappa)


def fit_norm_delay(norm_sq, lr, weight_decay, delay, *, target=None) -> NormDelayFit:
    """Fit κ (and V★) of :func:`norm_delay` to measured delays, in relative error.

    The fit minimises the squared log-ratio of predicted to measured delay, so that
    every run counts by its relative error, as the mean absolute percentage error
    that judges the prediction does (Khanh et al. 2026, arXiv 2605.18845: κ and V★
    fitted on calibration runs, 17.7% MAPE on 26 held-out transformer runs).

    Parameters
    ----------
    norm_sq, lr, weight_decay, delay : array-like of shape (n_runs,)
        ``‖θ_mem‖²``, step, decay coefficient and measured delay Δt (steps) of each
        calibration run; positive and finite.
    target : array-like of shape (n_runs,) or None, default=None
        Each run's own ``V★`` (e.g. its final ‖θ‖², as Khanh et al.'s arXiv
        2603.13331): only κ is fitted, in closed form (the geometric mean of
        ``log(V_mem/V★) / (2·lr·wd·Δt)``; runs with ``V_mem ≤ V★`` are left out).
        ``None`` fits κ and one ``V★`` for all runs (at least two runs).

    Returns
    -------
    NormDelayFit
        ``kappa``, ``log_target`` (log V★; NaN with per-run targets) and the number of
        runs used.

    Raises
    ------
    ValueError
        If the arrays differ in length or hold non-positive or non-finite values, or
        too few runs remain.

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.theory import fit_norm_delay, norm_delay
    >>> norm_sq, lr, wd = np.array([50.0, 80.0, 120.0]), np.array([0.1, 0.2, 0.1]), np.array([1e-2, 1e-2, 3e-2])
    >>> fit = fit_norm_delay(norm_sq, lr, wd, norm_delay(norm_sq, lr, wd, kappa=0.5, target=2.0))
    >>> round(fit.kappa, 4), round(fit.target, 4)
    (0.5, 2.0)
    """
    arrays = [_positive(v, n) for v, n in ((norm_sq, "norm_sq"), (lr, "lr"), (weight_decay, "weight_decay"),
                                           (delay, "delay"))]
    if len({len(a) for a in arrays}) != 1:
        raise InputError("norm_sq, lr, weight_decay and delay must have one value per run.")
    norm_sq, lr, weight_decay, delay = arrays
    decayed = 2.0 * lr * weight_decay * delay  # = log(V_mem / V★) / κ
    if target is not None:
        target = _positive(target, "target")
        if len(target) != len(delay):
            raise InputError("target must have one value per run.")
        keep = norm_sq > target
        if not keep.any():
            raise InputError("fit_norm_delay: no run has ‖θ_mem‖² above its target.")
        kappa = float(np.exp(np.mean(np.log(np.log(norm_sq[keep] / target[keep]) / decayed[keep]))))
        return NormDelayFit(kappa, float("nan"), int(keep.sum()))
    if len(delay) < 2:
        raise InputError("fit_norm_delay needs at least two runs to fit κ and V★.")

    def residuals(params):
        log_kappa, log_target = params
        predicted = (np.log(norm_sq) - log_target) / np.exp(log_kappa)
        return np.log(np.maximum(predicted, 1e-300)) - np.log(decayed)

    lowest = float(np.log(norm_sq).min())
    start = [0.0, lowest - 1.0]
    solution = optimize.least_squares(residuals, start, bounds=([-20, lowest - 700], [20, lowest]))
    return NormDelayFit(float(np.exp(solution.x[0])), float(solution.x[1]), len(delay))
