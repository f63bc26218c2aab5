"""Teacher–student regression: a linear teacher (Levi et al. 2023) and sparse recovery (Notsawo et al. 2025)."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import check_number
from .._random import numpy_generator
from ._base import make_bunch

__all__ = ["make_linear_teacher", "make_sparse_recovery"]


def make_linear_teacher(n_features=100, n_outputs=1, n_train=50, n_test=1000, *, noise=0.0, teacher_scale=None,
                        random_state=None):
    """Linear teacher–student regression with Gaussian inputs (Levi et al. 2023).

    Inputs ``x ~ N(0, I)`` of ``n_features`` (``d_in``) dimensions; a teacher matrix
    ``T`` of shape (n_outputs, n_features) with i.i.d. entries ``N(0, teacher_scale²)``;
    targets ``y = T x + noise·ξ``, ``ξ ~ N(0, I)``. Levi, Beck & Bar-Sinai (2023,
    "Grokking in linear estimators – a solvable model that groks without
    understanding", ICLR 2024, sec. 2) train a linear student on such data; the ratio
    ``λ = n_features / n_train`` sets when it groks (λ < 1: the teacher is determined
    by the training set; λ ≥ 1: it is not).

    Parameters
    ----------
    n_features : int, default=100
        ``d_in`` (``>= 1``).
    n_outputs : int, default=1
        ``d_out`` (``>= 1``); ``y`` is 1-d when 1.
    n_train, n_test : int, default=50, 1000
        Sample sizes (``>= 1``).
    noise : float, default=0.0
        Standard deviation of the label noise (``>= 0``); the test targets carry the
        same noise.
    teacher_scale : float or None, default=None
        Standard deviation of the teacher's entries; ``None`` is ``1/√n_features``, so
        that each output of ``T x`` has unit variance. Levi et al. draw teacher and
        student entries ``N(0, 1/(2 d_in d_out))`` (their app. A), so that the initial
        loss is ``1/d_out``: pass ``(2 * n_features * n_outputs) ** -0.5``.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws (teacher, inputs, noise).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, n_features), ``y_train`` of shape (n_train,) or
        (n_train, n_outputs), ``X_test``, ``y_test`` (float64); ``teacher`` of shape
        (n_outputs, n_features); ``ratio`` = λ = n_features / n_train; every feature
        relevant.

    Raises
    ------
    ValueError
        If a size is below 1, ``noise`` is negative or ``teacher_scale`` is not
        positive.

    Examples
    --------
    >>> from grokbeyond.datasets import make_linear_teacher
    >>> data = make_linear_teacher(n_features=20, n_outputs=2, n_train=40, random_state=0)
    >>> data.X_train.shape, data.y_train.shape, data.teacher.shape, data.ratio
    ((40, 20), (40, 2), (2, 20), 0.5)
    """
    n_features = check_number(n_features, "n_features", Integral, min_val=1)
    n_outputs = check_number(n_outputs, "n_outputs", Integral, min_val=1)
    n_train = check_number(n_train, "n_train", Integral, min_val=1)
    n_test = check_number(n_test, "n_test", Integral, min_val=1)
    noise = check_number(noise, "noise", Real, min_val=0.0)
    if teacher_scale is None:
        teacher_scale = 1.0 / np.sqrt(n_features)
    teacher_scale = check_number(teacher_scale, "teacher_scale", Real, min_val=0.0, include_boundaries="neither")
    rng = numpy_generator(random_state, "make_linear_teacher")
    teacher = teacher_scale * rng.standard_normal((n_outputs, n_features))
    X = rng.standard_normal((n_train + n_test, n_features))
    y = X @ teacher.T + noise * rng.standard_normal((n_train + n_test, n_outputs))
    if n_outputs == 1:
        y = y[:, 0]
    return make_bunch(
        X[:n_train], y[:n_train], X[n_train:], y[n_train:],
        task="linear_teacher",
        params=dict(n_features=n_features, n_outputs=n_outputs, n_train=n_train, n_test=n_test, noise=noise,
                    teacher_scale=float(teacher_scale)),
        relevant_features=np.arange(n_features),
        concealed_features=[],
        teacher=teacher,
        ratio=n_features / n_train,
    )


def make_sparse_recovery(n_features=100, n_informative=5, n_train=30, n_test=1000, *, snr=1e8,
                         design_variance=None, random_state=None):
    """Compressed sensing: recover a sparse vector from few random linear measurements.

    The setting of Notsawo, Dumas & Rabusseau (2025, "Grokking beyond the Euclidean
    norm of model parameters", ICML, sec. 4; code ``Tikquuss/grokking_beyong_l2_norm``,
    ``sparse_recovery/compressed_sensing.py``): a teacher ``a*`` of ``n_features``
    (``n``) entries with ``n_informative`` (``s``) non-zeros drawn ``N(0, 1)/√n`` at
    random positions; measurements ``x`` with i.i.d. ``N(0, design_variance)``
    entries; targets ``y = xᵀa* + ξ`` with noise ``ξ ~ N(0, σ²)`` at the
    signal-to-noise ratio ``snr = E‖a*‖² / E‖ξ‖²`` of the code, ``σ² = (s/n) /
    (n_train · snr)``. The test set is further measurements of the same teacher,
    noiseless; an estimate's recovery error is ``‖a − a*‖ / ‖a*‖``.

    Parameters
    ----------
    n_features : int, default=100
        ``n``, the signal's dimension (``>= 1``).
    n_informative : int, default=5
        ``s``, its non-zeros (``1 <= s <= n``).
    n_train : int, default=30
        ``N``, the number of measurements (the paper: 30 < n, so the least-squares
        problem is under-determined).
    n_test : int, default=1000
        Further (noiseless) measurements for the test split.
    snr : float, default=1e8
        The code's signal-to-noise ratio (> 0); ``numpy.inf`` is noiseless.
    design_variance : float or None, default=None
        Variance of the measurement entries; ``None`` is ``1/n_train`` (the reference
        runs of the notebook, ``shared/reference/README.md``).
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, n_features), ``y_train`` of shape (n_train,),
        ``X_test``, ``y_test``; ``coef`` (``a*``, shape (n_features,)),
        ``relevant_features`` its support, ``concealed_features`` the rest,
        ``noise_std`` (σ).

    Raises
    ------
    ValueError
        If a size is below 1, ``n_informative > n_features``, or ``snr`` or
        ``design_variance`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from grokbeyond.datasets import make_sparse_recovery
    >>> data = make_sparse_recovery(random_state=0)
    >>> data.X_train.shape, int(np.count_nonzero(data.coef)), data.relevant_features.size
    ((30, 100), 5, 5)
    """
    n_features = check_number(n_features, "n_features", Integral, min_val=1)
    n_informative = check_number(n_informative, "n_informative", Integral, min_val=1, max_val=n_features)
    n_train = check_number(n_train, "n_train", Integral, min_val=1)
    n_test = check_number(n_test, "n_test", Integral, min_val=1)
    snr = check_number(snr, "snr", Real, min_val=0.0, include_boundaries="neither", allow_inf=True)
    if design_variance is None:
        design_variance = 1.0 / n_train
    design_variance = check_number(design_variance, "design_variance", Real, min_val=0.0,
                                   include_boundaries="neither")
    rng = numpy_generator(random_state, "make_sparse_recovery")
    support = np.sort(rng.choice(n_features, n_informative, replace=False))
    coef = np.zeros(n_features)
    coef[support] = rng.standard_normal(n_informative) / np.sqrt(n_features)
    X = np.sqrt(design_variance) * rng.standard_normal((n_train + n_test, n_features))
    noise_std = float(np.sqrt(n_informative / n_features / (n_train * snr))) if np.isfinite(snr) else 0.0
    y = X @ coef
    y_train = y[:n_train] + noise_std * rng.standard_normal(n_train)
    return make_bunch(
        X[:n_train], y_train, X[n_train:], y[n_train:],
        task="sparse_recovery",
        params=dict(n_features=n_features, n_informative=n_informative, n_train=n_train, n_test=n_test,
                    snr=float(snr), design_variance=float(design_variance)),
        relevant_features=support,
        concealed_features=np.setdiff1d(np.arange(n_features), support),
        coef=coef,
        noise_std=noise_std,
    )
