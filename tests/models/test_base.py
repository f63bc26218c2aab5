import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from grokbeyond.models import (
    BayesianMLP,
    GPClassifier,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    NumericalError,
    evaluation_steps,
)

FAMILIES = [
    GPClassifier(max_iter=6, random_state=0),
    LogisticRegression(max_iter=6, random_state=0),
    MLPClassifier(hidden_size=8, max_iter=6, random_state=0),
    BayesianMLP(hidden_size=8, max_iter=6, n_predictive_samples=2, random_state=0),
]


@pytest.fixture
def toy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, y


def test_evaluation_steps():
    np.testing.assert_array_equal(evaluation_steps(10, 3), [0, 3, 6, 9, 10])
    log = evaluation_steps(5000, "log")
    assert log[0] == 0 and log[-1] == 5000
    assert set(range(11)) <= set(log.tolist())  # dense early
    assert len(log) < 120 and np.all(np.diff(log) > 0)
    np.testing.assert_array_equal(evaluation_steps(0, "log"), [0])
    np.testing.assert_array_equal(evaluation_steps(3, "log"), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="eval_every"):
        evaluation_steps(10, "linear")
    with pytest.raises(ValueError, match="eval_every"):
        evaluation_steps(10, 0)
    union = evaluation_steps(5000, ["log", 1000])  # a list is the union of its schedules
    np.testing.assert_array_equal(union, np.union1d(log, [0, 1000, 2000, 3000, 4000, 5000]))
    for bad in ([], ["log", [10]], [3, "linear"]):
        with pytest.raises(ValueError, match="eval_every"):
            evaluation_steps(10, bad)


def test_a_list_schedule_records_its_union():
    X = np.random.default_rng(0).normal(size=(20, 3))
    model = LinearRegression(max_iter=40, eval_every=[15, 20]).fit(X, X[:, 0])
    assert model.history_["step"].unique().tolist() == [0, 15, 20, 30, 40]


@pytest.mark.parametrize("estimator", FAMILIES, ids=lambda e: type(e).__name__)
def test_train_rows_without_eval_set(estimator, toy):
    X, y = toy
    h = clone(estimator).fit(X, y).history_
    assert set(h["split"]) == {"train"} and len(h) == 7


@pytest.mark.parametrize("estimator", FAMILIES, ids=lambda e: type(e).__name__)
def test_not_fitted_error(estimator, toy):
    with pytest.raises(NotFittedError):
        clone(estimator).predict(toy[0])


@pytest.mark.parametrize("estimator", FAMILIES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "make_bad, error, match",
    [
        (lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y), ValueError, "NaN"),
        (lambda X, y: (X[:, 0], y), ValueError, "2D array"),
        (lambda X, y: (X[None], y), ValueError, "dim"),
        (lambda X, y: (X, y[:-1]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (X, np.zeros_like(y)), ValueError, "one class"),
        (lambda X, y: (X, y + 0.5), ValueError, "Unknown label type"),
    ],
    ids=["nan", "1d", "3d", "lengths", "one-class", "continuous"],
)
def test_bad_inputs_raise_clear_errors(estimator, toy, make_bad, error, match):
    X, y = make_bad(*toy)
    with pytest.raises(error, match=match):
        clone(estimator).fit(X, y)


@pytest.mark.parametrize("estimator", FAMILIES, ids=lambda e: type(e).__name__)
def test_bad_eval_set(estimator, toy):
    X, y = toy
    with pytest.raises(ValueError, match="features"):
        clone(estimator).fit(X, y, eval_set=(X[:, :2], y))
    with pytest.raises(ValueError, match="not seen"):
        clone(estimator).fit(X, y, eval_set=(X, y + 5))
    with pytest.raises(TypeError, match="pair"):
        clone(estimator).fit(X, y, eval_set=X)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(max_iter=-1), "max_iter"),
        (dict(eval_every="sometimes"), "eval_every"),
        (dict(random_state="seed"), "random_state"),
        (dict(lr=0.0), "lr"),
    ],
)
@pytest.mark.parametrize("estimator", FAMILIES, ids=lambda e: type(e).__name__)
def test_bad_parameters(estimator, toy, params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        clone(estimator).set_params(**params).fit(*toy)


def test_numerical_failure_names_the_step_and_keeps_the_history(toy):
    X, y = toy
    # A learning rate this large sends the weights, then the logits, to infinity.
    est = LogisticRegression(max_iter=20, lr=1e306, weight_decay=0.0)
    with pytest.raises(NumericalError, match=r"at step \d+") as info:
        est.fit(X * 1e3, y)
    assert info.value.step >= 1
    assert isinstance(info.value.history, pd.DataFrame)
    assert (info.value.history["step"] < info.value.step).all()


def test_multi_class_classifier_predicts_original_labels():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 2)) + np.repeat(np.array([[4, 0], [0, 4], [-4, -4]]), 30, axis=0)
    y = np.repeat(np.array(["a", "b", "c"]), 30)
    est = LogisticRegression(max_iter=200, lr=0.5, weight_decay=0.0, random_state=0).fit(X, y)
    assert est.coef_.shape == (2, 3)
    assert set(est.predict(X)) == {"a", "b", "c"}
    assert est.score(X, y) > 0.95
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(1), 1.0)


def test_verbose_shows_a_progress_bar(toy, capsys):
    LogisticRegression(max_iter=5, verbose=True, random_state=0).fit(*toy, eval_set=toy)
    err = capsys.readouterr().err
    assert "LogisticRegression" in err and "5/5" in err and "test_accuracy" in err
