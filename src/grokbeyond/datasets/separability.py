"""Binary tasks at the edge of linear separability (Beck et al. 2025; Das et al. 2026)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._random import numpy_generator
from .._validation import check_number
from ..exceptions import InputError
from ._base import check_option, make_bunch

__all__ = ["make_margin_separable", "make_two_gaussians"]


def make_two_gaussians(n_features=490, n_train=1000, n_test=2000, *, separation=1.0, noise_scale=5.0, spread=0.0,
                       random_state=None):
    """Two Gaussian classes that differ along one axis: Beck et al.'s model of grokking near separability.

    Beck, Levi & Bar-Sinai (2025, "Grokking at the edge of linear separability", ICML,
    sec. 1 and app. H): labels ``y = ±1`` with probability ½ each; input ``x = (x₀, x⊥)``
    with ``x₀ ~ N(y·μ, σ_A²)`` on the separating axis (``separation`` μ, ``spread``
    σ_A) and ``x⊥ ~ N(0, σ_B² I_d)`` in ``d = n_features`` further dimensions
    (``noise_scale`` σ_B). The test split is drawn the same way (i.i.d.).

    With ``spread = 0`` and no intercept, a logistic regression ``w·x`` on these data is
    exactly their *constant-label model* with a bias (sec. 3): ``y·(w·x) = μw₀ + w⊥·(y x⊥)``,
    so ``b = μw₀``, ``S = w⊥`` and inputs ``y·x⊥ ~ N(0, σ_B² I)`` all carrying the same
    label; its noise scale is ``σ = σ_B/μ``. That model generalises perfectly if and
    only if the label-signed inputs ``y·x⊥`` are not separable from the origin
    (their prop. 3.2), which as ``N, d → ∞`` happens for ``λ = d/N < ½`` (prop. 3.3;
    :func:`~grokbeyond.theory.separability_probability` at finite size).

    Parameters
    ----------
    n_features : int, default=490
        ``d``, the dimensions besides the separating axis (``>= 1``); ``X`` has
        ``d + 1`` columns.
    n_train : int, default=1000
        ``N`` (``>= 1``).
    n_test : int, default=2000
        Test samples (``>= 0``).
    separation : float, default=1.0
        ``μ`` (> 0).
    noise_scale : float, default=5.0
        ``σ_B`` (> 0).
    spread : float, default=0.0
        ``σ_A`` (``>= 0``); Beck et al.'s fig. 4 shows that a spread lowers the limiting
        accuracy but keeps the delay.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, n_features + 1), labels in {0, 1} (1 for
        ``y = +1``), ``X_test``, ``y_test``; ``ratio`` = λ = d/N; ``signed_noise``, the
        label-signed inputs ``y·x⊥`` of the training split, shape (n_train, n_features)
        (pass them to :func:`~grokbeyond.theory.origin_margin`); ``relevant_features``
        ``[0]``, ``concealed_features`` the rest.

    Raises
    ------
    ValueError
        If a size is below its minimum, or a scale is not positive (``spread``: negative).

    Examples
    --------
    >>> from grokbeyond.datasets import make_two_gaussians
    >>> data = make_two_gaussians(n_features=45, n_train=100, n_test=10, random_state=0)
    >>> data.X_train.shape, data.ratio, data.signed_noise.shape
    ((100, 46), 0.45, (100, 45))
    """
    n_features = check_number(n_features, "n_features", Integral, min_val=1)
    n_train = check_number(n_train, "n_train", Integral, min_val=1)
    n_test = check_number(n_test, "n_test", Integral, min_val=0)
    separation = check_number(separation, "separation", Real, min_val=0.0, include_boundaries="neither")
    noise_scale = check_number(noise_scale, "noise_scale", Real, min_val=0.0, include_boundaries="neither")
    spread = check_number(spread, "spread", Real, min_val=0.0)
    rng = numpy_generator(random_state, "make_two_gaussians")
    n = n_train + n_test
    sign = 2 * rng.integers(0, 2, n) - 1
    axis = sign * separation + spread * rng.standard_normal(n)
    noise = noise_scale * rng.standard_normal((n, n_features))
    X = np.hstack([axis[:, None], noise])
    y = (sign > 0).astype(np.int64)
    return make_bunch(
        X[:n_train], y[:n_train], X[n_train:], y[n_train:],
        task="two_gaussians",
        params=dict(n_features=n_features, n_train=n_train, n_test=n_test, separation=separation,
                    noise_scale=noise_scale, spread=spread),
        relevant_features=[0],
        concealed_features=np.arange(1, n_features + 1),
        ratio=n_features / n_train,
        signed_noise=sign[:n_train, None] * noise[:n_train],
    )


def make_margin_separable(n_features=2, n_train=2000, n_test=2000, *, margin=1e-3, bound=5.0, test_split="iid",
                          sensitivity=10.0, random_state=None):
    """Two classes separable through the origin with a small margin (Das et al. 2026).

    Das, Vedantam & Lakshminarayanan (2026, "Grokking in linear models for logistic
    regression", arXiv 2602.08302, sec. 3 and app. B): ``x`` uniform in
    ``[−bound, bound]^d``, the true direction ``w* = (1, …, 1)/√d``, label
    ``y = 1[w*·x > 0]``, and points with ``|w*·x| < γ`` (``margin``) rejected, half of
    each class. Their test splits: ``"iid"``, drawn as the training split (where a
    linear logistic model with a bias does *not* grok: delay ratio ζ = 4 at d = 2 and 1
    at d = 1024, their table 1); and ``"concentrated"``, points with
    ``γ/2 ≤ |w*·x| ≤ αγ`` (α the ``sensitivity``), near the boundary, where it does
    (ζ ≈ 10⁴).

    Parameters
    ----------
    n_features : int, default=2
        ``d`` (``>= 1``).
    n_train, n_test : int, default=2000, 2000
        Samples (even: half per class; ``n_test`` may be 0).
    margin : float, default=1e-3
        ``γ`` (> 0).
    bound : float, default=5.0
        Half-width of the cube (> 0).
    test_split : {"iid", "concentrated"}, default="iid"
        How the test split is drawn: like the training split, or near the boundary.
    sensitivity : float, default=10.0
        ``α`` (> ½) of the concentrated split.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws (rejection sampling from the cube, then a shuffle).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, n_features), labels in {0, 1}, ``X_test``,
        ``y_test``; ``coef`` (``w*``).

    Raises
    ------
    ValueError
        If a size is odd or below its minimum, a scale is not positive, ``test_split``
        is unknown, or the margin leaves almost no volume to draw from.

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.datasets import make_margin_separable
    >>> data = make_margin_separable(n_train=100, n_test=50, test_split="concentrated", random_state=0)
    >>> gap = np.abs(data.X_test @ data.coef)
    >>> bool(gap.min() >= 5e-4 and gap.max() <= 1e-2), int(data.y_train.sum())
    (True, 50)
    """
    n_features = check_number(n_features, "n_features", Integral, min_val=1)
    n_train = check_number(n_train, "n_train", Integral, min_val=2)
    n_test = check_number(n_test, "n_test", Integral, min_val=0)
    for size, name in ((n_train, "n_train"), (n_test, "n_test")):
        if size % 2:
            raise InputError(f"{name} must be even (half of each class); got {size}.")
    margin = check_number(margin, "margin", Real, min_val=0.0, include_boundaries="neither")
    bound = check_number(bound, "bound", Real, min_val=0.0, include_boundaries="neither")
    check_option(test_split, "test_split", ("iid", "concentrated"))
    sensitivity = check_number(sensitivity, "sensitivity", Real, min_val=0.5, include_boundaries="neither")
    rng = numpy_generator(random_state, "make_margin_separable")
    coef = np.full(n_features, n_features**-0.5)

    def draw(n, low, high):
        # Half of each class, |w*·x| in [low, high]: rejection from the cube, in batches.
        found = {0: [], 1: []}
        for _ in range(1000):
            x = rng.uniform(-bound, bound, (max(4 * n, 100_000), n_features))
            gap = x @ coef
            keep = x[(np.abs(gap) >= low) & (np.abs(gap) <= high)]
            if len(keep) * 1000 < n:  # over a thousand batches would be needed
                break
            for label in (0, 1):
                found[label].extend(keep[(keep @ coef > 0) == bool(label)][: n // 2 - len(found[label])])
            if all(len(found[label]) == n // 2 for label in (0, 1)):
                X = np.array(found[0] + found[1]).reshape(n, n_features)
                order = rng.permutation(n)
                return X[order], np.repeat([0, 1], n // 2)[order]
        raise InputError(f"make_margin_separable: almost no points of the cube have |w*·x| in [{low:g}, {high:g}]; "
                         "check margin, sensitivity and bound.")

    X_train, y_train = draw(n_train, margin, np.inf)
    low, high = (margin, np.inf) if test_split == "iid" else (margin / 2, sensitivity * margin)
    X_test, y_test = draw(n_test, low, high) if n_test else (np.empty((0, n_features)), np.empty(0, np.int64))
    return make_bunch(
        X_train, y_train, X_test, y_test,
        task="margin_separable",
        params=dict(n_features=n_features, n_train=n_train, n_test=n_test, margin=margin, bound=bound,
                    test_split=test_split, sensitivity=sensitivity),
        relevant_features=np.arange(n_features),
        concealed_features=[],
        coef=coef,
    )
