"""Grokking detection: when a run memorises, when it generalises, and its phase.

Reads ``history_`` frames (one run, or many summarised over seeds); never trains.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats

from ._random import numpy_generator
from ._validation import check_number
from .exceptions import InputError, MetricWarning

__all__ = [
    "GrokkingResult",
    "GrokkingSummary",
    "PHASES",
    "median_ci",
    "ExponentialFit",
    "detect_grokking",
    "first_crossing",
    "fit_exponential_gap",
    "grokking_table",
    "summarise_grokking",
]

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


@dataclass(frozen=True)
class GrokkingSummary:
    """Grokking over several runs (seeds); see :func:`summarise_grokking`.

    Attributes
    ----------
    n_runs : int
    fraction_grokking : float
        Fraction of runs whose phase is ``"grokking"``.
    fraction_censored : float
        Fraction of runs whose test threshold was never reached.
    median_gap : float
        Median gap (steps) over the runs where both thresholds were reached (NaN if none).
    gap_ci_low, gap_ci_high : float
        Bootstrap confidence interval of the median gap (NaN with fewer than two gaps).
    confidence_level : float
    n_gaps : int
        Number of runs with a gap.
    phase_counts : dict
        Runs per phase.
    median_t_memorise, median_t_generalise : float
        Medians over the uncensored runs (NaN if none).

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.grokking import detect_grokking, summarise_grokking
    >>> history = pd.DataFrame({"step": [0, 0, 10, 10, 100, 100], "split": ["train", "test"] * 3,
    ...                         "accuracy": [0.5, 0.5, 1.0, 0.5, 1.0, 1.0]})
    >>> never = history.assign(accuracy=[0.5, 0.5, 1.0, 0.5, 1.0, 0.6])  # test never reaches 0.95
    >>> summary = summarise_grokking([detect_grokking(h) for h in (history, history, never)], n_resamples=999)
    >>> summary.n_runs, summary.phase_counts, summary.median_gap, round(summary.fraction_censored, 3)
    (3, {'grokking': 2, 'memorisation': 1}, 90.0, 0.333)
    >>> summary.to_dict()["n_memorisation"]
    1
    """

    n_runs: int
    fraction_grokking: float
    fraction_censored: float
    median_gap: float
    gap_ci_low: float
    gap_ci_high: float
    confidence_level: float
    n_gaps: int
    phase_counts: dict
    median_t_memorise: float
    median_t_generalise: float

    def to_dict(self) -> dict:
        """The summary as a flat dict (phase counts as ``n_<phase>``)."""
        out = asdict(self)
        counts = out.pop("phase_counts")
        out.update({f"n_{phase}": counts.get(phase, 0) for phase in PHASES})
        return out


def _median(values) -> float:
    return float(np.median(values)) if len(values) else math.nan


def median_ci(values, *, confidence_level=0.95, n_resamples=9999, random_state=0) -> tuple[float, float, float]:
    """Median of ``values`` with scipy's percentile-bootstrap interval (seeded).

    Parameters
    ----------
    values : array-like of shape (n_values,)
        E.g. gaps or crossing steps over seeds; ``None``/NaN entries (censored runs)
        are left out.
    confidence_level : float, default=0.95
    n_resamples : int, default=9999
    random_state : None, int, numpy Generator or RandomState, default=0
        Seed of the resampling.

    Returns
    -------
    median, low, high : float
        NaN for no values; the interval is NaN for one value and the value itself
        when all values are equal.

    Raises
    ------
    ValueError
        If ``confidence_level`` is not in (0, 1) or ``n_resamples`` is below 1.

    Examples
    --------
    >>> from grokbeyond.grokking import median_ci
    >>> median_ci([3.0, 1.0, 2.0, 5.0, 4.0], n_resamples=999)
    (3.0, 1.0, 5.0)
    """
    check_number(confidence_level, "confidence_level", Real, min_val=0.0, max_val=1.0, include_boundaries="neither")
    check_number(n_resamples, "n_resamples", Integral, min_val=1)
    values = np.array([np.nan if v is None else v for v in values], dtype=float)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return math.nan, math.nan, math.nan
    median = float(np.median(values))
    if values.size < 2:
        return median, math.nan, math.nan
    if np.ptp(values) == 0:
        return median, median, median
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        ci = stats.bootstrap((values,), np.median, confidence_level=confidence_level, n_resamples=n_resamples,
                             method="percentile",
                             # the stream summarise_grokking always drew from: its stored intervals stay the same
                             random_state=numpy_generator(random_state, "summarise_grokking")).confidence_interval
    return median, float(ci.low), float(ci.high)


def summarise_grokking(results, *, confidence_level=0.95, n_resamples=9999, random_state=0):
    """Summarise :class:`GrokkingResult` s over seeds: median gap with a bootstrap CI.

    The interval is scipy's percentile bootstrap of the median over the runs that
    reached both thresholds. Censored runs do not enter the gap statistics; they are
    counted in ``fraction_censored`` so a reader sees how many runs a median omits.

    Parameters
    ----------
    results : sequence of GrokkingResult
        One result per run, e.g. per seed.
    confidence_level : float, default=0.95
        Level of the bootstrap interval.
    n_resamples : int, default=9999
        Bootstrap resamples.
    random_state : None, int, numpy Generator or RandomState, default=0
        Seed of the bootstrap resampling.

    Returns
    -------
    GrokkingSummary

    Raises
    ------
    ValueError
        If ``results`` is empty.
    TypeError
        If an element is not a GrokkingResult.

    Examples
    --------
    >>> import pandas as pd
    >>> history = pd.DataFrame({"step": [0, 100, 200, 300] * 2, "split": ["train"] * 4 + ["test"] * 4,
    ...                         "accuracy": [0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.6, 0.97]})
    >>> from grokbeyond.grokking import detect_grokking, summarise_grokking
    >>> summary = summarise_grokking([detect_grokking(history)] * 3, n_resamples=999)
    >>> summary.median_gap, summary.fraction_grokking, summary.phase_counts
    (200.0, 1.0, {'grokking': 3})
    """
    results = list(results)
    if not results:
        raise InputError("results is empty: summarise_grokking needs at least one GrokkingResult.")
    if not all(isinstance(r, GrokkingResult) for r in results):
        raise InputError("results must contain GrokkingResult objects (from detect_grokking).")
    gaps = np.array([r.gap for r in results if r.gap is not None], dtype=float)
    _, low, high = median_ci(gaps, confidence_level=confidence_level, n_resamples=n_resamples,
                             random_state=random_state)
    phases = [r.phase for r in results]
    return GrokkingSummary(
        n_runs=len(results),
        fraction_grokking=phases.count("grokking") / len(results),
        fraction_censored=sum(r.generalisation_censored for r in results) / len(results),
        median_gap=_median(gaps),
        gap_ci_low=low,
        gap_ci_high=high,
        confidence_level=float(confidence_level),
        n_gaps=int(gaps.size),
        phase_counts={phase: phases.count(phase) for phase in PHASES if phase in phases},
        median_t_memorise=_median([r.t_memorise for r in results if r.t_memorise is not None]),
        median_t_generalise=_median([r.t_generalise for r in results if r.t_generalise is not None]),
    )


def grokking_table(histories, by="seed", **kwargs) -> pd.DataFrame:
    """Run :func:`detect_grokking` on each run of a tidy multi-run history.

    Parameters
    ----------
    histories : pandas.DataFrame
        Histories of several runs, told apart by the ``by`` column(s).
    by : str or list of str, default="seed"
        Column(s) identifying a run.
    **kwargs
        Passed to :func:`detect_grokking` (``metric``, ``threshold``, ``min_delay``, ...).

    Returns
    -------
    table : pandas.DataFrame
        One row per run: the ``by`` columns and the :class:`GrokkingResult` fields.

    Raises
    ------
    ValueError
        As :func:`detect_grokking`, or if a ``by`` column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> history = pd.DataFrame({"step": [0, 100, 200, 300] * 2, "split": ["train"] * 4 + ["test"] * 4,
    ...                         "accuracy": [0.5, 1.0, 1.0, 1.0, 0.5, 0.5, 0.6, 0.97]})
    >>> from grokbeyond.grokking import grokking_table
    >>> runs = pd.concat([history.assign(seed=0), history.assign(seed=1)])
    >>> grokking_table(runs, by="seed")[["seed", "gap", "phase"]].to_dict("records")
    [{'seed': 0, 'gap': 200, 'phase': 'grokking'}, {'seed': 1, 'gap': 200, 'phase': 'grokking'}]
    """
    keys = [by] if isinstance(by, str) else list(by)
    missing = set(keys) - set(histories.columns)
    if missing:
        raise InputError(f"histories lacks the run column(s) {sorted(missing)}.")
    rows = []
    for key, run in histories.groupby(keys, sort=True, observed=True):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key)), **detect_grokking(run, **kwargs).to_dict()})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class ExponentialFit:
    """``gap ≈ scale · exp(rate · x)``, fitted by :func:`fit_exponential_gap`.

    Attributes
    ----------
    scale : float
        ``exp(intercept)`` of the line fitted to ln gap (same unit as the gaps).
    rate : float
        Slope of ln gap per unit of ``x`` (e.g. per concealed dimension).
    pearson_r : float
        Pearson correlation of ln gap with ``x``.
    p_value : float
        Two-sided p-value of the slope (scipy's ``linregress``).
    n_points : int
        Runs in the fit.
    n_censored : int
        Runs left out because their test threshold was never reached.
    rate_ci : tuple of float
        ``(low, high)``: the t interval of the slope, ``rate ± t(n−2) · stderr``.
    pearson_r_ci : tuple of float
        ``(low, high)``: the Fisher-z interval of r (scipy's ``pearsonr``); NaN with
        fewer than four points.
    confidence_level : float
        Level of both intervals.

    Examples
    --------
    >>> from grokbeyond.grokking import fit_exponential_gap
    >>> fit = fit_exponential_gap([0, 10, 20, 30, 40], [5, 60, 400, 6000, None])  # x: concealed dimensions
    >>> fit.n_points, fit.n_censored, round(fit.rate, 2), round(fit.scale, 1), round(fit.pearson_r, 3)
    (4, 1, 0.23, 5.1, 0.998)
    >>> [round(end, 2) for end in fit.rate_ci]  # 95% interval of the rate
    [0.19, 0.28]
    """

    scale: float
    rate: float
    pearson_r: float
    p_value: float
    n_points: int
    n_censored: int
    rate_ci: tuple = (math.nan, math.nan)
    pearson_r_ci: tuple = (math.nan, math.nan)
    confidence_level: float = 0.95

    def to_dict(self) -> dict:
        """The fit as a flat dict."""
        return asdict(self)


def fit_exponential_gap(x, gaps, *, confidence_level=0.95) -> ExponentialFit:
    """Fit ln(gap) linearly on ``x``: the exponential growth of the grokking gap.

    Miller, O'Neill & Bui (2023, sec. 4.2, fig. 4) fit the logarithm of the gap against
    the number of concealed dimensions and report Pearson's r; as in their analysis, a
    gap ≤ 0 is mapped to ln gap = 0 (gap 1). Unlike their code, a censored run (gap
    ``None`` or NaN: the test threshold was never reached) is left out and counted, not
    given the step budget.

    Parameters
    ----------
    x : array-like of shape (n_runs,)
        The explanatory variable, e.g. concealed dimensions m.
    gaps : array-like of shape (n_runs,)
        Grokking gaps (steps or epochs); ``None``/NaN for censored runs.
    confidence_level : float, default=0.95
        Level of the intervals of the rate and of r.

    Returns
    -------
    ExponentialFit

    Raises
    ------
    ValueError
        If ``x`` and ``gaps`` differ in length, or fewer than three uncensored runs
        with at least two distinct ``x`` remain.

    Examples
    --------
    >>> fit = fit_exponential_gap([0, 10, 20, 30], [5, 50, 500, None])
    >>> round(fit.rate, 4), fit.n_censored
    (0.2303, 1)
    """
    check_number(confidence_level, "confidence_level", Real, min_val=0.0, max_val=1.0, include_boundaries="neither")
    x = np.asarray(x, dtype=float)
    gaps = np.array([np.nan if g is None else g for g in gaps], dtype=float)
    if x.shape != gaps.shape or x.ndim != 1:
        raise InputError(f"x and gaps must be 1-d of one length; got shapes {x.shape} and {gaps.shape}.")
    kept = ~np.isnan(gaps)
    if kept.sum() < 3 or np.unique(x[kept]).size < 2:
        raise InputError("fit_exponential_gap needs at least three uncensored runs at two or more distinct x; "
                         f"got {int(kept.sum())} uncensored at x = {sorted(set(x[kept].tolist()))}.")
    log_gap = np.log(np.maximum(gaps[kept], 1.0))
    n = int(kept.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = stats.linregress(x[kept], log_gap)
    half = stats.t.ppf(0.5 + confidence_level / 2, n - 2) * fit.stderr if n > 2 else math.nan
    r_ci = (math.nan, math.nan)
    if n > 3 and np.ptp(log_gap) > 0 and abs(fit.rvalue) < 1:
        interval = stats.pearsonr(x[kept], log_gap).confidence_interval(confidence_level)
        r_ci = (float(interval.low), float(interval.high))
    return ExponentialFit(scale=float(np.exp(fit.intercept)), rate=float(fit.slope), pearson_r=float(fit.rvalue),
                          p_value=float(fit.pvalue), n_points=n, n_censored=int((~kept).sum()),
                          rate_ci=(float(fit.slope - half), float(fit.slope + half)), pearson_r_ci=r_ci,
                          confidence_level=float(confidence_level))
