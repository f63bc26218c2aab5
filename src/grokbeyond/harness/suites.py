"""Suites: a TOML file naming a dataset, a model family, a grid and seeds, expanded into runs."""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import operator
import tomllib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from ..exceptions import InputError
from ..registry import get_dataset, get_family

__all__ = ["SuiteRuns", "check_suite", "expand_suite", "load_suite", "make_run", "override_suite", "run_id"]

_SECTIONS = {"name", "description", "experiment", "seeds", "dataset", "model", "grid", "cases", "quick"}
_QUICK_KEYS = {"seeds", "settings", "grid", "cases"}
#: Dataset parameters the harness applies itself, after the dataset function.
_TRANSFORMS = {"n_concealed", "signed_labels"}


def load_suite(path, *, quick: bool = False) -> dict:
    """Read and check a suite file.

    A suite is a TOML table::

        name = "parity-gp"
        experiment = "E1"          # optional: the paper's experiment (reproduce --experiments)
        seeds = [0, 1, 2]
        [dataset]
        name = "sparse_parity"     # a registered dataset or "package.module:function"
        n_bits = 20                # its parameters; n_concealed appends conceal() bits,
                                   # signed_labels = true codes labels -1/+1
        [model]
        family = "gp-classifier"   # a registered family or "package.module:Class"
        max_iter = 200             # constructor parameters
        [grid]
        "model.lr" = [0.01, 0.05]  # any dataset.* or model.* parameter, a list of values
        [[cases]]                  # optional: settings that go together, crossed with the grid
        label = "A"                # optional name of the case, kept in each run's config
        "model.initial_lengthscale" = 0.0025
        "model.initial_outputscale" = 0.018
        [quick]                    # optional: a reduced version (load_suite(quick=True))
        seeds = [0]
        settings = {"model.max_iter" = 50}
        grid = {"dataset.n_train" = [200]}

    A run is one grid cell × one case × one seed. ``description`` is free text.

    Parameters
    ----------
    path : path-like
        The ``.toml`` file.
    quick : bool, default=False
        Apply the suite's ``[quick]`` overrides (:func:`override_suite`'s ``seeds``,
        ``settings``, ``grid`` and ``cases``); a suite without one is run as it is.

    Returns
    -------
    dict
        The suite, with ``grid`` defaulting to ``{}``.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    InputError
        If the file cannot be read as text, the TOML is invalid, or a section, dataset,
        family, grid key, case or seed list is wrong; the message names it.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from grokbeyond.harness import expand_suite, load_suite
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "suite.toml"
    >>> _ = path.write_text('''
    ... name = "parity-logistic"
    ... seeds = [0, 1, 2]
    ... [dataset]
    ... name = "sparse_parity"
    ... n_bits = 20
    ... [model]
    ... family = "logistic"
    ... [grid]
    ... "dataset.n_concealed" = [0, 10]
    ... ''')
    >>> len(expand_suite(load_suite(path)))  # 2 grid cells x 3 seeds
    6
    """
    path = Path(path)
    try:
        suite = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no suite file {path}.") from None
    except (OSError, UnicodeDecodeError) as err:  # a folder, no permission, a binary file
        raise InputError(f"cannot read the suite file {path}: {getattr(err, 'strerror', None) or err}.") from None
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{path} is not valid TOML: {err}") from None
    check_suite(suite, source=str(path))
    reduced = suite.pop("quick", None)
    if quick and reduced:
        suite = override_suite(suite, **reduced)
    return suite


