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

__all__ = ["check_number"]


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
