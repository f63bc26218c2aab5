"""Callbacks: stopping on grokking and on a plateau."""

import numpy as np
import pandas as pd
import pytest

from grokbeyond.datasets import make_sparse_parity
from grokbeyond.exceptions import InputError
from grokbeyond.models import LogisticRegression, StopOnGrokking, StopOnPlateau


def _rows(step, train=None, test=None, metric="accuracy"):
    rows = [("train", train)] + ([("test", test)] if test is not None else [])
    return pd.DataFrame({"step": [step] * len(rows), "split": [s for s, _ in rows], metric: [v for _, v in rows]})


def test_stop_on_grokking_waits_for_the_threshold_to_hold():
    stop = StopOnGrokking(threshold=0.9, n_evaluations=3)
    test = [0.5, 0.95, 0.5, 0.91, 0.92, 0.99]
    decisions = [stop(None, _rows(10 * i, 1.0, value)) for i, value in enumerate(test)]
    assert decisions == [False, False, False, False, False, True] and stop.stopped_step_ == 50


def test_stop_on_plateau_counts_evaluations_without_improvement():
    stop = StopOnPlateau(metric="objective", n_evaluations=2, tol=0.1)
    objective = [1.0, 0.5, 0.45, 0.44, 0.3, 0.29, 0.28]
    decisions = [stop(None, _rows(i, value, metric="objective")) for i, value in enumerate(objective)]
    assert decisions == [False, False, False, True, False, False, True]
    assert stop.best_ == 0.3 and stop.stopped_step_ == 6


def test_a_grokking_fit_stops_where_its_full_history_held_the_threshold():
    data = make_sparse_parity(n_bits=6, k=1, n_train=200, n_test=100, random_state=0)
    eval_set = (data.X_test, data.y_test)
    full = LogisticRegression(max_iter=3000, eval_every=10, random_state=0).fit(data.X_train, data.y_train,
                                                                                 eval_set=eval_set)
    test = full.history_[full.history_["split"] == "test"]
    held = (test["accuracy"] >= 0.95).rolling(2).sum().to_numpy() == 2
    expected = int(test["step"].to_numpy()[np.argmax(held)])
    assert held.any() and expected < 3000
    stop = StopOnGrokking(n_evaluations=2)
    stopped = LogisticRegression(max_iter=3000, eval_every=10, random_state=0).fit(
        data.X_train, data.y_train, eval_set=eval_set, callbacks=[stop])
    assert stopped.n_iter_ == stop.stopped_step_ == expected
    pd.testing.assert_frame_equal(stopped.history_, full.history_[full.history_["step"] <= expected]
                                  .reset_index(drop=True))
    np.testing.assert_array_equal(stopped.predict(data.X_test), LogisticRegression(
        max_iter=expected, eval_every=10, random_state=0).fit(data.X_train, data.y_train).predict(data.X_test))


def test_watching_the_test_split_needs_an_eval_set_and_settings_are_checked():
    data = make_sparse_parity(n_bits=6, k=1, n_train=50, n_test=20, random_state=0)
    model = LogisticRegression(max_iter=5, random_state=0)
    with pytest.raises(InputError, match="eval_set"):
        model.fit(data.X_train, data.y_train, callbacks=[StopOnGrokking()])
    with pytest.raises(InputError, match="not recorded"):
        model.fit(data.X_train, data.y_train, callbacks=[StopOnPlateau(metric="nosuch")])
    for bad in (dict(n_evaluations=0), dict(threshold=float("nan")), dict(split="valid")):
        with pytest.raises(InputError):
            StopOnGrokking(**bad)
    for bad in (dict(n_evaluations=True), dict(tol=-1.0), dict(split="valid")):
        with pytest.raises(InputError):
            StopOnPlateau(**bad)


def test_one_stopping_rule_watches_several_fits():
    data = make_sparse_parity(n_bits=6, k=1, n_train=50, n_test=20, random_state=0)
    stop = StopOnPlateau(n_evaluations=3, tol=1e-3)
    first = LogisticRegression(max_iter=20000, eval_every=100, random_state=0).fit(
        data.X_train, data.y_train, callbacks=[stop])
    second = LogisticRegression(max_iter=20000, eval_every=100, random_state=0).fit(
        data.X_train, data.y_train, callbacks=[stop])  # e.g. the next cross-validation fold
    assert first.n_iter_ == second.n_iter_ < 20000 and second.n_iter_ > 0
