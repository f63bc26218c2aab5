"""One registry of model families and datasets.

The harness, :func:`grokbeyond.compare`, the command line and the tests all read it.
A *family* is an estimator class on :class:`~grokbeyond.models.TrajectoryEstimator`;
a *dataset* is a function ``make(**params, random_state=seed)`` returning a
:class:`sklearn.utils.Bunch` with ``X_train, y_train, X_test, y_test``.

A name is looked up, in this order:

1. a name registered in this process (the built-in ones, or :func:`register_family` /
   :func:`register_dataset`);
2. a reference ``"package.module:attribute"`` (e.g. ``"mypkg.models:MyGP"`` in a suite
   file), imported where it is used, so it works in any worker process;
3. an entry point of the group ``grokbeyond.families`` / ``grokbeyond.datasets`` of an
   installed package (``[project.entry-points."grokbeyond.families"] my-gp =
   "mypkg.models:MyGP"``).

Built-in entries are stored as references too, so looking one up imports only its own
module (``"logistic"`` never imports gpytorch or pyro). Registered objects travel to
worker processes with each run (the harness sends the class or function itself), so a
family defined in a notebook works with ``n_jobs=2`` and on Dask.
"""

from __future__ import annotations

import importlib
import inspect
from importlib.metadata import entry_points

from .exceptions import InputError

__all__ = [
    "all_datasets",
    "builtin_references",
    "all_families",
    "dataset_names",
    "family_names",
    "get_dataset",
    "get_family",
    "register_dataset",
    "register_family",
    "resolve_reference",
]

_FAMILY_GROUP, _DATASET_GROUP = "grokbeyond.families", "grokbeyond.datasets"

_BUILTIN_FAMILIES = {
    "gp-classifier": "grokbeyond.models.gp_classifier:GPClassifier",
    "gp-regressor": "grokbeyond.models.gp_regressor:GPRegressor",
    "linear": "grokbeyond.models.linear:LinearRegression",
    "logistic": "grokbeyond.models.logistic:LogisticRegression",
    "mlp": "grokbeyond.models.mlp:MLPClassifier",
    "bnn": "grokbeyond.models.bayesian_mlp:BayesianMLP",
    "rfm": "grokbeyond.models.rfm:RFMClassifier",
}

_BUILTIN_DATASETS = {
    "sparse_parity": "grokbeyond.datasets.algorithmic:make_sparse_parity",
    "modular_arithmetic": "grokbeyond.datasets.algorithmic:make_modular_arithmetic",
    "digits": "grokbeyond.datasets.real:make_digits",
    "noisy_sine": "grokbeyond.datasets.regression:make_noisy_sine",
    "decoy_linear": "grokbeyond.datasets.regression:make_decoy_linear",
    "step_function": "grokbeyond.datasets.regression:make_step_function",
    "competing_features": "grokbeyond.datasets.competing:make_competing_features",
    "linear_teacher": "grokbeyond.datasets.teacher_student:make_linear_teacher",
    "sparse_recovery": "grokbeyond.datasets.teacher_student:make_sparse_recovery",
    "two_gaussians": "grokbeyond.datasets.separability:make_two_gaussians",
    "margin_separable": "grokbeyond.datasets.separability:make_margin_separable",
    "arrays": "grokbeyond.datasets.arrays:load_arrays",
}

_FAMILIES: dict[str, object] = dict(_BUILTIN_FAMILIES)
_DATASETS: dict[str, object] = dict(_BUILTIN_DATASETS)


def builtin_references(kind: str) -> list[str]:
    """The ``"module:attribute"`` references of the built-in families (``kind="family"``) or
    datasets (``kind="dataset"``), without importing them.

    Parameters
    ----------
    kind : {"family", "dataset"}

    Returns
    -------
    list of str

    Examples
    --------
    >>> from grokbeyond.registry import builtin_references
    >>> builtin_references("family")[:2]
    ['grokbeyond.models.gp_classifier:GPClassifier', 'grokbeyond.models.gp_regressor:GPRegressor']
    >>> "grokbeyond.datasets.algorithmic:make_sparse_parity" in builtin_references("dataset")
    True
    """
    table = {"family": _BUILTIN_FAMILIES, "dataset": _BUILTIN_DATASETS}[kind]
    return list(table.values())


