"""Claims: each a record with one measuring function, checked against a paper's store.

Nothing here trains; everything is read from recorded rows.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from ..grokking import grokking_table

__all__ = ["Claim", "claims_table", "format_ci", "format_range", "spearman_ci", "suite_results"]


@dataclass(frozen=True)
class Claim:
    """A claim of a paper and how a store's runs check it.

    Attributes
    ----------
    experiment : str
        The paper's experiment (``"E1"``, ``"fig. 3"`` …).
    suite : str
        The suite whose runs check it.
    claim, expected, criterion : str
        What the paper says; the value expected (from the paper or its code's runs);
        what "holds" means here.
    measure : callable
        ``measure(history, results) -> (measured, holds)`` on :func:`suite_results`'
        output; ``measured`` is a string with intervals, ``holds`` a bool (or a string
        such as ``"not run"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.reproduce import Claim
    >>> def most_grok(history, results):
    ...     share = (results["phase"] == "grokking").mean()
    ...     return f"{share:.0%} of seeds grok", bool(share >= 0.5)
    >>> claim = Claim(experiment="E1", suite="parity", claim="Parity groks.", expected="most seeds",
    ...               criterion="at least half the seeds grok", measure=most_grok)
    >>> claim.measure(pd.DataFrame(), pd.DataFrame({"phase": ["grokking", "memorisation"]}))
    ('50% of seeds grok', True)

    :func:`claims_table` calls ``measure`` on :func:`suite_results` of the claim's suite.
    """

    experiment: str
    suite: str
    claim: str
    expected: str
    criterion: str
    measure: Callable


def suite_results(histories: pd.DataFrame, runs: pd.DataFrame, suite: str, detection: dict):
    """One suite's finished runs, their histories and their grokking results.

    Parameters
    ----------
    histories, runs : pandas.DataFrame
        From :func:`~grokbeyond.harness.load_results`.
    suite : str
        The suite's name.
    detection : dict
        :func:`~grokbeyond.grokking.detect_grokking` keywords, plus ``unit="epoch"``
        for minibatch runs whose ``step`` is counted in epochs (``step //
        model.eval_every``, the unit of the papers' gaps).

    Returns
    -------
    histories : pandas.DataFrame
        With ``run_id``, ``seed``, ``case``, ``family``, ``dataset`` and the run's
        parameters as columns.
    results : pandas.DataFrame
        One row per run: its parameters, its ``config`` (JSON, to rebuild its data with
        :func:`~grokbeyond.harness.make_run`) and ``detect_grokking``'s fields. Empty
        frames when the store holds no finished run of ``suite``.

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.reproduce import suite_results
    >>> histories = pd.DataFrame({"run_id": ["a"] * 6 + ["b"] * 6, "step": [0, 0, 10, 10, 100, 100] * 2,
    ...                           "split": ["train", "test"] * 6,
    ...                           "accuracy": [0.5, 0.5, 1.0, 0.5, 1.0, 1.0, 0.5, 0.5, 1.0, 0.5, 1.0, 0.6]})
    >>> runs = pd.DataFrame({"run_id": ["a", "b"], "suite": "parity", "status": "finished", "seed": [0, 1],
    ...                      "model.lr": 0.1})
    >>> history, results = suite_results(histories, runs, "parity", {"threshold": 0.95})
    >>> results[["seed", "model.lr", "phase"]].to_dict("records")
    [{'seed': 0, 'model.lr': 0.1, 'phase': 'grokking'}, {'seed': 1, 'model.lr': 0.1, 'phase': 'memorisation'}]
    """
    detection = dict(detection)
    unit = detection.pop("unit", "step")
    finished = runs[(runs["suite"] == suite) & (runs["status"] == "finished")].dropna(axis=1, how="all")
    if finished.empty:
        return pd.DataFrame(), pd.DataFrame()
    params = [c for c in finished.columns
              if c.startswith(("dataset.", "model.")) or c in ("seed", "case", "family", "dataset")]
    history = histories[histories["run_id"].isin(finished["run_id"])].dropna(axis=1, how="all")
    if unit == "epoch":
        every = finished.set_index("run_id")["model.eval_every"]
        history = history.assign(step=history["step"] // history["run_id"].map(every).astype(int))
    history = history.merge(finished[["run_id", *params]], on="run_id")
    results = grokking_table(history, by="run_id", **detection)
    kept = ["run_id", *params, *(["config"] if "config" in finished else [])]
    return history, finished[kept].merge(results, on="run_id")


def format_range(values, fmt="{:.3g}", *, sep="–", empty="n/a") -> str:
    """``"low–high"`` of the non-missing ``values`` (one value when both ends format alike).

    Parameters
    ----------
    values : array-like
        Numbers; NaN and None are left out.
    fmt : str, default="{:.3g}"
        The format of each end.
    sep : str, default="–"
        Between the ends.
    empty : str, default="n/a"
        Returned when no value is left.

    Returns
    -------
    str

    Examples
    --------
    >>> from grokbeyond.reproduce import format_range
    >>> format_range([3.0, None, 1.0]), format_range([2, 2], "{:.0f}")
    ('1–3', '2')
    """
    values = pd.to_numeric(pd.Series(values, dtype=object)).dropna()
    if values.empty:
        return empty
    low, high = fmt.format(values.min()), fmt.format(values.max())
    return low if low == high else f"{low}{sep}{high}"


def format_ci(low, high, fmt="{:.3g}") -> str:
    """``[low, high]`` formatted, or ``"n/a"`` when either end is missing.

    Parameters
    ----------
    low, high : float or None
        The interval's ends; None or NaN is missing.
    fmt : str, default="{:.3g}"
        ``str.format`` template of each end.

    Returns
    -------
    str

    Examples
    --------
    >>> from grokbeyond.reproduce import format_ci
    >>> format_ci(0.12345, 6789.0), format_ci(1, 2, "{:.1f}"), format_ci(0.1, float("nan"))
    ('[0.123, 6.79e+03]', '[1.0, 2.0]', 'n/a')
    """
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (low, high)):
        return "n/a"
    return f"[{fmt.format(low)}, {fmt.format(high)}]"


def spearman_ci(x, y, confidence_level=0.95):
    """Spearman's ρ of paired samples with a paired percentile-bootstrap interval.

    scipy's bootstrap, 1999 resamples from a seeded generator; a resample that repeats
    one x (or one y) has no rank correlation and is left out, not counted as 0.

    Parameters
    ----------
    x, y : array-like of shape (n_pairs,)
        Paired samples.
    confidence_level : float, default=0.95
        Of the interval.

    Returns
    -------
    rho, low, high : float
        NaN when fewer than three pairs or no spread.

    Examples
    --------
    >>> from grokbeyond.reproduce import spearman_ci
    >>> rho, low, high = spearman_ci([1, 2, 3, 4, 5, 6, 7, 8], [2, 1, 4, 3, 6, 5, 8, 7])
    >>> round(rho, 3), bool(low <= rho <= high <= 1)
    (0.905, True)
    >>> spearman_ci([1, 2], [3, 4])  # too few pairs
    (nan, nan, nan)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan, math.nan
    rho = float(stats.spearmanr(x, y).statistic)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        resampled = stats.bootstrap((x, y), lambda a, b: stats.spearmanr(a, b).statistic, paired=True,
                                    vectorized=False, n_resamples=1999, method="percentile",
                                    random_state=np.random.default_rng(0)).bootstrap_distribution
    tail = 50 * (1 - confidence_level)
    low, high = np.nanpercentile(resampled, [tail, 100 - tail])
    return rho, float(low), float(high)


def claims_table(claims, by_suite: dict, *, extra_rows=(), failed=None) -> pd.DataFrame:
    """Check every claim against its suite's runs.

    Parameters
    ----------
    claims : sequence of Claim
    by_suite : dict
        ``{suite: suite_results(...)}`` for every suite a claim names (a missing suite
        counts as not run).
    extra_rows : sequence of dict, default=()
        Rows appended as they are (e.g. experiments not reproduced, with the reason).
    failed : dict or None, default=None
        ``{suite: number of runs that failed}``. A claim on a suite with failed runs is
        measured on the finished ones, says so, and does not hold: its evidence is
        incomplete.

    Returns
    -------
    pandas.DataFrame
        One row per claim: ``experiment``, ``claim``, ``expected``, ``measured``,
        ``criterion`` and ``holds`` (``"yes"``, ``"no"``, or ``"not run"`` when the
        store lacks the suite's runs).

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.reproduce import Claim, claims_table
    >>> def most_grok(history, results):
    ...     share = (results["phase"] == "grokking").mean()
    ...     return f"{share:.0%} of seeds grok", bool(share >= 0.5)
    >>> claims = [Claim("E1", "parity", "Parity groks.", "most seeds", "half the seeds grok", most_grok),
    ...           Claim("E2", "modular", "Modular addition groks.", "most seeds", "half the seeds grok", most_grok)]
    >>> results = pd.DataFrame({"phase": ["grokking", "grokking", "memorisation"]})  # suite_results' second frame
    >>> table = claims_table(claims, {"parity": (pd.DataFrame(), results)})
    >>> table["holds"].tolist(), table.loc[0, "measured"]  # E2: no runs of "modular" in the store
    (['yes', 'not run'], '67% of seeds grok')
    """
    failed = failed or {}
    rows = []
    for claim in claims:
        history, results = by_suite.get(claim.suite, (pd.DataFrame(), pd.DataFrame()))
        measured, holds = ("—", "not run") if results.empty else claim.measure(history, results)
        holds = holds if isinstance(holds, str) else ("yes" if holds else "no")
        if failed.get(claim.suite, 0) and holds != "not run":
            measured = f"{measured} — {failed[claim.suite]} run(s) of this suite failed and are left out"
            holds = "no"
        rows.append({"experiment": claim.experiment, "claim": claim.claim, "expected": claim.expected,
                     "measured": measured, "criterion": claim.criterion, "holds": holds})
    return pd.DataFrame([*rows, *extra_rows])
