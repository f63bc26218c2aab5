"""A held-out split for the trajectory estimator at the end of a scikit-learn ``Pipeline``."""

from __future__ import annotations

from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ..exceptions import InputError

__all__ = ["pipeline_eval_set"]


def pipeline_eval_set(pipeline, X, y, X_test, y_test) -> dict:
    """``fit`` parameters that give a pipeline's final estimator its test split transformed.

    ``pipeline.fit(X, y, clf__eval_set=(X_test, y_test))`` routes ``eval_set`` to the
    final step as it is, so its test rows would be computed on untransformed inputs and
    disagree with ``pipeline.score(X_test, y_test)``. This fits a clone of the
    pipeline's transformers on ``(X, y)``, as ``pipeline.fit`` will fit its own, and
    passes ``X_test`` through them. The recorded test curve is then the pipeline's
    when its transformers are deterministic given their data (every scikit-learn
    transformer with a fixed ``random_state``).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Transformers followed by a grokbeyond estimator.
    X, y : array-like
        The training data ``pipeline.fit`` will be given.
    X_test, y_test : array-like
        The held-out split.

    Returns
    -------
    dict
        ``{"<final step's name>__eval_set": (transformed X_test, y_test)}``, for
        ``pipeline.fit(X, y, **params)``.

    Raises
    ------
    InputError
        If ``pipeline`` is not a ``Pipeline`` with at least one step.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from grokbeyond.models import LogisticRegression, pipeline_eval_set
    >>> rng = np.random.default_rng(0)
    >>> X = 100 + 10 * rng.normal(size=(120, 3))
    >>> y = (X[:, 0] > 100).astype(int)
    >>> pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200, eval_every=50, random_state=0))
    >>> pipe = pipe.fit(X[:80], y[:80], **pipeline_eval_set(pipe, X[:80], y[:80], X[80:], y[80:]))
    >>> history = pipe[-1].history_
    >>> float(history[history["split"] == "test"]["accuracy"].iloc[-1]) == pipe.score(X[80:], y[80:])
    True
    """
    if not isinstance(pipeline, Pipeline) or not pipeline.steps:
        raise InputError(f"pipeline must be a scikit-learn Pipeline; got {type(pipeline).__name__}.")
    name = pipeline.steps[-1][0]
    if len(pipeline.steps) == 1:
        return {f"{name}__eval_set": (X_test, y_test)}
    transformers = clone(pipeline[:-1]).fit(X, y)
    return {f"{name}__eval_set": (transformers.transform(X_test), y_test)}
