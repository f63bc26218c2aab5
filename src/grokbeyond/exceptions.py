"""The exceptions and warnings grokbeyond raises on purpose (scikit-learn's ``sklearn.exceptions``).

============================ =================================================================
:class:`InputError`          a setting, suite, option or store a user gave that grokbeyond
                             cannot use; the message names it (a ``ValueError`` and a
                             ``TypeError``)
:class:`NumericalError`      a numerical failure in ``fit``, with the step and the history so
                             far (a ``RuntimeError``)
:class:`StoreWriteError`     a run file the store could not write (read-only, full disk, a
                             path that is a file); ends a sweep (an ``OSError``)
:class:`StoreWarning`        a file in a store that is not a readable run file, named and
                             skipped
:class:`MetricWarning`       a metric that is NaN at every step of a history grokking is read
                             from (the run reads as censored)
============================ =================================================================

The command line shows an :class:`InputError` (and any other error raised while it checks
its options, suites and store, before anything runs) as a one-line usage error with exit
code 2, a :class:`StoreWriteError` as a one-line message with exit code 1, and anything else
with its traceback (exit code 1): an error that is not the user's is a bug to report.

This module imports nothing heavy.
"""

from __future__ import annotations

__all__ = ["InputError", "MetricWarning", "NumericalError", "StoreWarning", "StoreWriteError"]


class InputError(ValueError, TypeError):
    """A user's setting, suite, command-line option or store that grokbeyond cannot use.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's parameter validation
    error is), so ``except ValueError`` or ``except TypeError`` still catches it; the
    message names the offending setting, key or file and, where there is one, the fix.

    Examples
    --------
    >>> from grokbeyond.exceptions import InputError
    >>> from grokbeyond.reproduce import get_paper
    >>> try:
    ...     get_paper("nosuchpaper")
    ... except InputError as err:
    ...     print(str(err).split(";")[0])
    unknown paper 'nosuchpaper'
    """


class NumericalError(RuntimeError):
    """A numerical failure during ``fit`` (non-finite objective, failed Cholesky, runaway).

    Attributes
    ----------
    step : int
        The optimisation step at which the failure was detected: the failing step
        for an exception (a failed Cholesky), else the first evaluated step whose
        objective is not finite.
    history : pandas.DataFrame
        The ``history_`` rows recorded before the failure, so a sweep can store them.

    Examples
    --------
    A step far too large for the data: the objective runs away, and ``fit`` says where.

    >>> import numpy as np
    >>> from grokbeyond.exceptions import NumericalError
    >>> from grokbeyond.models import LinearRegression
    >>> X = np.random.default_rng(0).normal(size=(20, 3)) * 100
    >>> try:
    ...     LinearRegression(lr=1.0, max_iter=50, random_state=0).fit(X, X[:, 0])
    ... except NumericalError as err:
    ...     print(err.step, len(err.history) > 0)
    1 True
    """

    def __init__(self, message: str, *, step: int, history):
        super().__init__(message)
        self.step = step
        self.history = history


class StoreWriteError(OSError):
    """A run file that could not be written: the store is read-only, the disk is full, or
    the store's path is not a folder.

    It is not one run's failure, so it ends the sweep (every run already stored is kept;
    a rerun does what is left). ``filename`` is the path that could not be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from grokbeyond.exceptions import StoreWriteError
    >>> from grokbeyond.harness import check_writable
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     not_a_folder = pathlib.Path(tmp, "results")
    ...     _ = not_a_folder.write_text("")
    ...     try:
    ...         check_writable(not_a_folder)
    ...     except StoreWriteError as err:
    ...         print(pathlib.Path(err.filename).name)
    results
    """


class StoreWarning(UserWarning):
    """A file in a results store that is not a readable run file, named and skipped.

    Examples
    --------
    >>> import tempfile, pathlib, warnings
    >>> from grokbeyond.exceptions import StoreWarning
    >>> from grokbeyond.harness import load_results
    >>> with tempfile.TemporaryDirectory() as store:
    ...     _ = pathlib.Path(store, "0123456789abcdef.parquet").write_text("not parquet")
    ...     with warnings.catch_warnings(record=True) as caught:
    ...         warnings.simplefilter("always")
    ...         histories, runs = load_results(store)
    >>> caught[0].category is StoreWarning, len(runs)
    (True, 0)
    """


class MetricWarning(UserWarning):
    """A metric that is NaN at every recorded step of the split grokking is read from.

    Without the warning such a run would read as censored (never generalised) without a
    word.

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from grokbeyond import detect_grokking
    >>> from grokbeyond.exceptions import MetricWarning
    >>> history = pd.DataFrame({"step": [0, 0, 10, 10], "split": ["train", "test"] * 2,
    ...                         "accuracy": [0.5, float("nan"), 1.0, float("nan")]})
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     result = detect_grokking(history)
    >>> caught[0].category is MetricWarning, result.generalisation_censored
    (True, True)
    """
