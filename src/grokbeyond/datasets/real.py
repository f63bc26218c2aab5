"""Real data: scikit-learn's bundled handwritten digits (no download)."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .._validation import check_number
from .._random import numpy_generator
from ..exceptions import InputError
from ._base import check_option, make_bunch

__all__ = ["make_digits"]

_N_DIGITS = 1797


def make_digits(task="multiclass", n_train=500, n_test=None, *, random_state=None):
    """Handwritten digits (8×8 images) split into train and test sets, for real-data grokking runs.

    The 1797 images of scikit-learn's bundled ``load_digits`` (the UCI optical
    recognition test set; shipped with scikit-learn, nothing is downloaded), pixel
    intensities 0–16 scaled to [0, 1]. A stratified random split keeps the class
    proportions in both sets; a small ``n_train`` gives the over-parameterised regime
    in which models memorise first. Spurious dimensions can be appended with
    :func:`~grokbeyond.datasets.conceal`.

    Parameters
    ----------
    task : {"multiclass", "binary"}, default="multiclass"
        ``"multiclass"``: the digit, 10 classes. ``"binary"``: the digit's parity
        (0 = even, 1 = odd), two nearly balanced classes.
    n_train : int, default=500
        Number of training images (``10 <= n_train < 1797``).
    n_test : int or None, default=None
        Number of test images; ``None`` takes all the others.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the split.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, 64), ``y_train`` of shape (n_train,), ``X_test``
        of shape (n_test, 64), ``y_test`` of shape (n_test,); float64 inputs in [0, 1]
        and int64 labels; ``digit_train`` and ``digit_test`` (the digit of each
        image, also for ``task="binary"``); ``relevant_features`` all 64 pixels,
        ``concealed_features`` none; ``task``, ``params``.

    Raises
    ------
    ValueError
        If ``task`` is unknown or the sizes do not fit in 1797 images.
    TypeError
        If a size is not an int.

    Examples
    --------
    >>> from grokbeyond.datasets import make_digits
    >>> data = make_digits("binary", n_train=200, n_test=100, random_state=0)
    >>> data.X_train.shape, data.X_test.shape, sorted(set(data.y_train.tolist()))
    ((200, 64), (100, 64), [0, 1])
    """
    check_option(task, "task", {"multiclass", "binary"})
    n_train = check_number(n_train, "n_train", Integral, min_val=10, max_val=_N_DIGITS - 10)
    if n_test is None:
        n_test = _N_DIGITS - n_train
    n_test = check_number(n_test, "n_test", Integral, min_val=10)
    if n_train + n_test > _N_DIGITS:
        raise InputError(f"n_train + n_test must be <= {_N_DIGITS} images; got {n_train} + {n_test}.")
    X, digit = load_digits(return_X_y=True)
    X = X / 16.0
    seed = int(numpy_generator(random_state, "make_digits").integers(0, 2**31 - 1))
    X_train, X_rest, d_train, d_rest = train_test_split(
        X, digit, train_size=n_train, stratify=digit, random_state=seed
    )
    if n_test < len(d_rest):
        X_test, _, d_test, _ = train_test_split(X_rest, d_rest, train_size=n_test, stratify=d_rest, random_state=seed)
    else:
        X_test, d_test = X_rest, d_rest
    label = (lambda d: d % 2) if task == "binary" else (lambda d: d)
    return make_bunch(
        X_train, label(d_train).astype(np.int64), X_test, label(d_test).astype(np.int64),
        task=f"digits_{task}",
        params=dict(task=task, n_train=n_train, n_test=int(n_test)),
        relevant_features=np.arange(64),
        concealed_features=np.array([], dtype=int),
        digit_train=d_train.astype(np.int64),
        digit_test=d_test.astype(np.int64),
    )
