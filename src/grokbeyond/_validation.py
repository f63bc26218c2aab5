"""Parameter checks shared by every public entry: scikit-learn's ``check_scalar``, stricter.

``check_scalar`` takes ``True`` for an integer (``bool`` is an ``Integral``) and NaN for
any bounded real (every comparison with NaN is false); settings given that way used to fail
later without naming themselves, or to give NaN results.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_scalar

from .exceptions import InputError

__all__ = ["check_number", "check_values"]


def check_number(x, name, target_type, *, min_val=None, max_val=None, include_boundaries="both", allow_inf=False):
    """Validate a numeric setting: ``check_scalar``, refusing booleans, NaN and infinities.

    Parameters
    ----------
    x : object
        The value.
    name : str
        The setting's name, used in the messages.
    target_type : type or tuple of types
        As ``check_scalar`` (``Integral``, ``Real``, …).
    min_val, max_val, include_boundaries
        As ``check_scalar``.
    allow_inf : bool, default=False
        Whether ``±inf`` is a meaningful value of the setting (e.g. an infinite prior
        variance: no prior).

    Returns
    -------
    x : object
        The value, unchanged.

    Raises
    ------
    InputError
        (a ``TypeError`` and a ``ValueError``) If ``x`` is a boolean or not of
        ``target_type``, or is NaN, infinite (unless ``allow_inf``) or out of its range;
        the message starts with ``name``.

    Examples
    --------
    >>> from numbers import Real
    >>> from grokbeyond._validation import check_number
    >>> check_number(float("nan"), "lr", Real, min_val=0.0)
    Traceback (most recent call last):
    ...
    grokbeyond.exceptions.InputError: lr must be a number; got nan.
    """
    if isinstance(x, (bool, np.bool_)):
        raise InputError(f"{name} must be {_kind(target_type)}, not a boolean; got {x!r}.")
    if isinstance(x, Real) and not isinstance(x, Integral):
        if math.isnan(x):
            raise InputError(f"{name} must be a number; got nan.")
        if math.isinf(x) and not allow_inf:
            raise InputError(f"{name} must be finite; got {x}.")
    try:
        return check_scalar(x, name, target_type, min_val=min_val, max_val=max_val,
                            include_boundaries=include_boundaries)
    except (TypeError, ValueError) as err:
        raise InputError(str(err)) from None


def _kind(target_type) -> str:
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    return " or ".join("an integer" if t is Integral else "a real number" if t is Real else t.__name__ for t in types)


def check_values(values, name, *, min_val=None, include_min=True, allow_nan=False, allow_inf=False) -> np.ndarray:
    """Validate a number or an array of numbers (measurements, per-run settings) as float64.

    Parameters
    ----------
    values : float or array-like
        The value(s).
    name : str
        The setting's name, used in the messages.
    min_val : float or None, default=None
        The smallest allowed value.
    include_min : bool, default=True
        Whether ``min_val`` itself is allowed.
    allow_nan, allow_inf : bool, default=False
        Whether NaN (a missing measurement, propagated) and ±inf are allowed.

    Returns
    -------
    numpy.ndarray
        The values as float64 (0-d for a number).

    Raises
    ------
    InputError
        If a value is a boolean, not a number, NaN or infinite (unless allowed) or below
        ``min_val``; the message starts with ``name``.

    Examples
    --------
    >>> from grokbeyond._validation import check_values
    >>> check_values([0.1, 0.2], "lr", min_val=0.0, include_min=False).tolist()
    [0.1, 0.2]
    """
    array = np.asarray(values)
    if array.dtype.kind not in "iuf" or not isinstance(values, np.ndarray):  # a list may mix True into floats
        items = np.asarray(values, dtype=object).ravel()
        if array.dtype.kind == "b" or any(isinstance(v, (bool, np.bool_)) for v in items):
            raise InputError(f"{name} must be numbers, not booleans; got {values!r}.")
        if not all(isinstance(v, Real) for v in items):
            raise InputError(f"{name} must be real numbers; got {values!r}.")
    array = array.astype(np.float64)
    if not allow_nan and np.isnan(array).any():
        raise InputError(f"{name} must not be NaN; got {values!r}.")
    if not allow_inf and np.isinf(array).any():
        raise InputError(f"{name} must be finite; got {values!r}.")
    if min_val is not None:
        below = array < min_val if include_min else array <= min_val
        if below.any():
            bound = ">=" if include_min else ">"
            raise InputError(f"{name} must be {bound} {min_val}; got {values!r}.")
    return array