def check_suite(suite: dict, source: str = "suite") -> None:
    """Check a suite dict, filling in its empty ``grid`` and ``cases`` (see :func:`load_suite`).

    Parameters
    ----------
    suite : dict
        A suite as :func:`load_suite` reads it from TOML; ``grid`` and ``cases`` are
        added (empty) when missing.
    source : str, default="suite"
        What the messages name (the suite file).

    Raises
    ------
    InputError
        Naming what is wrong: an unknown section or parameter, a missing key, bad seeds,
        an unknown dataset or family, or a grid or case key that is not
        ``dataset.PARAM`` / ``model.PARAM``.

    Examples
    --------
    >>> from grokbeyond.harness import check_suite
    >>> suite = {"name": "s", "seeds": [0], "dataset": {"name": "sparse_parity"}, "model": {"family": "logistic"}}
    >>> check_suite(suite)  # valid: returns None and fills in the empty grid and cases
    >>> suite["grid"], suite["cases"]
    ({}, [])
    >>> check_suite({**suite, "model": {"family": "logistic", "speed": 2}})
    Traceback (most recent call last):
    ...
    grokbeyond.exceptions.InputError: suite: unknown parameter(s) ['speed'] of model family 'logistic'.
    """
    unknown = set(suite) - _SECTIONS
    if unknown:
        raise InputError(f"{source}: unknown key(s) {sorted(unknown)}; a suite has {sorted(_SECTIONS)}.")
    for key in ("name", "seeds", "dataset", "model"):
        if key not in suite:
            raise InputError(f"{source}: missing {key!r}.")
    if not isinstance(suite["name"], str) or not suite["name"].strip():
        raise InputError(f"{source}: name must be a non-empty string; got {suite['name']!r}.")
    seeds = suite["seeds"]
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise InputError(f"{source}: seeds must be a non-empty list of non-negative ints; got {seeds!r}.")
    for section in ("dataset", "model", "grid", "quick"):
        if section in suite and not isinstance(suite[section], dict):
            raise InputError(f"{source}: [{section}] must be a table; got {suite[section]!r}.")
    try:
        make = get_dataset(suite["dataset"].get("name"))
    except (ValueError, TypeError) as err:
        raise InputError(f"{source}: [dataset] name: {err}") from None
    try:
        family = get_family(suite["model"].get("family"))
    except (ValueError, TypeError) as err:
        raise InputError(f"{source}: [model] family: {err}") from None
    quick = suite.get("quick", {})
    if set(quick) - _QUICK_KEYS:
        raise InputError(f"{source}: [quick] takes {sorted(_QUICK_KEYS)}; got {sorted(set(quick) - _QUICK_KEYS)}.")
    suite.setdefault("grid", {})
    suite.setdefault("cases", [])
    for key, values in suite["grid"].items():
        _check_key(key, f"{source}: grid key")
        if not isinstance(values, list) or not values:
            raise InputError(f"{source}: grid {key!r} must be a non-empty list of values; got {values!r}.")
    if not isinstance(suite["cases"], list) or not all(isinstance(c, dict) for c in suite["cases"]):
        raise InputError(f"{source}: cases must be an array of tables ([[cases]]).")
    for case in suite["cases"]:
        for key in case:
            if key != "label":
                _check_key(key, f"{source}: case key")
            if key in suite["grid"]:
                raise InputError(f"{source}: {key!r} is both in [grid] and in a case; set it in one place.")
    case_keys = {k for case in suite["cases"] for k in case if k != "label"}
    grid = {section: {k.partition(".")[2] for k in (*suite["grid"], *case_keys) if k.startswith(section + ".")}
            for section in ("dataset", "model")}
    accepted = set(inspect.signature(make).parameters) - {"random_state"}
    unknown = ({k for k in suite["dataset"] if k != "name"} | grid["dataset"]) - accepted - _TRANSFORMS
    if unknown:
        raise InputError(f"{source}: unknown parameter(s) {sorted(unknown)} of dataset "
                         f"{suite['dataset']['name']!r}; it takes {sorted(accepted | _TRANSFORMS)}.")
    unknown = ({k for k in suite["model"] if k != "family"} | grid["model"]) - set(family().get_params())
    if unknown:
        raise InputError(f"{source}: unknown parameter(s) {sorted(unknown)} of model family "
                         f"{suite['model']['family']!r}.")


def _check_key(key, what):
    section, _, name = key.partition(".")
    if section not in ("dataset", "model") or not name or name in ("name", "family"):
        raise InputError(f"{what} {key!r} must be 'dataset.PARAM' or 'model.PARAM'.")


