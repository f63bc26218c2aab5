"""A Pipeline's held-out curve goes through the pipeline's transforms."""

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from grokbeyond.exceptions import InputError
from grokbeyond.models import LogisticRegression, pipeline_eval_set


def _data():
    rng = np.random.default_rng(0)
    X = 100 + 10 * rng.normal(size=(200, 4))
    y = (X[:, 0] + X[:, 1] > 200).astype(int)
    return X[:120], y[:120], X[120:], y[120:]


def _last_test_accuracy(pipe):
    history = pipe[-1].history_
    return float(history[history["split"] == "test"]["accuracy"].iloc[-1])


def test_the_recorded_test_curve_is_the_pipelines_score():
    X, y, X_test, y_test = _data()
    pipe = make_pipeline(StandardScaler(), PCA(n_components=3, random_state=0),
                         LogisticRegression(max_iter=300, lr=0.5, eval_every=100, random_state=0))
    pipe.fit(X, y, **pipeline_eval_set(pipe, X, y, X_test, y_test))
    assert _last_test_accuracy(pipe) == pipe.score(X_test, y_test) > 0.9
    # Routed as it is, the test split is scored on untransformed inputs: another number.
    raw = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300, lr=0.5, eval_every=100, random_state=0))
    raw.fit(X, y, logisticregression__eval_set=(X_test, y_test))
    assert abs(_last_test_accuracy(raw) - raw.score(X_test, y_test)) > 0.2


def test_only_a_pipeline_is_taken():
    X, y, X_test, y_test = _data()
    with pytest.raises(InputError, match="Pipeline"):
        pipeline_eval_set(LogisticRegression(), X, y, X_test, y_test)
    alone = make_pipeline(LogisticRegression())
    assert pipeline_eval_set(alone, X, y, X_test, y_test)["logisticregression__eval_set"][0] is X_test
