"""Grokking over many runs: summaries over seeds with bootstrap intervals, tables, and the
exponential growth of the gap."""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy import stats

from .._random import numpy_generator
from .._validation import check_number
from ..exceptions import InputError
from ._detect import PHASES, GrokkingResult, detect_grokking

__all__ = ["ExponentialFit", "GrokkingSummary", "fit_exponential_gap", "grokking_table", "median_ci",
           "summarise_grokking"]


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
