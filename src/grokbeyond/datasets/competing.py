"""Grokking by competing features: a generalising signal against per-example memorisation."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import check_number
from .._random import numpy_generator
from ._base import make_bunch

__all__ = ["make_competing_features"]


def make_competing_features(
    n_train=100, n_test=1000, *, n_signal=2, signal_scale=0.1, memorisation_scale=1.0, random_state=None
):
    """Binary classification with a generalising and a memorising route.

    A toy of grokking as competition between a memorising and a generalising
    solution (see Varma et al. 2023, "Explaining grokking through circuit
    efficiency", for the mechanism). Each sample has ``n_signal`` Gaussian *signal*
    features ``s ~ N(0, signal_scale² I)`` shared by train and test, with label
    ``y = 1[Σ s > 0]``, followed by ``n_train`` *memorisation* features: training
    example ``i`` has ``memorisation_scale`` in feature ``n_signal + i`` and 0
    elsewhere; test examples have all memorisation features 0. A linear model can fit
    the training set through the memorisation features alone (one weight per
    example, useless at test time) or through the signal (few weights that
    generalise); which route gradient descent takes first, and whether weight decay
    later moves it to the other, depends on the two scales, the weight decay, the
    initialisation and the intercept. A logistic regression (AdamW, 200 steps) at
    ``signal_scale=0.1, memorisation_scale=3`` fits the training set and stays below 0.8
    test accuracy (``tests/models/test_logistic.py``). It groks, by weight decay, at
    ``n_train=400, n_signal=10, signal_scale=0.1, memorisation_scale=20`` without intercept
    from ``init_scale=30``: the memorisation features fit the training set within ~100
    steps and saturate the loss, so the signal weights keep their random start until the
    decay shrinks it (the ``delay-law-logistic`` suite of ``grokbeyond reproduce
    delay-law``).

    Parameters
    ----------
    n_train, n_test : int, default=100, 1000
        Numbers of training and test samples.
    n_signal : int, default=2
        Number of signal features.
    signal_scale : float, default=0.1
        Standard deviation of each signal feature.
    memorisation_scale : float, default=1.0
        Value of a training example's own memorisation feature.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, n_signal + n_train), ``X_test`` of shape
        (n_test, n_signal + n_train), labels in {0, 1}; ``relevant_features`` the
        signal features, ``concealed_features`` and ``memorisation_features`` the
        per-example features.

    Raises
    ------
    ValueError
        If a size is smaller than 1 (``n_test`` may be 0) or a scale is not positive.

    Examples
    --------
    >>> from grokbeyond.datasets import make_competing_features
    >>> data = make_competing_features(random_state=0)
    >>> data.X_train.shape, data.X_test.shape
    ((100, 102), (1000, 102))
    """
    n_train = check_number(n_train, "n_train", Integral, min_val=1)
    n_test = check_number(n_test, "n_test", Integral, min_val=0)
    n_signal = check_number(n_signal, "n_signal", Integral, min_val=1)
    signal_scale = check_number(signal_scale, "signal_scale", Real, min_val=0.0, include_boundaries="neither")
    memorisation_scale = check_number(
        memorisation_scale, "memorisation_scale", Real, min_val=0.0, include_boundaries="neither"
    )
    rng = numpy_generator(random_state, "make_competing_features")
    signal = signal_scale * rng.standard_normal((n_train + n_test, n_signal))
    y = (signal.sum(axis=1) > 0).astype(np.int64)
    memorisation = np.zeros((n_train + n_test, n_train))
    memorisation[np.arange(n_train), np.arange(n_train)] = memorisation_scale
    X = np.hstack([signal, memorisation])
    memorisation_features = np.arange(n_signal, n_signal + n_train)
    return make_bunch(
        X[:n_train], y[:n_train], X[n_train:], y[n_train:],
        task="competing_features",
        params=dict(n_train=n_train, n_test=n_test, n_signal=n_signal, signal_scale=signal_scale,
                    memorisation_scale=memorisation_scale),
        relevant_features=np.arange(n_signal),
        concealed_features=memorisation_features,
        memorisation_features=memorisation_features,
    )
