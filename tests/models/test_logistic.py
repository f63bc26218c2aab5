import numpy as np
import pytest

from grokbeyond.datasets import make_competing_features
from grokbeyond.models import LogisticRegression


@pytest.fixture
def separable():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    return X, (X @ np.array([2.0, -1.0, 0.0, 0.0, 0.5]) > 0).astype(int)


def test_terms_match_their_formulas(separable):
    X, y = separable
    est = LogisticRegression(max_iter=50, weight_decay=0.1, random_state=0).fit(X, y)
    w, b = est.coef_, est.intercept_
    z = X @ w + b
    cross_entropy = np.mean(np.logaddexp(0, z) - y * z)
    final = est.history_.iloc[-1]
    np.testing.assert_allclose(final["data_fit"], cross_entropy, rtol=1e-10)
    np.testing.assert_allclose(final["complexity"], 0.05 * np.sum(w**2), rtol=1e-10)
    np.testing.assert_allclose(final["weight_norm"], np.linalg.norm(w), rtol=1e-10)


def test_full_batch_sgd_is_gradient_descent_on_the_objective(separable):
    # Decoupled weight decay with plain SGD equals gradient descent on data_fit + complexity,
    # so the recorded objective decreases monotonically at a small learning rate.
    X, y = separable
    est = LogisticRegression(max_iter=100, lr=0.05, weight_decay=0.5, init_scale=3.0, random_state=0).fit(X, y)
    objective = est.history_["objective"].to_numpy()
    assert np.all(np.diff(objective) <= 1e-12)


def test_weight_decay_shrinks_the_weight_norm(separable):
    X, y = separable
    norms = [
        LogisticRegression(max_iter=300, lr=0.5, weight_decay=wd, random_state=0).fit(X, y).history_["weight_norm"].iloc[-1]
        for wd in (0.0, 0.1)
    ]
    assert norms[1] < 0.5 * norms[0]


def test_minibatches_cover_each_epoch_and_depend_on_random_state(separable):
    X, y = separable
    a = LogisticRegression(max_iter=30, batch_size=1, random_state=0).fit(X, y)
    b = LogisticRegression(max_iter=30, batch_size=1, random_state=0).fit(X, y)
    c = LogisticRegression(max_iter=30, batch_size=1, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert not np.array_equal(a.coef_, c.coef_)


def test_adamw_option_and_memorisation_on_competing_features():
    data = make_competing_features(n_train=50, n_test=200, n_signal=2, signal_scale=0.1, memorisation_scale=3.0,
                                   random_state=0)
    est = LogisticRegression(max_iter=200, lr=0.05, optimizer="adamw", weight_decay=1e-3, random_state=0)
    est.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    final = est.history_.groupby("split", observed=True)["accuracy"].last()
    assert final["train"] == 1.0  # fits the training set through the memorisation features
    assert final["test"] < 0.8
