"""Several model families on one dataset, side by side: trajectories and grokking per family.

The paper's claim is that grokking is model-agnostic (Miller, O'Neill & Bui 2023). This
module runs every family through the same ``fit`` on the same data draws and seeds and
reports, per family, the trajectories and the grokking results (phase, gap with a
bootstrap CI, censored seeds).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__
from ._runs import run_jobs
from .datasets import conceal
from .grokking import detect_grokking, summarise_grokking
from .harness import DATASETS as GENERATORS
from .harness import ESTIMATORS
from .report import plot_comparison

__all__ = ["DATASETS", "FAMILIES", "Comparison", "compare", "write_comparison_report"]

#: Datasets by name: the generating function and its default parameters here.
DATASETS = {
    "parity": (GENERATORS["sparse_parity"], dict(n_bits=20, k=3, n_train=500, n_test=200)),
    "modular": (GENERATORS["modular_arithmetic"], dict(operation="add", p=7, sampling="with_replacement",
                                                       n_train=600, n_test=200)),
    "digits": (GENERATORS["digits"], dict(task="binary", n_train=500, n_test=500)),
    "digits-multiclass": (GENERATORS["digits"], dict(task="multiclass", n_train=500, n_test=500)),
}

#: Families by name: the estimator class and the parameters ``compare`` gives it by
#: default (step budgets and evaluation schedules of one to two minutes per seed on one
#: CPU core at the default dataset sizes; the BNN's initial scale σ = 0.5 groks within
#: that budget, σ = 1 needs ~450 epochs; everything else is the estimator's default).
FAMILIES = {
    name: (ESTIMATORS[name], params)
    for name, params in {
        "gp-classifier": dict(max_iter=200, eval_every=5),
        "gp-regressor": dict(max_iter=200, lr=1e-2, eval_every=5),
        "linear": dict(noise_variance=1.0, prior_variance=1.0, lr=1e-2, max_iter=3000, eval_every=30),
        "logistic": dict(max_iter=3000, eval_every=30),
        "mlp": dict(hidden_size=256, max_iter=6000, eval_every=30),
        "bnn": dict(init_scale=0.5, max_iter=9600, eval_every=32, n_predictive_samples=8),
    }.items()
}


@dataclass
class Comparison:
    """What :func:`compare` returns.

    Attributes
    ----------
    histories : pandas.DataFrame
        Every run's tidy history with the columns ``family`` and ``seed``; for
        regressors ``accuracy`` is their ``sign_accuracy`` on ±1-coded labels.
    runs : pandas.DataFrame
        One row per run: ``family``, ``seed``, ``status``, ``error``, ``wall_time_s``, ...
    table : pandas.DataFrame
        One row per family: phases, fraction grokking, median memorisation and
        generalisation steps, median gap with its bootstrap CI, censored seeds, final
        test accuracy.
    settings : dict
        Dataset, families with their parameters, seeds, detection settings.
    out_dir : pathlib.Path or None
        Where the figure, tables and page were written.
    """

    histories: pd.DataFrame
    runs: pd.DataFrame
    table: pd.DataFrame
    settings: dict = field(default_factory=dict)
    out_dir: Path | None = None


def _check_names(values, options, what):
    unknown = [v for v in values if v not in options]
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; choose from {sorted(options)}.")


def _make_data(dataset, params, n_concealed, seed):
    make, _ = DATASETS[dataset]
    data = make(**params, random_state=seed)
    return conceal(data, n_concealed, random_state=seed) if n_concealed else data


def _fit(family, seed, *, dataset, dataset_params, n_concealed, params):
    """One run: ``params`` maps each family to its estimator parameters."""
    data = _make_data(dataset, dataset_params, n_concealed, seed)
    estimator_class, _ = FAMILIES[family]
    model = estimator_class(**params[family], random_state=seed)
    y_train, y_test = data.y_train, data.y_test
    regressor = not hasattr(model, "predict_proba")
    if regressor:  # ±1-coded labels; the sign of the prediction is the class
        y_train, y_test = 2.0 * y_train - 1.0, 2.0 * y_test - 1.0
    model.fit(data.X_train, y_train, eval_set=(data.X_test, y_test))
    history = model.history_
    if regressor:
        history = history.assign(accuracy=history["sign_accuracy"])
    return history


def compare(dataset="parity", families=tuple(FAMILIES), *, seeds=(0, 1, 2), dataset_params=None,
            family_params=None, n_concealed=0, threshold=0.95, min_delay=10, n_jobs=1, out_dir=None,
            verbose=False):
    """Run several model families on one dataset and compare their trajectories and grokking.

    Every family is fitted on the same data draw per seed (``random_state=seed`` for
    the data, the concealment and the model), with the test split as ``eval_set``.
    Regressors (``gp-regressor``, ``linear``) are fitted to the labels coded ±1 and
    scored by sign accuracy, the classification accuracy of sign(ŷ) (Miller et al.
    2023, sec. 3.3). Grokking is detected per run with
    :func:`~grokbeyond.grokking.detect_grokking` on ``accuracy`` and summarised per
    family with :func:`~grokbeyond.grokking.summarise_grokking` (median gap, bootstrap
    CI, censored runs). A run that fails numerically is recorded as failed with its
    partial history; the others go on.

    Parameters
    ----------
    dataset : str, default="parity"
        A key of :data:`DATASETS`: ``"parity"`` (sparse parity, k = 3 relevant of 20
        bits: 17 concealed dimensions), ``"modular"`` (a + b mod 7, pairs drawn with
        replacement), ``"digits"`` (handwritten digits, odd vs even),
        ``"digits-multiclass"`` (the ten digits; classifiers only).
    families : sequence of str, default=all of :data:`FAMILIES`
        Which families to run, in the order of the figure's rows.
    seeds : sequence of int, default=(0, 1, 2)
    dataset_params : dict or None, default=None
        Overrides of the dataset's parameters (e.g. ``{"n_train": 200}``).
    family_params : dict of str to dict, or None, default=None
        Overrides of each family's parameters, e.g. ``{"mlp": {"weight_decay": 0.1}}``.
    n_concealed : int, default=0
        Spurious bits appended by :func:`~grokbeyond.datasets.conceal`.
    threshold : float, default=0.95
        Accuracy that counts as memorised (train) and generalised (test).
    min_delay : int, default=10
        Smallest gap, in steps, called grokking (see ``detect_grokking``).
    n_jobs : int, default=1
        Runs in parallel processes (joblib), one torch thread each; -1 = all cores.
    out_dir : path-like or None, default=None
        If given, write ``histories.parquet``, ``runs.parquet``, ``table.csv``,
        ``comparison.png`` and ``README.md`` there.
    verbose : bool, default=False
        Print joblib's progress.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        For an unknown dataset, family or parameter, an empty ``families`` or
        ``seeds``, or a regressor on a multiclass dataset.
    TypeError
        If ``family_params`` or ``dataset_params`` is not a dict.

    Examples
    --------
    >>> from grokbeyond import compare
    >>> result = compare("parity", ["logistic"], seeds=[0],
    ...                  family_params={"logistic": {"max_iter": 20, "eval_every": 10}})
    >>> result.table[["family", "runs"]].to_dict("records")
    [{'family': 'logistic', 'runs': 1}]
    """
    _check_names([dataset], DATASETS, "dataset")
    families, seeds = list(families), [int(s) for s in seeds]
    if not families or not seeds:
        raise ValueError("families and seeds must not be empty.")
    _check_names(families, FAMILIES, "families")
    for name, value in (("dataset_params", dataset_params), ("family_params", family_params)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"{name} must be a dict; got {type(value).__name__}.")
    family_params = family_params or {}
    _check_names(list(family_params), families, "families in family_params")
    dataset_params = {**DATASETS[dataset][1], **(dataset_params or {})}
    probe = _make_data(dataset, dataset_params, 0, 0)  # validates the dataset parameters early
    multiclass = len(np.unique(probe.y_train)) > 2
    params = {}
    for family in families:
        estimator_class, defaults = FAMILIES[family]
        params[family] = {**defaults, **family_params.get(family, {})}
        estimator_class().set_params(**params[family])  # a ValueError naming an unknown parameter
        if multiclass and not hasattr(estimator_class, "predict_proba"):
            raise ValueError(f"{family} is a regressor and {dataset!r} has more than two classes; "
                             "regressors compare on binary datasets only.")

    start = time.perf_counter()
    jobs = [{"family": family, "seed": seed} for family in families for seed in seeds]
    fit = partial(_fit, dataset=dataset, dataset_params=dataset_params, n_concealed=n_concealed, params=params)
    histories, runs = run_jobs(fit, jobs, n_jobs=n_jobs, verbose=verbose)
    detect = dict(metric="accuracy", threshold=threshold, min_delay=min_delay)
    table = _grokking_by_family(histories, runs, families, detect)
    settings = {"dataset": dataset, "dataset_params": dataset_params, "n_concealed": n_concealed,
                "families": {f: {"estimator": FAMILIES[f][0].__name__, "params": params[f]} for f in families},
                "seeds": seeds, "detection": detect, "n_jobs": n_jobs,
                "total_wall_time_s": time.perf_counter() - start, "grokbeyond": __version__}
    result = Comparison(histories, runs, table, settings)
    if out_dir is not None:
        result.out_dir = _write(result, Path(out_dir))
    return result


def _grokking_by_family(histories, runs, families, detect):
    rows = []
    for family in families:
        family_runs = histories[histories["family"] == family]
        results = [detect_grokking(run, **detect) for _, run in family_runs.groupby("seed", sort=True)]
        summary = summarise_grokking(results)
        last = family_runs[family_runs["step"] == family_runs.groupby("seed")["step"].transform("max")]
        final_test = last[last["split"] == "test"]["accuracy"]
        phases = ", ".join(f"{n} {phase}" for phase, n in summary.phase_counts.items())
        rows.append({
            "family": family, "runs": summary.n_runs,
            "failed": int((runs.loc[runs["family"] == family, "status"] != "finished").sum()),
            "phases": phases, "grokking": summary.fraction_grokking,
            "median train ≥ threshold (step)": summary.median_t_memorise,
            "median test ≥ threshold (step)": summary.median_t_generalise,
            "median gap (steps)": summary.median_gap, "gap CI low": summary.gap_ci_low,
            "gap CI high": summary.gap_ci_high, "censored seeds": int(round(summary.fraction_censored * summary.n_runs)),
            "final test accuracy": float(final_test.mean()),
            "s per run": float(runs.loc[runs["family"] == family, "wall_time_s"].median()),
        })
    return pd.DataFrame(rows)


def _write(result: Comparison, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    result.histories.to_parquet(out_dir / "histories.parquet", index=False)
    result.runs.to_parquet(out_dir / "runs.parquet", index=False)
    (out_dir / "settings.json").write_text(json.dumps(result.settings, indent=2, default=str))
    return write_comparison_report(out_dir).out_dir


def write_comparison_report(out_dir) -> Comparison:
    """Rewrite a comparison's table, figure and page from its stored runs (trains nothing).

    Parameters
    ----------
    out_dir : path-like
        A folder written by :func:`compare` (``histories.parquet``, ``runs.parquet``,
        ``settings.json``).

    Returns
    -------
    Comparison
        Rebuilt from the stored files; ``table.csv``, ``comparison.png`` and
        ``README.md`` are rewritten.

    Raises
    ------
    FileNotFoundError
        If ``out_dir`` lacks the stored files.
    """
    out_dir = Path(out_dir)
    histories = pd.read_parquet(out_dir / "histories.parquet")
    runs = pd.read_parquet(out_dir / "runs.parquet")
    s = json.loads((out_dir / "settings.json").read_text())
    families = list(s["families"])
    result = Comparison(histories, runs, _grokking_by_family(histories, runs, families, s["detection"]), s, out_dir)
    result.table.to_csv(out_dir / "table.csv", index=False)
    fig = plot_comparison(histories, "family", title=(
        f"{s['dataset']} ({', '.join(f'{k}={v}' for k, v in s['dataset_params'].items())}"
        f"{', concealed bits=' + str(s['n_concealed']) if s['n_concealed'] else ''}): mean and 95% CI over "
        f"{len(s['seeds'])} seeds"))
    fig.savefig(out_dir / "comparison.png", dpi=100)
    shown = result.table.assign(**{
        "grokking": result.table["grokking"].map("{:.0%}".format),
        "gap CI": [f"[{lo:g}, {hi:g}]" for lo, hi in zip(result.table["gap CI low"], result.table["gap CI high"])],
    }).drop(columns=["gap CI low", "gap CI high"])
    families = "\n".join(f"  - `{name}`: `{spec['estimator']}({', '.join(f'{k}={v!r}' for k, v in spec['params'].items())})`"
                         for name, spec in s["families"].items())
    make = DATASETS[s["dataset"]][0].__name__
    data_call = f"{make}({', '.join(f'{k}={v!r}' for k, v in s['dataset_params'].items())}, random_state=seed)"
    lines = [
        f"# Families compared on `{s['dataset']}`",
        "",
        f"Written by `grokbeyond.compare` (grokbeyond {s['grokbeyond']}); every number comes from the runs stored "
        "beside this page (`histories.parquet`, `runs.parquet`).",
        "",
        f"- Data (`{s['dataset']}`): `{data_call}`"
        + (f", {s['n_concealed']} concealed bits appended" if s["n_concealed"] else "")
        + f"; seeds {s['seeds']} (each seeds the data draw and the model).",
        f"- Grokking: train and test accuracy ≥ {s['detection']['threshold']}, gap ≥ {s['detection']['min_delay']} "
        "steps to count as grokking; a run whose test accuracy never gets there is censored (never given the "
        "budget). Regressors are fitted to ±1-coded labels; their accuracy is the sign accuracy.",
        f"- Families (estimator and the parameters set; the rest are defaults):\n{families}",
        f"- Wall time {s['total_wall_time_s'] / 60:.1f} min with {s['n_jobs']} process(es).",
        "",
        "![comparison](comparison.png)",
        "",
        shown.to_markdown(index=False, floatfmt=".4g"),
        "",
    ]
    (out_dir / "README.md").write_text("\n".join(lines))
    return result
