"""One-dimensional tasks of Miller et al. (2023): noisy sine, linear regression with decoys, a step."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import check_number
from .._random import numpy_generator
from ..exceptions import InputError
from ._base import check_option, make_bunch

__all__ = ["make_decoy_linear", "make_noisy_sine", "make_step_function"]


def make_noisy_sine(n_samples=100, *, noise=0.1, train_fraction=0.5, random_state=None):
    """Noisy sine, the GP-regression data of Miller et al. (2023, sec. 3.2, experiment E3).

    ``x ~ U[-1.5, 1.5)``, ``y = sin(2x) + noise * ε`` with ``ε ~ N(0, 1)``; a random
    permutation splits the samples into training and test sets.

    Parameters
    ----------
    n_samples : int, default=100
        Total number of samples (``>= 2``).
    noise : float, default=0.1
        Standard deviation of the additive Gaussian noise (``>= 0``).
    train_fraction : float, default=0.5
        Fraction of samples used for training, in (0, 1).
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, 1), ``y_train`` of shape (n_train,), ``X_test``,
        ``y_test``; float64.

    Raises
    ------
    ValueError
        If ``n_samples < 2``, ``noise < 0`` or ``train_fraction`` is outside (0, 1).

    Examples
    --------
    >>> from grokbeyond.datasets import make_noisy_sine
    >>> data = make_noisy_sine(random_state=0)
    >>> data.X_train.shape, data.X_test.shape
    ((50, 1), (50, 1))
    """
    n_samples = check_number(n_samples, "n_samples", Integral, min_val=2)
    noise = check_number(noise, "noise", Real, min_val=0.0)
    train_fraction = check_number(
        train_fraction, "train_fraction", Real, min_val=0.0, max_val=1.0, include_boundaries="neither"
    )
    rng = numpy_generator(random_state, "make_noisy_sine")
    x = rng.uniform(-1.5, 1.5, size=n_samples)
    y = np.sin(2.0 * x) + noise * rng.standard_normal(n_samples)
    order = rng.permutation(n_samples)
    n_train = min(max(1, round(train_fraction * n_samples)), n_samples - 1)
    train, test = order[:n_train], order[n_train:]
    return make_bunch(
        x[train, None], y[train], x[test, None], y[test],
        task="noisy_sine",
        params=dict(n_samples=n_samples, noise=noise, train_fraction=train_fraction),
        relevant_features=[0],
        concealed_features=[],
    )


def make_decoy_linear(n_samples=100, *, n_train=2, slope=0.3, frequency=100.0, x=None, input_draw="generator",
                      random_state=None):
    """Linear regression with decoy features (Miller et al. 2023, sec. 3.3, experiments E4–E7).

    ``x ~ U(-0.5, 0.5)``, ``y = slope * x``; the features are
    ``[x, x², x³, sin(frequency * x)]``. Only the first is relevant; the other three are
    decoys a model can use to interpolate the few training points. The first
    ``n_train`` samples train, the rest test (the paper: 2 train, 98 test).

    Parameters
    ----------
    n_samples : int, default=100
        Total number of samples.
    n_train : int, default=2
        Number of training samples (``1 <= n_train < n_samples``).
    slope : float, default=0.3
        Slope of the true linear function.
    frequency : float, default=100.0
        Angular frequency of the ``sin`` decoy.
    x : array-like of shape (n_samples,) or None, default=None
        The inputs, in order, instead of drawing them; ``n_samples`` is then ``len(x)``
        and ``random_state`` is unused. Miller et al.'s code draws
        ``np.random.RandomState(seed).uniform(-0.5, 0.5, 100)`` (found by matching its
        recorded step-0 training data fit for seeds 0–4).
    input_draw : {"generator", "legacy"}, default="generator"
        How ``x`` is drawn when not given: ``"generator"`` from grokbeyond's seeded
        ``numpy.random.Generator``; ``"legacy"`` as Miller et al.'s code does,
        ``np.random.RandomState(random_state).uniform(-0.5, 0.5, n_samples)`` (an
        integer ``random_state`` is then required). The legacy stream is a local
        ``RandomState``; numpy's global state is not touched.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, 4), ``y_train`` of shape (n_train,), ``X_test``
        of shape (n_samples - n_train, 4), ``y_test``; ``relevant_features = [0]``,
        ``concealed_features = [1, 2, 3]`` (the decoys).

    Raises
    ------
    ValueError
        If ``n_train`` is not in ``[1, n_samples)``, ``x`` is not a finite 1-d array,
        ``input_draw`` is unknown, or ``input_draw="legacy"`` without an integer seed.

    Examples
    --------
    >>> from grokbeyond.datasets import make_decoy_linear
    >>> data = make_decoy_linear(random_state=0)
    >>> data.X_train.shape, data.X_test.shape
    ((2, 4), (98, 4))
    """
    check_option(input_draw, "input_draw", {"generator", "legacy"})
    if x is not None:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 1 or not np.isfinite(x).all():
            raise InputError(f"x must be a finite 1-d array; got shape {x.shape}.")
        n_samples = len(x)
    n_samples = check_number(n_samples, "n_samples", Integral, min_val=2)
    n_train = check_number(n_train, "n_train", Integral, min_val=1, max_val=n_samples - 1)
    slope = check_number(slope, "slope", Real)
    frequency = check_number(frequency, "frequency", Real)
    if x is None and input_draw == "legacy":
        if not isinstance(random_state, Integral) or isinstance(random_state, bool):
            raise InputError(f"input_draw='legacy' needs an integer random_state; got {random_state!r}.")
        x = np.random.RandomState(random_state).uniform(-0.5, 0.5, size=n_samples)
    elif x is None:
        x = numpy_generator(random_state, "make_decoy_linear").uniform(-0.5, 0.5, size=n_samples)
    X = np.stack([x, x**2, x**3, np.sin(frequency * x)], axis=1)
    y = slope * x
    return make_bunch(
        X[:n_train], y[:n_train], X[n_train:], y[n_train:],
        task="decoy_linear",
        params=dict(n_samples=n_samples, n_train=n_train, slope=slope, frequency=frequency),
        relevant_features=[0],
        concealed_features=[1, 2, 3],
    )


def make_step_function(n_samples=40, *, n_train=20, threshold=0.0, random_state=None):
    """A step on the line as binary classification (Miller et al. 2023, sec. 3.1, experiment E2).

    ``x ~ U(-0.5, 0.5)``, ``y = 1[x > threshold]``; the first ``n_train`` samples
    train, the rest test (the paper: 20 and 20). A GP classifier started at a tiny
    lengthscale memorises these points before it generalises.

    Parameters
    ----------
    n_samples : int, default=40
        Total number of samples.
    n_train : int, default=20
        Number of training samples (``1 <= n_train < n_samples``).
    threshold : float, default=0.0
        Where the step is.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, 1), ``y_train`` of shape (n_train,) in {0, 1},
        ``X_test`` of shape (n_samples - n_train, 1), ``y_test``.

    Raises
    ------
    ValueError
        If ``n_train`` is not in ``[1, n_samples)``.

    Examples
    --------
    >>> from grokbeyond.datasets import make_step_function
    >>> data = make_step_function(random_state=0)
    >>> data.X_train.shape, data.X_test.shape
    ((20, 1), (20, 1))
    """
    n_samples = check_number(n_samples, "n_samples", Integral, min_val=2)
    n_train = check_number(n_train, "n_train", Integral, min_val=1, max_val=n_samples - 1)
    threshold = check_number(threshold, "threshold", Real)
    x = numpy_generator(random_state, "make_step_function").uniform(-0.5, 0.5, size=n_samples)
    y = (x > threshold).astype(np.int64)
    return make_bunch(
        x[:n_train, None], y[:n_train], x[n_train:, None], y[n_train:],
        task="step_function",
        params=dict(n_samples=n_samples, n_train=n_train, threshold=threshold),
        relevant_features=[0],
        concealed_features=[],
    )
