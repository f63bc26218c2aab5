"""User data as a dataset: arrays saved once, loaded by any run in any process."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..exceptions import InputError
from ._base import make_bunch

__all__ = ["load_arrays", "save_arrays"]

_KEYS = ("X_train", "y_train", "X_test", "y_test")


def save_arrays(X_train, y_train, X_test, y_test, folder) -> Path:
    """Save a train/test split as ``<folder>/<sha256>.npz`` and return the path.

    The name is the SHA-256 of the arrays' bytes, shapes and dtypes, so the same data
    saved into the same folder always get the same file (and a run that names it the
    same run id), and different data never share one. A run's id includes the file's
    path: a store whose ``data/`` folder moves runs its user-data runs again.

    Parameters
    ----------
    X_train : array-like of shape (n_train, n_features)
    y_train : array-like of shape (n_train,)
    X_test : array-like of shape (n_test, n_features)
    y_test : array-like of shape (n_test,)
    folder : path-like
        Created if missing.

    Returns
    -------
    pathlib.Path
        The file, for the ``arrays`` dataset's ``path`` parameter.

    Raises
    ------
    ValueError
        If the arrays' shapes do not fit together.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from grokbeyond.datasets import save_arrays
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 4)), rng.integers(0, 2, size=30)
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = save_arrays(X[:20], y[:20], X[20:], y[20:], folder.name)
    >>> path.suffix, len(path.stem), path == save_arrays(X[:20], y[:20], X[20:], y[20:], folder.name)
    ('.npz', 16, True)
    >>> folder.cleanup()
    """
    arrays = {key: np.asarray(value) for key, value in zip(_KEYS, (X_train, y_train, X_test, y_test))}
    _check(arrays, "the arrays given")
    digest = hashlib.sha256()
    for key in _KEYS:
        digest.update(f"{key}{arrays[key].shape}{arrays[key].dtype}".encode())
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{digest.hexdigest()[:16]}.npz"
    if not path.exists():
        np.savez(path, **arrays)
    return path


def _check(arrays, source):
    for split in ("train", "test"):
        X, y = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
            raise InputError(f"{source}: X_{split} must be 2-D and y_{split} 1-D of the same length; got shapes "
                             f"{X.shape} and {y.shape}.")
    if arrays["X_train"].shape[1] != arrays["X_test"].shape[1]:
        raise InputError(f"{source}: X_train and X_test have different numbers of features.")


def load_arrays(path, *, random_state=None):
    """A dataset from a ``.npz`` file holding ``X_train, y_train, X_test, y_test``.

    The registry's ``arrays`` dataset: how user data enter a suite or
    :func:`~grokbeyond.compare` (which writes the file with :func:`save_arrays`).

    Parameters
    ----------
    path : path-like
        The file.
    random_state : ignored
        The data are fixed; taken so that every dataset has one signature.

    Returns
    -------
    sklearn.utils.Bunch
        ``X_train, y_train, X_test, y_test`` and metadata (``task="arrays"``; every
        feature counted as relevant).

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file lacks an array or the shapes do not fit together; the message names the file.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np
    >>> from grokbeyond.datasets import load_arrays, save_arrays
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(30, 4)), rng.integers(0, 2, size=30)
    >>> folder = tempfile.TemporaryDirectory()
    >>> data = load_arrays(save_arrays(X[:20], y[:20], X[20:], y[20:], folder.name))
    >>> data.X_train.shape, data.X_test.shape, data.task, bool((data.y_test == y[20:]).all())
    ((20, 4), (10, 4), 'arrays', True)
    >>> folder.cleanup()

    In a suite, the file is the ``arrays`` dataset's ``path``:
    ``[dataset] name = "arrays"``, ``path = "data/….npz"``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no arrays file at {path}.")
    with np.load(path, allow_pickle=False) as stored:
        missing = [key for key in _KEYS if key not in stored]
        if missing:
            raise InputError(f"{path} lacks {missing}; it must hold {list(_KEYS)}.")
        arrays = {key: stored[key] for key in _KEYS}
    _check(arrays, str(path))
    n_features = arrays["X_train"].shape[1]
    return make_bunch(**arrays, task="arrays", params={"path": str(path)}, relevant_features=np.arange(n_features),
                      concealed_features=[])