def override_suite(suite: dict, *, name=None, seeds=None, settings=None, grid=None, cases=None) -> dict:
    """A copy of ``suite`` with some of its settings replaced, checked.

    Parameters
    ----------
    suite : dict
        A suite (see :func:`load_suite`).
    name : str or None
        A new name.
    seeds : list of int or None
        New seeds.
    settings : dict or None
        ``{"dataset.X" or "model.X": value}``: fixed values; a key also in the grid
        is removed from the grid.
    grid : dict or None
        ``{"dataset.X" or "model.X": [values]}``: grid entries added or replaced.
    cases : list of dict or None
        New cases.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        If the result is not a valid suite.

    Examples
    --------
    >>> from grokbeyond.harness import expand_suite, override_suite
    >>> suite = {"name": "s", "seeds": [0, 1, 2], "dataset": {"name": "sparse_parity"},
    ...          "model": {"family": "logistic"}, "grid": {"model.lr": [0.1, 0.2]}}
    >>> small = override_suite(suite, name="s-small", seeds=[0], settings={"model.lr": 0.1, "model.max_iter": 50})
    >>> small["grid"], small["model"], len(expand_suite(small)), len(expand_suite(suite))
    ({}, {'family': 'logistic', 'lr': 0.1, 'max_iter': 50}, 1, 6)
    """
    out = {**suite, "dataset": dict(suite["dataset"]), "model": dict(suite["model"]),
           "grid": dict(suite.get("grid", {})), "cases": list(suite.get("cases", []))}
    if name is not None:
        out["name"] = name
    if seeds is not None:
        out["seeds"] = list(seeds)
    for key, value in (settings or {}).items():
        _check_key(key, "override")
        section, _, param = key.partition(".")
        out[section][param] = value
        out["grid"].pop(key, None)
    out["grid"].update(grid or {})
    if cases is not None:
        out["cases"] = list(cases)
    check_suite(out, source=f"suite {out['name']!r}")
    return out


def run_id(config: dict) -> str:
    """The content hash of a run's config: 16 hex digits of SHA-256 over its canonical JSON.

    Equal configs (whatever their key order) have equal ids, so a rerun finds the runs
    already stored.

    Parameters
    ----------
    config : dict
        The run's config without its ``run_id`` (JSON-serialisable; other values are
        written as ``str``).

    Returns
    -------
    str
        16 lowercase hex digits.

    Examples
    --------
    >>> from grokbeyond.harness import run_id
    >>> a = run_id({"seed": 0, "model": {"family": "logistic", "lr": 0.1}})
    >>> b = run_id({"model": {"lr": 0.1, "family": "logistic"}, "seed": 0})
    >>> a == b, len(a), a == run_id({"seed": 1, "model": {"family": "logistic", "lr": 0.1}})
    (True, 16, False)
    """
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def expand_suite(suite: dict) -> SuiteRuns:
    """Expand a suite into one config per grid cell, case and seed (in that nesting order).

    The expansion is lazy, as ``range`` is: its length is known at once and each
    config is made when it is read, so a grid of millions of runs costs no memory
    until its runs are read (``grokbeyond run --dry-run`` streams them). Each read
    makes a new dict: to edit configs, take ``list(expand_suite(suite))``.

    Parameters
    ----------
    suite : dict
        A suite as :func:`load_suite` returns it.

    Returns
    -------
    SuiteRuns
        A sequence (``len``, indexing, iteration) of dicts
        ``{"suite", "dataset", "model", "seed", "run_id"}`` (and ``"case"``, the case's
        label, where the case has one), where ``dataset`` and ``model`` hold the run's
        full parameters.

    Raises
    ------
    InputError
        If the suite is not valid (see :func:`check_suite`).

    Examples
    --------
    >>> from grokbeyond.harness import expand_suite
    >>> suite = {"name": "s", "seeds": [0, 1], "dataset": {"name": "sparse_parity"},
    ...          "model": {"family": "logistic"}, "grid": {"model.lr": [0.1, 0.2, 0.3]}}
    >>> runs = expand_suite(suite)
    >>> len(runs), runs[-1]["model"], runs[-1]["seed"]
    (6, {'family': 'logistic', 'lr': 0.3}, 1)
    """
    check_suite(suite)
    return SuiteRuns(suite)


