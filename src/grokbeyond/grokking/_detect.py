"""Detecting grokking in one run: when it memorises, when it generalises, and its phase."""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd

from .._validation import check_number
from ..exceptions import InputError, MetricWarning

__all__ = ["GrokkingResult", "PHASES", "detect_grokking", "first_crossing"]

PHASES = ("comprehension", "grokking", "memorisation", "confusion")
"""The four phases of Liu et al. (2022, "Towards understanding grokking"), in our reading."""

_HIGHER_IS_BETTER = {"accuracy": True, "sign_accuracy": True, "threshold_accuracy": True, "loss": False, "error": False, "data_fit": False, "objective": False}


def _check_history(history, metric: str) -> pd.DataFrame:
    if not isinstance(history, pd.DataFrame):
        raise InputError(f"history must be a pandas DataFrame (an estimator's history_); got {type(history).__name__}.")
    missing = {"step", "split", metric} - set(history.columns)
    if missing:
        raise InputError(f"history lacks the column(s) {sorted(missing)}; it has {list(history.columns)}.")
    if history.duplicated(["step", "split"]).any():
        raise InputError(
            "history holds several rows per (step, split), i.e. several runs; "
            "pass one run's history (e.g. group by seed and call detect_grokking per group)."
        )
    return history


def first_crossing(history, split, metric="accuracy", threshold=0.95, *, higher_is_better=None, strict=False):
    """First recorded step at which a metric reaches a threshold on one split.

    Parameters
    ----------
    history : pandas.DataFrame
        One run's ``history_`` (columns ``step``, ``split`` and ``metric``).
    split : {"train", "test"}
        Which split's rows to read.
    metric : str, default="accuracy"
        Column to read.
    threshold : float, default=0.95
        Level to reach.
    higher_is_better : bool or None, default=None
        Direction: reached means ``value >= threshold`` if True, ``value <= threshold``
        if False. ``None`` infers it for ``accuracy`` (True) and ``loss``, ``error``,
        ``data_fit``, ``objective`` (False).
    strict : bool, default=False
        Use ``>`` / ``<`` instead of ``>=`` / ``<=`` (Miller et al.'s code uses ``> 0.95``).

    Returns
    -------
    step : int or None
        The first evaluated step reaching the threshold, ``None`` if never (censored).
        With a sparse evaluation schedule it is an upper bound on the true step.

    Raises
    ------
    InputError
        If a column is missing, the history holds several runs, the split has no rows,
        or the direction cannot be inferred for ``metric``.

    Warns
    -----
    MetricWarning
        If ``metric`` is NaN at every step of the split (the run then reads as censored).

    Examples
    --------
    >>> import pandas as pd
    >>> history = pd.DataFrame({"step": [0, 100, 200, 300] * 2, "split": ["train"] * 4 + ["test"] * 4,
    ...                         "accuracy": [0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.6, 0.97]})
    >>> from grokbeyond.grokking import first_crossing
    >>> first_crossing(history, "train"), first_crossing(history, "test")
    (100, 300)
    """
    history = _check_history(history, metric)
    check_number(threshold, "threshold", Real)
    higher = _direction(metric, higher_is_better)
    rows = history[history["split"] == split].sort_values("step")
    if rows.empty:
        raise InputError(f"history has no rows for split {split!r}.")
    values = rows[metric].to_numpy(dtype=float)
    if np.isnan(values).all():
        warnings.warn(f"{metric!r} is NaN at every {split} step of this history ({len(values)} rows): it never "
                      "reaches the threshold and the run reads as censored; check the metric and the run.",
                      MetricWarning, stacklevel=2)
    if higher:
        reached = values > threshold if strict else values >= threshold
    else:
        reached = values < threshold if strict else values <= threshold
    index = np.flatnonzero(reached)
    return int(rows["step"].iloc[index[0]]) if index.size else None


def _direction(metric, higher_is_better):
    if higher_is_better is not None:
        return bool(higher_is_better)
    if metric not in _HIGHER_IS_BETTER:
        raise InputError(
            f"Cannot infer whether higher {metric!r} is better; pass higher_is_better=True or False."
        )
    return _HIGHER_IS_BETTER[metric]