def resolve_reference(reference: str):
    """Import ``"package.module:attribute"`` and return the attribute.

    Parameters
    ----------
    reference : str
        A module path and an attribute (dotted for nested ones), joined by ``:``.

    Returns
    -------
    object

    Raises
    ------
    ValueError
        If ``reference`` has no ``:``, or the module or attribute cannot be imported;
        the message names the reference.

    Examples
    --------
    >>> from grokbeyond.registry import resolve_reference
    >>> resolve_reference("grokbeyond.datasets.algorithmic:make_sparse_parity").__name__
    'make_sparse_parity'
    >>> resolve_reference("grokbeyond.datasets:nope")
    Traceback (most recent call last):
    ...
    grokbeyond.exceptions.InputError: 'grokbeyond.datasets' has no attribute 'nope' (from 'grokbeyond.datasets:nope').
    """
    module, sep, attribute = reference.partition(":")
    if not sep or not module or not attribute:
        raise InputError(f"{reference!r} is not a reference 'package.module:attribute'.")
    try:
        target = importlib.import_module(module)
    except ImportError as err:
        raise InputError(f"cannot import {module!r} for {reference!r}: {err}") from None
    for part in attribute.split("."):
        if not hasattr(target, part):
            raise InputError(f"{module!r} has no attribute {attribute!r} (from {reference!r}).")
        target = getattr(target, part)
    return target


def _lookup(name, table: dict, group: str, what: str):
    if not isinstance(name, str):
        raise InputError(f"a {what} is named by a string; got {type(name).__name__}.")
    entry = table.get(name)
    if entry is None and ":" in name:
        entry = name
    if entry is None:
        found = entry_points(group=group, name=name)
        if found:
            return next(iter(found)).load()
        raise InputError(f"unknown {what} {name!r}; registered: {sorted(table)}, or give a reference "
                         "'package.module:attribute', or install a package with a "
                         f"{group!r} entry point of that name.")
    return resolve_reference(entry) if isinstance(entry, str) else entry


def _check_family(estimator, name):
    from .models import TrajectoryEstimator

    if not (inspect.isclass(estimator) and issubclass(estimator, TrajectoryEstimator)):
        raise InputError(f"family {name!r} must be a subclass of grokbeyond.models.TrajectoryEstimator; "
                        f"got {estimator!r}.")
    return estimator


def _check_dataset(function, name):
    if not callable(function) or "random_state" not in inspect.signature(function).parameters:
        raise InputError(f"dataset {name!r} must be a function taking random_state (and its parameters) and "
                        f"returning a Bunch with X_train, y_train, X_test, y_test; got {function!r}.")
    return function


def get_family(name: str):
    """The estimator class of a family.

    Parameters
    ----------
    name : str
        A registered name (``"gp-classifier"``, ``"gp-regressor"``, ``"linear"``,
        ``"logistic"``, ``"mlp"``, ``"bnn"``, ``"rfm"``, or one added by :func:`register_family`),
        a reference ``"package.module:Class"`` or an entry point name.

    Returns
    -------
    type
        A subclass of :class:`~grokbeyond.models.TrajectoryEstimator`.

    Raises
    ------
    ValueError
        If the name is unknown or its reference cannot be imported.
    TypeError
        If it does not name a ``TrajectoryEstimator`` subclass.

    Examples
    --------
    >>> from grokbeyond.registry import get_family
    >>> get_family("logistic").__name__
    'LogisticRegression'
    """
    return _check_family(_lookup(name, _FAMILIES, _FAMILY_GROUP, "family"), name)


def get_dataset(name: str):
    """The function that makes a dataset.

    Parameters
    ----------
    name : str
        A registered name (``"sparse_parity"``, ``"modular_arithmetic"``,
        ``"digits"``, ``"noisy_sine"``, ``"decoy_linear"``, ``"step_function"``,
        ``"competing_features"``, ``"linear_teacher"``, ``"sparse_recovery"``, ``"arrays"``, or one added by
        :func:`register_dataset`), a reference ``"package.module:function"`` or an
        entry point name.

    Returns
    -------
    callable
        ``make(**params, random_state=seed) -> Bunch``.

    Raises
    ------
    ValueError
        If the name is unknown or its reference cannot be imported.
    TypeError
        If it does not name a function taking ``random_state``.

    Examples
    --------
    >>> from grokbeyond.registry import get_dataset
    >>> get_dataset("sparse_parity").__name__
    'make_sparse_parity'
    """
    return _check_dataset(_lookup(name, _DATASETS, _DATASET_GROUP, "dataset"), name)