class SuiteRuns(Sequence):
    """The runs of a suite as a lazy sequence (see :func:`expand_suite`).

    Examples
    --------
    >>> from grokbeyond.harness import expand_suite
    >>> runs = expand_suite({"name": "s", "seeds": [0, 1], "dataset": {"name": "sparse_parity"},
    ...                      "model": {"family": "logistic"}, "grid": {"dataset.n_bits": [10, 20]}})
    >>> runs
    SuiteRuns('s', 4 runs)
    >>> [(run["dataset"]["n_bits"], run["seed"]) for run in runs]
    [(10, 0), (10, 1), (20, 0), (20, 1)]
    """

    def __init__(self, suite: dict):
        self._suite = suite
        self._keys = list(suite["grid"])
        self._cases = suite["cases"] or [{}]
        # run i is (grid cell, case, seed) in mixed radix, the last grid key varying fastest among the cells
        self._radix = [len(suite["grid"][k]) for k in self._keys] + [len(self._cases), len(suite["seeds"])]

    def __len__(self) -> int:
        return math.prod(self._radix)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = operator.index(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"run index out of range for {len(self)} runs")
        digits = []
        for base in reversed(self._radix):
            i, digit = divmod(i, base)
            digits.append(digit)
        *cell, case_index, seed_index = reversed(digits)
        suite, case = self._suite, self._cases[case_index]
        dataset, model = dict(suite["dataset"]), dict(suite["model"])
        settings = [*((k, suite["grid"][k][d]) for k, d in zip(self._keys, cell)),
                    *((k, v) for k, v in case.items() if k != "label")]
        for key, value in settings:
            section, _, name = key.partition(".")
            (dataset if section == "dataset" else model)[name] = value
        config = {"suite": suite["name"], "dataset": dataset, "model": model, "seed": suite["seeds"][seed_index]}
        if "label" in case:
            config["case"] = case["label"]
        return {**config, "run_id": run_id(config)}

    def __eq__(self, other) -> bool:
        if not isinstance(other, (SuiteRuns, list, tuple)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None

    def __repr__(self) -> str:
        return f"SuiteRuns({self._suite['name']!r}, {len(self)} runs)"


def make_run(config: dict, *, family=None, dataset=None):
    """Build a run's data and unfitted estimator from its config.

    The seed is the dataset's and the concealment's ``random_state`` and the
    estimator's ``random_state``. Two dataset parameters are applied here, after the
    dataset function: ``n_concealed`` appends that many
    :func:`~grokbeyond.datasets.conceal` bits, and ``signed_labels = true`` codes
    binary labels 0/1 as −1/+1 (for regressors scored by sign accuracy).

    Parameters
    ----------
    config : dict
        A run from :func:`expand_suite`.
    family, dataset : class, callable or None, default=None
        The estimator class and the dataset function already looked up (the harness
        sends them to worker processes, so a family registered in the parent process
        works there); ``None`` looks the config's names up in the registry.

    Returns
    -------
    data : sklearn.utils.Bunch
    estimator : TrajectoryEstimator

    Raises
    ------
    ValueError, TypeError
        From the dataset function or the estimator, for a bad parameter.

    Examples
    --------
    >>> from grokbeyond.harness import expand_suite, make_run
    >>> suite = {"name": "s", "seeds": [7], "model": {"family": "logistic", "max_iter": 20},
    ...          "dataset": {"name": "sparse_parity", "n_bits": 6, "n_train": 40, "n_concealed": 4}}
    >>> data, estimator = make_run(expand_suite(suite)[0])
    >>> data.X_train.shape, type(estimator).__name__, estimator.max_iter, estimator.random_state
    ((40, 10), 'LogisticRegression', 20, 7)
    """
    make = dataset if dataset is not None else get_dataset(config["dataset"]["name"])
    params = {k: v for k, v in config["dataset"].items() if k not in ("name", *_TRANSFORMS)}
    data = make(**params, random_state=config["seed"])
    n_concealed = config["dataset"].get("n_concealed", 0)
    if n_concealed:
        from ..datasets import conceal

        data = conceal(data, n_concealed, random_state=config["seed"])
    if config["dataset"].get("signed_labels", False):
        labels = np.union1d(data.y_train, data.y_test)
        if not np.isin(labels, (0, 1)).all():
            raise InputError(f"signed_labels needs labels 0/1; dataset {config['dataset']['name']!r} has "
                             f"{labels.tolist()[:10]}.")
        data = Bunch(**{**data, "y_train": 2.0 * data.y_train - 1.0, "y_test": 2.0 * data.y_test - 1.0})
    estimator_class = family if family is not None else get_family(config["model"]["family"])
    model_params = {k: v for k, v in config["model"].items() if k != "family"}
    estimator = estimator_class().set_params(**model_params, random_state=config["seed"])
    return data, estimator
