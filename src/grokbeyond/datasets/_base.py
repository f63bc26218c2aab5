"""The dataset container and shared parameter checks."""

from __future__ import annotations

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import InputError

__all__ = ["make_bunch"]


def make_bunch(
    X_train, y_train, X_test, y_test, *, task, params, relevant_features, concealed_features, **extra
) -> Bunch:
    """Build the dataset container every ``make_*`` function returns.

    Parameters
    ----------
    X_train : ndarray of shape (n_train, n_features)
    y_train : ndarray of shape (n_train,)
    X_test : ndarray of shape (n_test, n_features)
    y_test : ndarray of shape (n_test,)
    task : str
        Name of the task, e.g. ``"sparse_parity"``.
    params : dict
        The parameters the data were generated with (JSON-serialisable).
    relevant_features : array-like of int
        Indices of the input dimensions the target depends on.
    concealed_features : array-like of int
        Indices of spurious input dimensions the target does not depend on.
    **extra
        Further metadata (e.g. the ``(a, b)`` pairs of a modular task).

    Returns
    -------
    sklearn.utils.Bunch
        With keys ``X_train, y_train, X_test, y_test, task, params,
        relevant_features, concealed_features, n_features`` and ``extra``'s keys.
    """
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        task=task,
        params=dict(params),
        relevant_features=np.asarray(relevant_features, dtype=int),
        concealed_features=np.asarray(concealed_features, dtype=int),
        n_features=X_train.shape[1],
        **extra,
    )


def check_option(value, name: str, options) -> str:
    """Return ``value`` if it is one of ``options``, or raise naming ``name``."""
    if value not in options:
        raise InputError(f"{name} must be one of {sorted(options)}; got {value!r}.")
    return value
