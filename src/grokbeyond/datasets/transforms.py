"""Transforms of a dataset: concealment by spurious input dimensions."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.utils import Bunch

from .._validation import check_number
from .._random import numpy_generator
from ..exceptions import InputError
from ._base import check_option

__all__ = ["conceal"]


def conceal(data, n_extra, *, kind="bits", random_state=None):
    """Append ``n_extra`` spurious input dimensions to a dataset (*concealment*).

    Each sample, train and test alike, gets ``n_extra`` extra inputs drawn once and
    fixed: uniform {0, 1} bits (``kind="bits"``, Miller et al. 2023, sec. 4.2,
    experiment E8) or standard normal values (``kind="gaussian"``). The target does
    not depend on them. The draws come from a stream of their own (named
    ``"conceal"``), independent of the task's even under the same integer seed;
    Miller et al.'s code re-seeds with the task's seed and so replays the task's
    bits.

    Parameters
    ----------
    data : sklearn.utils.Bunch
        A dataset from a ``make_*`` function (``X_train``, ``X_test``, metadata).
    n_extra : int
        Number of dimensions to append (``>= 0``).
    kind : {"bits", "gaussian"}, default="bits"
        Distribution of the extra dimensions.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the extra dimensions.

    Returns
    -------
    concealed : sklearn.utils.Bunch
        A new dataset (the input is not modified): ``X_train`` of shape
        (n_train, n_features + n_extra), ``X_test`` of shape (n_test, n_features +
        n_extra), ``concealed_features`` extended by the new indices, and
        ``concealment`` listing each applied concealment as ``{"n_extra", "kind",
        "features"}``.

    Raises
    ------
    ValueError
        If ``n_extra < 0`` or ``kind`` is unknown.
    TypeError
        If ``data`` is not a dataset Bunch.

    Examples
    --------
    >>> from grokbeyond.datasets import conceal, make_sparse_parity
    >>> data = make_sparse_parity(n_bits=10, k=2, n_train=50, n_test=20, random_state=0)
    >>> conceal(data, 5, random_state=0).X_train.shape  # 5 spurious bits appended
    (50, 15)
    """
    if not isinstance(data, Bunch) or not {"X_train", "X_test"} <= set(data):
        raise InputError("data must be a dataset Bunch from a grokbeyond make_* function.")
    n_extra = check_number(n_extra, "n_extra", Integral, min_val=0)
    check_option(kind, "kind", {"bits", "gaussian"})
    rng = numpy_generator(random_state, "conceal")
    n_train, n_features = data.X_train.shape
    n_total = n_train + data.X_test.shape[0]
    if kind == "bits":
        extra = rng.integers(0, 2, size=(n_total, n_extra)).astype(np.float64)
    else:
        extra = rng.standard_normal((n_total, n_extra))
    new_features = np.arange(n_features, n_features + n_extra)
    out = Bunch(**data)
    out.X_train = np.hstack([data.X_train, extra[:n_train]])
    out.X_test = np.hstack([data.X_test, extra[n_train:]])
    out.n_features = n_features + n_extra
    out.concealed_features = np.concatenate([data.concealed_features, new_features]).astype(int)
    out.concealment = [*data.get("concealment", []),
                       {"n_extra": n_extra, "kind": kind, "features": new_features}]
    return out
