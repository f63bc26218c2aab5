"""Several model families on one dataset, side by side, run through the harness.

The paper's claim is that grokking is model-agnostic (Miller, O'Neill & Bui 2023). A
comparison is a set of suites, one per family, on the same data draws and seeds, run
into one store: it resumes after an interruption, runs on joblib or Dask, and records a
failed run with its traceback while the others go on, like any sweep.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.base import is_regressor

from .exceptions import InputError
from .registry import get_family
from .report.comparison import Comparison, write_comparison_report

__all__ = ["BUDGETS", "Comparison", "compare", "comparison_suites"]

#: Parameters ``compare`` gives a family unless told otherwise: step budgets and
#: evaluation schedules of one to two minutes per seed on one core at the datasets'
#: small sizes (the BNN's initial scale σ = 0.5 groks within its budget; σ = 1 needs
#: ~450 epochs). A family without an entry runs at its estimator's defaults.
BUDGETS = {
    "gp-classifier": dict(max_iter=200, eval_every=5),
    "gp-regressor": dict(max_iter=200, lr=1e-2, eval_every=5),
    "linear": dict(noise_variance=1.0, prior_variance=1.0, lr=1e-2, max_iter=3000, eval_every=30),
    "logistic": dict(max_iter=3000, eval_every=30),
    "mlp": dict(hidden_size=256, max_iter=6000, eval_every=30),
    "bnn": dict(init_scale=0.5, max_iter=9600, eval_every=32, n_predictive_samples=8),
    "rfm": dict(max_iter=30),  # iterations, each one kernel solve: seconds at these sizes
}


def _user_data(dataset, results_dir: Path) -> dict:
    """User arrays saved into the store's ``data/`` folder, as the ``arrays`` dataset's config."""
    from .datasets import save_arrays

    if isinstance(dataset, dict):  # a Bunch is a dict
        missing = [k for k in ("X_train", "y_train", "X_test", "y_test") if k not in dataset]
        if missing:
            raise InputError(f"a dataset Bunch needs X_train, y_train, X_test, y_test; {missing} missing.")
        arrays = [dataset[k] for k in ("X_train", "y_train", "X_test", "y_test")]
    elif isinstance(dataset, (tuple, list)) and len(dataset) == 4:
        arrays = list(dataset)
    else:
        raise InputError("dataset must be a registered name, a Bunch, or (X_train, y_train, X_test, y_test); "
                        f"got {type(dataset).__name__}.")
    return {"name": "arrays", "path": str(save_arrays(*arrays, results_dir.resolve() / "data"))}


def comparison_suites(dataset, families, *, seeds=(0, 1, 2), dataset_params=None, family_params=None,
                      n_concealed=0, name=None) -> list[dict]:
    """The suites of a comparison: one per family, the same data and seeds in each.

    Parameters are as :func:`compare`'s, with ``dataset`` a registered name or an
    ``arrays`` dataset config. Regressors get ``signed_labels = true``: they are fitted
    to binary labels coded ±1 and scored by sign accuracy.

    Returns
    -------
    list of dict
        Checked suites named ``<name>-<family>``.

    Raises
    ------
    ValueError
        For an unknown family, a parameter a family or the dataset does not take, an
        override for a family not compared, or a regressor on multiclass labels.
    TypeError
        If ``family_params`` or ``dataset_params`` is not a dict.
    """
    from .harness import check_suite, make_run

    families, seeds = list(families), [int(s) for s in seeds]
    if not families or not seeds:
        raise InputError("families and seeds must not be empty.")
    for what, value in (("dataset_params", dataset_params), ("family_params", family_params)):
        if value is not None and not isinstance(value, dict):
            raise InputError(f"{what} must be a dict; got {type(value).__name__}.")
    family_params = family_params or {}
    extra = sorted(set(family_params) - set(families))
    if extra:
        raise InputError(f"family_params names families not compared: {extra}; compared: {families}.")
    data_config = dict(dataset) if isinstance(dataset, dict) else {"name": dataset}
    data_config.update(dataset_params or {})
    if n_concealed:
        data_config["n_concealed"] = n_concealed
    name = name or f"compare-{data_config['name'] if data_config['name'] != 'arrays' else 'data'}"
    regressors = [family for family in families if is_regressor(get_family(family)())]
    suites = []
    for family in families:
        dataset_section = dict(data_config)
        if family in regressors:
            dataset_section["signed_labels"] = True
        suite = {"name": f"{name}-{family}", "seeds": seeds, "dataset": dataset_section,
                 "model": {"family": family, **BUDGETS.get(family, {}), **family_params.get(family, {})}}
        check_suite(suite, source=f"comparison of {family}")
        suites.append(suite)
    probe = {**suites[0], "seed": seeds[0]}
    data, _ = make_run({**probe, "dataset": data_config})  # the dataset's own errors, before anything runs
    if len(np.unique(data.y_train)) > 2 and regressors:
        raise InputError(f"{regressors} are regressors and the data have more than two classes; regressors "
                         "compare on binary labels only.")
    return suites


def compare(dataset="sparse_parity", families=tuple(BUDGETS), *, seeds=(0, 1, 2), dataset_params=None,
            family_params=None, n_concealed=0, results_dir=None, report_dir=None, name=None, metric="accuracy",
            threshold=0.95, min_delay=10, n_jobs=1, scheduler=None, progress=False, batch=True):
    """Run several model families on one dataset and compare their trajectories and grokking.

    Every family is fitted on the same data draw per seed (``random_state=seed`` for
    the data, the concealment and the model), with the test split as ``eval_set``: one
    suite per family (:func:`comparison_suites`), run together into one store. The
    store resumes after an interruption and a failed run is stored with its traceback
    while the others go on. Regressors are fitted to the labels coded ±1 and scored by
    sign accuracy, the classification accuracy of sign(ŷ) (Miller et al. 2023, sec. 3.3).
    Grokking is detected per run with :func:`~grokbeyond.grokking.detect_grokking` and
    summarised per family (median gap, bootstrap CI, censored runs).

    Parameters
    ----------
    dataset : str, sklearn.utils.Bunch or tuple, default="sparse_parity"
        A registered dataset (:func:`grokbeyond.registry.dataset_names`), or your
        own data: a Bunch with ``X_train, y_train, X_test, y_test`` or that 4-tuple
        (saved once into ``<results_dir>/data/`` so every worker reads the same arrays).
    families : sequence of str, default=the built-in families
        Registered families (or references, or entry points), in the order of the
        figure's rows.
    seeds : sequence of int, default=(0, 1, 2)
    dataset_params : dict or None, default=None
        The dataset's parameters (e.g. ``{"n_bits": 20, "n_train": 500}``).
    family_params : dict of str to dict, or None, default=None
        Each family's parameters over :data:`BUDGETS`, e.g. ``{"mlp": {"weight_decay": 0.1}}``.
    n_concealed : int, default=0
        Spurious bits appended by :func:`~grokbeyond.datasets.conceal`.
    results_dir : path-like or None, default=None
        The store; ``None`` is ``grokbeyond-results/<name>``.
    report_dir : path-like or None, default=None
        The page's folder; ``None`` is ``<results_dir>/report``.
    name : str or None, default=None
        The comparison's name, prefix of its suites; ``None`` is ``compare-<dataset>``.
    metric, threshold, min_delay
        Grokking detection: the metric (regressors' ``sign_accuracy`` stands in for
        ``accuracy``), the threshold that counts as memorised / generalised, the
        smallest gap in steps called grokking.
    n_jobs : int, default=1
        Worker processes, one torch thread each.
    scheduler : str or None, default=None
        ``"local"`` or a Dask scheduler address (see :func:`~grokbeyond.harness.run_suite`).
    progress : bool, default=False
        A progress bar counting runs.
    batch : bool, default=True
        Train each family's seeds as one batched model where the family can batch.

    Returns
    -------
    Comparison

    Raises
    ------
    ValueError
        For an unknown dataset, family or parameter, an empty ``families`` or
        ``seeds``, or a regressor on multiclass data.
    TypeError
        If ``family_params`` or ``dataset_params`` is not a dict, or ``dataset`` is of
        no accepted kind.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond import compare
    >>> result = compare("sparse_parity", ["logistic"], seeds=[0], results_dir=tempfile.mkdtemp(),
    ...                  dataset_params={"n_bits": 10, "n_train": 50, "n_test": 20},
    ...                  family_params={"logistic": {"max_iter": 20, "eval_every": 10}})
    >>> result.table[["family", "runs"]].to_dict("records")
    [{'family': 'logistic', 'runs': 1}]
    """
    from .harness import expand_suite, run_suites

    label = dataset if isinstance(dataset, str) else "data"
    results_dir = Path(results_dir) if results_dir is not None else Path("grokbeyond-results") / (
        name or f"compare-{label}")
    if not isinstance(dataset, str):
        dataset = _user_data(dataset, results_dir)
    suites = comparison_suites(dataset, families, seeds=seeds, dataset_params=dataset_params,
                               family_params=family_params, n_concealed=n_concealed, name=name)
    run_suites(suites, results_dir, n_jobs=n_jobs, scheduler=scheduler, progress=progress, batch=batch,
               desc=name or f"compare-{label}")
    run_ids = [config["run_id"] for suite in suites for config in expand_suite(suite)]
    return write_comparison_report(results_dir, report_dir=report_dir, run_ids=run_ids, metric=metric,
                                   threshold=threshold, min_delay=min_delay)
