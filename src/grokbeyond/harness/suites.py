"""Suites: a TOML file naming a dataset, a model family, a grid and seeds, expanded into runs."""

from __future__ import annotations

import hashlib
import inspect
import itertools
import json
import tomllib
from pathlib import Path

from ..datasets import (
    conceal,
    make_decoy_linear,
    make_digits,
    make_modular_arithmetic,
    make_noisy_sine,
    make_sparse_parity,
)
from ..models import (
    BayesianMLP,
    GPClassifier,
    GPRegressor,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
)

__all__ = ["DATASETS", "ESTIMATORS", "expand_suite", "load_suite", "make_run", "run_id"]

#: Dataset generators by the name a suite's ``[dataset] name`` uses.
DATASETS = {
    "sparse_parity": make_sparse_parity,
    "modular_arithmetic": make_modular_arithmetic,
    "digits": make_digits,
    "noisy_sine": make_noisy_sine,
    "decoy_linear": make_decoy_linear,
}

#: Estimator classes by the name a suite's ``[model] family`` uses.
ESTIMATORS = {
    "gp-classifier": GPClassifier,
    "gp-regressor": GPRegressor,
    "linear": LinearRegression,
    "logistic": LogisticRegression,
    "mlp": MLPClassifier,
    "bnn": BayesianMLP,
}

_SECTIONS = {"name", "seeds", "dataset", "model", "grid"}


def load_suite(path) -> dict:
    """Read and check a suite file.

    A suite is a TOML table::

        name = "parity-gp"
        seeds = [0, 1, 2]
        [dataset]
        name = "sparse_parity"     # a key of DATASETS
        n_bits = 20                # its parameters; n_concealed appends conceal() bits
        [model]
        family = "gp-classifier"   # a key of ESTIMATORS
        max_iter = 200             # constructor parameters
        [grid]
        "model.lr" = [0.01, 0.05]  # any dataset.* or model.* parameter, a list of values

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.

    Returns
    -------
    dict
        The suite, with ``grid`` defaulting to ``{}``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the TOML is invalid or a section, dataset, family, grid key or seed list is
        wrong; the message names it.
    """
    path = Path(path)
    try:
        suite = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{path} is not valid TOML: {err}") from None
    check_suite(suite, source=str(path))
    return suite


def check_suite(suite: dict, source: str = "suite") -> None:
    """Raise a ValueError naming what is wrong with a suite dict (see :func:`load_suite`)."""
    unknown = set(suite) - _SECTIONS
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}; a suite has {sorted(_SECTIONS)}.")
    for key in ("name", "seeds", "dataset", "model"):
        if key not in suite:
            raise ValueError(f"{source}: missing {key!r}.")
    seeds = suite["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ValueError(f"{source}: seeds must be a non-empty list of non-negative ints; got {seeds!r}.")
    if suite["dataset"].get("name") not in DATASETS:
        raise ValueError(f"{source}: [dataset] name must be one of {sorted(DATASETS)}; "
                         f"got {suite['dataset'].get('name')!r}.")
    if suite["model"].get("family") not in ESTIMATORS:
        raise ValueError(f"{source}: [model] family must be one of {sorted(ESTIMATORS)}; "
                         f"got {suite['model'].get('family')!r}.")
    suite.setdefault("grid", {})
    for key, values in suite["grid"].items():
        section, _, name = key.partition(".")
        if section not in ("dataset", "model") or not name or name in ("name", "family"):
            raise ValueError(f"{source}: grid key {key!r} must be 'dataset.PARAM' or 'model.PARAM'.")
        if not isinstance(values, list) or not values:
            raise ValueError(f"{source}: grid {key!r} must be a non-empty list of values; got {values!r}.")
    grid = {section: {k.partition(".")[2] for k in suite["grid"] if k.startswith(section + ".")}
            for section in ("dataset", "model")}
    accepted = set(inspect.signature(DATASETS[suite["dataset"]["name"]]).parameters) - {"random_state"}
    unknown = ({k for k in suite["dataset"] if k != "name"} | grid["dataset"]) - accepted - {"n_concealed"}
    if unknown:
        raise ValueError(f"{source}: unknown parameter(s) {sorted(unknown)} of dataset "
                         f"{suite['dataset']['name']!r}; it takes {sorted(accepted | {'n_concealed'})}.")
    estimator = ESTIMATORS[suite["model"]["family"]]()
    unknown = ({k for k in suite["model"] if k != "family"} | grid["model"]) - set(estimator.get_params())
    if unknown:
        raise ValueError(f"{source}: unknown parameter(s) {sorted(unknown)} of model family "
                         f"{suite['model']['family']!r}.")


def run_id(config: dict) -> str:
    """The content hash of a run's config: 16 hex digits of SHA-256 over its canonical JSON.

    Equal configs (whatever their key order) have equal ids, so a rerun finds the runs
    already stored.
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def expand_suite(suite: dict) -> list[dict]:
    """Expand a suite into one config per grid cell and seed (grid order, then seeds).

    Returns
    -------
    list of dict
        Each ``{"suite", "dataset", "model", "seed", "run_id"}``, where ``dataset`` and
        ``model`` hold the cell's full parameters.
    """
    check_suite(suite)
    keys = list(suite["grid"])
    runs = []
    for values in itertools.product(*(suite["grid"][k] for k in keys)):
        dataset, model = dict(suite["dataset"]), dict(suite["model"])
        for key, value in zip(keys, values):
            section, _, name = key.partition(".")
            (dataset if section == "dataset" else model)[name] = value
        for seed in suite["seeds"]:
            config = {"suite": suite["name"], "dataset": dataset, "model": model, "seed": seed}
            runs.append({**config, "run_id": run_id(config)})
    return runs


def make_run(config: dict):
    """Build a run's data and unfitted estimator from its config.

    The seed is the dataset's and the concealment's ``random_state`` and the
    estimator's ``random_state``. A ``n_concealed`` dataset parameter appends that many
    :func:`~grokbeyond.datasets.conceal` bits.

    Returns
    -------
    data : sklearn.utils.Bunch
    estimator : TrajectoryEstimator

    Raises
    ------
    ValueError, TypeError
        From the dataset function or the estimator, for a bad parameter.
    """
    params = {k: v for k, v in config["dataset"].items() if k not in ("name", "n_concealed")}
    data = DATASETS[config["dataset"]["name"]](**params, random_state=config["seed"])
    n_concealed = config["dataset"].get("n_concealed", 0)
    if n_concealed:
        data = conceal(data, n_concealed, random_state=config["seed"])
    estimator_class = ESTIMATORS[config["model"]["family"]]
    model_params = {k: v for k, v in config["model"].items() if k != "family"}
    estimator = estimator_class().set_params(**model_params, random_state=config["seed"])
    return data, estimator
