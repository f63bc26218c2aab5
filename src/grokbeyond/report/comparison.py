"""The page of a comparison: several families on one dataset, from its store (never trains)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .._version import __version__
from ..exceptions import InputError
from ..grokking import detect_grokking, summarise_grokking
from .figures import plot_comparison
from .pages import _cell_name, _varying, read_store, skipped_section

__all__ = ["Comparison", "write_comparison_report"]


@dataclass
class Comparison:
    """What :func:`~grokbeyond.compare` returns.

    Attributes
    ----------
    histories : pandas.DataFrame
        Every run's tidy history with ``run_id``, ``family`` and ``seed`` columns;
        regressors' ``accuracy`` is their ``sign_accuracy`` on ±1-coded labels.
    runs : pandas.DataFrame
        One row per run, as :func:`~grokbeyond.harness.load_results` gives them.
    table : pandas.DataFrame
        One row per family: phases, fraction grokking, median memorisation and
        generalisation steps, median gap with its bootstrap CI, censored seeds, final
        test accuracy, median seconds per run.
    results_dir, report_dir : pathlib.Path
        The store and the page's folder.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond import compare
    >>> store = tempfile.TemporaryDirectory()
    >>> result = compare("sparse_parity", ["logistic"], seeds=[0, 1], results_dir=store.name,
    ...                  dataset_params={"n_bits": 10, "n_train": 50, "n_test": 20},
    ...                  family_params={"logistic": {"max_iter": 20, "eval_every": 10}})
    >>> type(result).__name__, result.runs["status"].tolist(), sorted(set(result.histories["seed"]))
    ('Comparison', ['finished', 'finished'], [0, 1])
    >>> result.table[["family", "runs", "failed"]].to_dict("records")
    [{'family': 'logistic', 'runs': 2, 'failed': 0}]
    >>> sorted(path.name for path in result.report_dir.iterdir())
    ['README.md', 'comparison.png', 'table.csv']
    >>> store.cleanup()
    """

    histories: pd.DataFrame
    runs: pd.DataFrame
    table: pd.DataFrame
    results_dir: Path
    report_dir: Path


def _set(row, section) -> dict:
    """A run's parameters in one section of its config (``"dataset"`` or ``"model"``), as set."""
    return {k: v for k, v in json.loads(row["config"])[section].items() if k not in ("name", "family")}


def _table(histories, runs, detect) -> pd.DataFrame:
    rows = []
    for cell, family_runs in runs.groupby("cell", sort=False):
        family = family_runs["family"].iloc[0]
        history = histories[histories["run_id"].isin(family_runs["run_id"])]
        finished = family_runs[family_runs["status"] == "finished"]
        results = [detect_grokking(run, **detect) for _, run in
                   history[history["run_id"].isin(finished["run_id"])].groupby("run_id", sort=True)]
        summary = summarise_grokking(results) if results else None
        last = history[history["step"] == history.groupby("run_id")["step"].transform("max")]
        final_test = last[last["split"] == "test"][detect["metric"]]
        rows.append({
            "family": family, "runs of": cell,
            "runs": len(family_runs), "failed": len(family_runs) - len(finished),
            "phases": "" if summary is None else ", ".join(f"{n} {p}" for p, n in summary.phase_counts.items()),
            "grokking": None if summary is None else summary.fraction_grokking,
            "median train ≥ threshold (step)": None if summary is None else summary.median_t_memorise,
            "median test ≥ threshold (step)": None if summary is None else summary.median_t_generalise,
            "median gap (steps)": None if summary is None else summary.median_gap,
            "gap CI": "" if summary is None else f"[{summary.gap_ci_low:g}, {summary.gap_ci_high:g}]",
            "censored seeds": None if summary is None else int(round(summary.fraction_censored * summary.n_runs)),
            "final test accuracy": float(final_test.mean()) if len(final_test) else None,
            "s per run": float(family_runs["wall_time_s"].median()),
        })
    table = pd.DataFrame(rows)
    return table if (table["runs of"] != table["family"]).any() else table.drop(columns="runs of")