def _register(table: dict, name, entry, check, what: str, replace: bool) -> None:
    if not isinstance(name, str) or not name or ":" in name:
        raise InputError(f"a {what} name must be a non-empty string without ':'; got {name!r}.")
    if name in table and not replace:
        raise InputError(f"{what} {name!r} is registered already; pass replace=True to replace it.")
    if not isinstance(entry, str):
        check(entry, name)
    table[name] = entry


def register_family(name: str, estimator, *, replace: bool = False) -> None:
    """Make an estimator class available under ``name`` to suites, ``compare`` and the CLI.

    Parameters
    ----------
    name : str
        The name suites use (``[model] family = name``).
    estimator : type or str
        A :class:`~grokbeyond.models.TrajectoryEstimator` subclass, or a reference
        ``"package.module:Class"`` (imported when first used).
    replace : bool, default=False
        Allow replacing an existing name.

    Raises
    ------
    ValueError
        If ``name`` is taken (and ``replace`` is False) or not a valid name.
    TypeError
        If ``estimator`` is not a ``TrajectoryEstimator`` subclass.

    Examples
    --------
    A family defined in a notebook, used by a suite run in worker processes::

        from grokbeyond.models import LogisticRegression
        from grokbeyond.registry import register_family

        class SlowLogistic(LogisticRegression):
            pass

        register_family("slow-logistic", SlowLogistic)   # [model] family = "slow-logistic"
    """
    _register(_FAMILIES, name, estimator, _check_family, "family", replace)


def register_dataset(name: str, function, *, replace: bool = False) -> None:
    """Make a dataset function available under ``name`` to suites, ``compare`` and the CLI.

    Parameters
    ----------
    name : str
        The name suites use (``[dataset] name = name``).
    function : callable or str
        ``make(**params, random_state=seed)`` returning a Bunch with ``X_train,
        y_train, X_test, y_test``, or a reference ``"package.module:function"``.
    replace : bool, default=False
        Allow replacing an existing name.

    Raises
    ------
    ValueError
        If ``name`` is taken (and ``replace`` is False) or not a valid name.
    TypeError
        If ``function`` does not take ``random_state``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from grokbeyond.registry import get_dataset, register_dataset
    >>> def make_blobs(n_train=20, n_test=10, *, random_state=None):
    ...     rng = np.random.default_rng(random_state)
    ...     X = rng.normal(size=(n_train + n_test, 3))
    ...     y = (X[:, 0] > 0).astype(int)
    ...     return Bunch(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:])
    >>> register_dataset("doc-blobs", make_blobs, replace=True)   # [dataset] name = "doc-blobs"
    >>> get_dataset("doc-blobs")(n_train=8, random_state=0).X_train.shape
    (8, 3)
    """
    _register(_DATASETS, name, function, _check_dataset, "dataset", replace)


def family_names() -> list[str]:
    """Names registered in this process (built-in first, then in registration order).

    Returns
    -------
    list of str

    Examples
    --------
    >>> from grokbeyond.registry import family_names
    >>> family_names()[:3]
    ['gp-classifier', 'gp-regressor', 'linear']
    """
    return list(_FAMILIES)


def dataset_names() -> list[str]:
    """Names registered in this process (built-in first, then in registration order).

    Returns
    -------
    list of str

    Examples
    --------
    >>> from grokbeyond.registry import dataset_names
    >>> "sparse_parity" in dataset_names()
    True
    """
    return list(_DATASETS)


def all_families() -> list[tuple[str, type]]:
    """Every registered family as ``(name, class)``, like scikit-learn's ``all_estimators``.

    Returns
    -------
    list of (str, type) tuples

    Examples
    --------
    >>> from grokbeyond.registry import all_families
    >>> [name for name, _ in all_families()][:3]
    ['gp-classifier', 'gp-regressor', 'linear']
    """
    return [(name, get_family(name)) for name in _FAMILIES]


def all_datasets() -> list[tuple[str, object]]:
    """Every registered dataset as ``(name, function)``, like :func:`all_families`.

    Returns
    -------
    list of (str, callable) tuples

    Examples
    --------
    >>> from grokbeyond.registry import all_datasets
    >>> datasets = dict(all_datasets())
    >>> datasets["sparse_parity"].__name__, datasets["arrays"].__name__
    ('make_sparse_parity', 'load_arrays')
    """
    return [(name, get_dataset(name)) for name in _DATASETS]