@dataclass(frozen=True)
class GrokkingResult:
    """What :func:`detect_grokking` found in one run.

    Attributes
    ----------
    metric : str
    threshold : float
    t_memorise : int or None
        First step the train metric reached the threshold; None if never.
    t_generalise : int or None
        First step the test metric reached the threshold; None if never.
    gap : int or None
        ``t_generalise − t_memorise`` in steps when both were reached, else None.
    relative_gap : float or None
        ``gap / t_generalise``: the fraction of the time to generalise spent after
        memorising (0 = no delay, → 1 = a long delay); None where ``gap`` is None or
        ``t_generalise == 0``.
    memorisation_censored, generalisation_censored : bool
        True when the train / test threshold was never reached within ``max_step``.
    phase : str
        One of ``"comprehension"``, ``"grokking"``, ``"memorisation"``, ``"confusion"``.
    max_step : int
        The last recorded step (the budget the censored times are censored at).

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.grokking import detect_grokking
    >>> history = pd.DataFrame({"step": [0, 0, 10, 10, 100, 100], "split": ["train", "test"] * 3,
    ...                         "accuracy": [0.5, 0.5, 1.0, 0.5, 1.0, 1.0]})
    >>> result = detect_grokking(history)
    >>> result.phase, result.grokked, result.gap, result.relative_gap, result.generalisation_censored
    ('grokking', True, 90, 0.9, False)
    >>> sorted(result.to_dict())[:4]  # a row of grokking_table
    ['gap', 'generalisation_censored', 'max_step', 'memorisation_censored']
    """

    metric: str
    threshold: float
    t_memorise: int | None
    t_generalise: int | None
    gap: int | None
    relative_gap: float | None
    memorisation_censored: bool
    generalisation_censored: bool
    phase: str
    max_step: int

    @property
    def grokked(self) -> bool:
        """Whether the phase is ``"grokking"``."""
        return self.phase == "grokking"

    def to_dict(self) -> dict:
        """The result as a flat dict (one row of a results table)."""
        return asdict(self)


def detect_grokking(history, metric="accuracy", threshold=0.95, *, min_delay=10, strict=False, higher_is_better=None):
    """Detect memorisation, generalisation and grokking in one run's trajectory.

    ``t_memorise`` is the first recorded step at which the *train* metric reaches
    ``threshold``, ``t_generalise`` the same on the *test* split, and the grokking gap
    is ``t_generalise − t_memorise`` (Power et al. 2022, "Grokking: generalization
    beyond overfitting on small algorithmic datasets", sec. 3; Miller et al. 2023,
    sec. 2). The phase follows the four regimes of Liu et al. (2022, "Towards
    understanding grokking", sec. 5):

    - ``"grokking"``: train reaches the threshold, test reaches it at least
      ``min_delay`` steps later;
    - ``"comprehension"``: test reaches the threshold without such a delay (less than
      ``min_delay`` after train, or before it, or with train never reaching it);
    - ``"memorisation"``: train reaches it, test never does;
    - ``"confusion"``: neither does.

    How ours differ from the sources: Miller et al.'s code uses a strict ``> 0.95`` and,
    when a threshold is never crossed, silently substitutes the step budget; here
    ``>=`` is the default (``strict=True`` gives theirs) and a threshold never crossed
    is reported as censored (``None`` time, ``*_censored=True``), never replaced. Liu
    et al. delimit their phases by eye on training curves; ``min_delay`` makes the
    grokking/comprehension boundary explicit. Loss-type metrics (lower is better)
    work the same way, reading "reaches" as "falls to".

    Parameters
    ----------
    history : pandas.DataFrame
        One run's ``history_`` with ``step``, ``split`` (``"train"`` and ``"test"``)
        and ``metric`` columns.
    metric : str, default="accuracy"
        Column to threshold.
    threshold : float, default=0.95
        Level the metric must reach.
    min_delay : int, default=10
        Smallest gap, in steps, that counts as grokking.
    strict : bool, default=False
        Strict inequality (Miller et al.'s ``> 0.95``).
    higher_is_better : bool or None, default=None
        Direction of the metric; inferred for accuracy, sign_accuracy,
        threshold_accuracy, loss, error, data_fit and objective.

    Returns
    -------
    GrokkingResult

    Raises
    ------
    ValueError
        If the history lacks a column or a split, holds several runs, or the
        direction of ``metric`` cannot be inferred.
    TypeError
        If ``history`` is not a DataFrame.

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond import detect_grokking
    >>> history = pd.DataFrame({
    ...     "step": [0, 0, 10, 10, 100, 100],
    ...     "split": ["train", "test"] * 3,
    ...     "accuracy": [0.5, 0.5, 1.0, 0.5, 1.0, 1.0]})
    >>> result = detect_grokking(history)
    >>> result.phase, result.t_memorise, result.t_generalise, result.gap
    ('grokking', 10, 100, 90)
    """
    threshold = check_number(threshold, "threshold", Real)
    min_delay = check_number(min_delay, "min_delay", Integral, min_val=0)
    kwargs = dict(metric=metric, threshold=threshold, higher_is_better=higher_is_better, strict=strict)
    t_memorise = first_crossing(history, "train", **kwargs)
    t_generalise = first_crossing(history, "test", **kwargs)
    gap = t_generalise - t_memorise if t_memorise is not None and t_generalise is not None else None
    relative_gap = gap / t_generalise if gap is not None and t_generalise > 0 else None
    if t_generalise is None:
        phase = "memorisation" if t_memorise is not None else "confusion"
    elif gap is not None and gap >= min_delay:
        phase = "grokking"
    else:
        phase = "comprehension"
    return GrokkingResult(
        metric=metric,
        threshold=float(threshold),
        t_memorise=t_memorise,
        t_generalise=t_generalise,
        gap=gap,
        relative_gap=relative_gap,
        memorisation_censored=t_memorise is None,
        generalisation_censored=t_generalise is None,
        phase=phase,
        max_step=int(history["step"].max()),
    )