def write_comparison_report(results_dir, *, report_dir=None, suites=None, run_ids=None, metric="accuracy",
                            threshold=0.95, min_delay=10):
    """Write a comparison's table, figure and page from its store (trains nothing).

    Runs that differ in anything but the family and the seed (another dataset setting,
    concealment or family parameters stored in the same folder) are separate rows and
    lines, never pooled.

    Parameters
    ----------
    results_dir : path-like
        The store written by :func:`~grokbeyond.compare`.
    report_dir : path-like or None, default=None
        Where ``README.md``, ``table.csv`` and ``comparison.png`` go; ``None`` is
        ``<results_dir>/report``.
    suites : sequence of str or None, default=None
        The comparison's suites (one per family), in the table's order; ``None`` takes
        every suite in the store.
    run_ids : sequence of str or None, default=None
        Only these runs (:func:`~grokbeyond.compare` passes those of its suites).
    metric : str, default="accuracy"
        The metric compared; a regressor's ``sign_accuracy`` stands in for ``accuracy``.
    threshold, min_delay
        Grokking detection (:func:`~grokbeyond.grokking.detect_grokking`).

    Returns
    -------
    Comparison

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` is not a store.
    ValueError
        If it holds no run of the suites.

    Examples
    --------
    Redraw a comparison's page from its store, training nothing::

        from grokbeyond.report import write_comparison_report

        result = write_comparison_report("grokbeyond-results/compare-sparse_parity")
        result.table
    """
    results_dir = Path(results_dir)
    histories, runs, skipped = read_store(results_dir)
    if run_ids is not None:
        order = {run_id: i for i, run_id in enumerate(run_ids)}
        runs = runs[runs["run_id"].isin(order)].sort_values("run_id", key=lambda s: s.map(order), kind="stable")
    if suites is not None:  # the families in the order of their suites
        order = {name: i for i, name in enumerate(suites)}
        runs = runs[runs["suite"].isin(order)].sort_values("suite", key=lambda s: s.map(order), kind="stable")
    if runs.empty:
        raise InputError(f"{results_dir} holds no run of the comparison.")
    swept = [c for c in _varying(runs) if c not in ("family", "suite")]
    runs = runs.assign(cell=runs.apply(lambda r: ", ".join(filter(None, [r["family"], _cell_name(r, swept)])),
                                       axis=1))
    report_dir = Path(report_dir) if report_dir is not None else results_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    histories = histories[histories["run_id"].isin(runs["run_id"])].merge(
        runs[["run_id", "family", "cell", "seed"]], on="run_id")
    cells = {cell: i for i, cell in enumerate(runs["cell"].unique())}  # the figure's rows in the runs' order
    histories = histories.sort_values("cell", key=lambda cell: cell.map(cells), kind="stable", ignore_index=True)
    if metric == "accuracy" and "sign_accuracy" in histories:  # regressors on ±1 labels
        histories = histories.assign(accuracy=histories.get("accuracy", pd.Series(index=histories.index))
                                     .fillna(histories["sign_accuracy"]))
    detect = dict(metric=metric, threshold=threshold, min_delay=min_delay)
    table = _table(histories, runs, detect)
    table.to_csv(report_dir / "table.csv", index=False)
    first = runs.iloc[0]
    params = {k: v for k, v in _set(first, "dataset").items() if k != "signed_labels"}
    data_call = f"{first['dataset']}({', '.join(f'{k}={v!r}' for k, v in params.items())}, random_state=seed)"
    fig = plot_comparison(histories, "cell", metric=metric,
                          title=f"{data_call}: mean and 95% CI over {runs['seed'].nunique()} seeds")
    fig.savefig(report_dir / "comparison.png", dpi=100)
    model = {family: _set(group.iloc[0], "model") for family, group in runs.groupby("family", sort=False)}
    families = "\n".join(f"  - `{family}`: {', '.join(f'{k}={v!r}' for k, v in params.items())}"
                         for family, params in model.items())
    shown = table.assign(grokking=table["grokking"].map(lambda g: "" if g is None or pd.isna(g) else f"{g:.0%}"))
    lines = [
        f"# Families compared on `{first['dataset']}`",
        "",
        f"Written by `grokbeyond.compare` (grokbeyond {__version__}) from the store `{results_dir}` "
        f"({len(runs)} runs of {runs['suite'].nunique()} suites, one per family).",
        "",
        f"- Data: `{data_call}` (each seed draws the data and seeds the model; every family sees the same draw)"
        + (f"; differing between runs: {', '.join(swept)} (separate rows)." if swept else "."),
        f"- Grokking: train and test {metric} ≥ {threshold}, gap ≥ {min_delay} steps to count as grokking; a run "
        "whose test metric never gets there is censored (never given the budget). Regressors are fitted to "
        "±1-coded labels; their accuracy is the sign accuracy.",
        f"- Families (parameters set; the rest are the estimators' defaults):\n{families}",
        "",
        "![comparison](comparison.png)",
        "",
        shown.to_markdown(index=False, floatfmt=".4g"),
        "",
        *skipped_section(skipped),
    ]
    (report_dir / "README.md").write_text("\n".join(lines))
    return Comparison(histories, runs, table, results_dir, report_dir)
