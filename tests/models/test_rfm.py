"""RFMClassifier: the kernel solve, the AGOP, grokking on a small modular task, failures."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.kernel_ridge import KernelRidge

from grokbeyond.datasets import make_modular_arithmetic
from grokbeyond.models import NumericalError, RFMClassifier, fit_replicates


@pytest.fixture(scope="module")
def modular():
    return make_modular_arithmetic("add", p=17, train_fraction=0.7, random_state=0)


def _blobs(seed=0, n=40, d=4, classes=3):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, d)) + 2.0 * np.eye(classes, d)[y]
    return X, y


@pytest.mark.parametrize("kernel, ridge", [("gaussian", 0.0), ("gaussian", 0.1), ("laplace", 0.0), ("laplace", 0.1)])
def test_the_first_solve_is_kernel_ridge_regression_with_the_identity_metric(kernel, ridge):
    X, y = _blobs()
    rfm = RFMClassifier(kernel=kernel, bandwidth=1.7, ridge=ridge, max_iter=0).fit(X, y)
    distances = cdist(X, X, "sqeuclidean" if kernel == "gaussian" else "euclidean")
    K = np.exp(-distances / (2 * 1.7**2)) if kernel == "gaussian" else np.exp(-distances / 1.7)
    targets = np.eye(3)[y]
    reference = KernelRidge(alpha=ridge, kernel="precomputed").fit(K, targets)
    # The code's distances, ‖x‖² + ‖z‖² − 2xᵀz, lose digits before the Laplace kernel's sqrt.
    rtol = 1e-7 if kernel == "gaussian" else 1e-5
    np.testing.assert_allclose(rfm.dual_coef_, reference.dual_coef_, rtol=rtol, atol=1e-9)
    np.testing.assert_array_equal(rfm.M_, np.eye(4))
    X_new, _ = _blobs(seed=1, n=7)
    K_new = np.exp(-cdist(X_new, X, "sqeuclidean") / (2 * 1.7**2)) if kernel == "gaussian" else \
        np.exp(-cdist(X_new, X) / 1.7)
    np.testing.assert_allclose(rfm.decision_function(X_new), reference.predict(K_new), rtol=rtol, atol=1e-9)
    np.testing.assert_array_equal(rfm.predict(X_new), reference.predict(K_new).argmax(1))


def _autograd_agop(X, alpha, M, kernel, bandwidth, centering):
    """The centred AGOP of f(x) = K_M(x, X) α by autograd, one training point at a time."""
    X, alpha, M = (torch.from_numpy(a) for a in (X, alpha, M))

    def predictor(x):
        difference = x - X
        squared = ((difference @ M) * difference).sum(-1)
        if kernel == "gaussian":
            k = torch.exp(-squared / (2 * bandwidth**2))
        else:  # the kernel is not differentiable at x = x_i: that term's gradient is 0
            safe = torch.where(squared > 1e-20, squared, torch.ones_like(squared))
            k = torch.where(squared > 1e-20, torch.exp(-safe.sqrt() / bandwidth), torch.ones_like(squared))
        return k @ alpha

    gradients = torch.stack([torch.func.jacrev(predictor)(x) for x in X])  # (n, c, d)
    if centering:
        gradients = gradients - gradients.mean(0)
    return torch.einsum("ncd,nce->de", gradients, gradients).numpy() / len(X)


@pytest.mark.parametrize("kernel", ["gaussian", "laplace"])
@pytest.mark.parametrize("centering", [True, False])
@pytest.mark.parametrize("repeated", [False, True])
def test_the_metric_update_is_the_agop_of_the_fitted_predictor(kernel, centering, repeated):
    X, y = _blobs(d=5)
    ridge = 0.0
    if repeated:  # coincident training points: the Laplace kernel's gradient factor is unbounded there
        X, y, ridge = np.vstack([X, X[:5]]), np.concatenate([y, y[:5]]), 0.1
    params = dict(kernel=kernel, bandwidth=2.0, ridge=ridge, centering=centering)
    # agop_power 1: the metric after one iteration is the AGOP itself.
    one = RFMClassifier(**params, agop_power=1.0, max_iter=1).fit(X, y)
    first = RFMClassifier(**params, max_iter=0).fit(X, y)
    expected = _autograd_agop(X, first.dual_coef_, np.eye(5), kernel, 2.0, centering)
    np.testing.assert_allclose(one.M_, expected, rtol=1e-9, atol=1e-12)
    # And again from a learned (non-identity) metric: the second update uses M_1.
    two = RFMClassifier(**params, agop_power=1.0, max_iter=2).fit(X, y)
    expected = _autograd_agop(X, one.dual_coef_, one.M_, kernel, 2.0, centering)
    np.testing.assert_allclose(two.M_, expected, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("centering", [True, False])
def test_the_agop_of_one_hot_inputs_takes_the_sparse_order_and_is_exact(centering):
    data = make_modular_arithmetic(p=17, operation="add", train_fraction=0.5, random_state=0)
    X, y = data.X_train, data.y_train
    assert (X != 0).mean() <= 1 / 16  # one-hot a ‖ one-hot b: 2 of 34 entries (the sparse order)
    params = dict(kernel="gaussian", bandwidth=2.5, ridge=0.0, centering=centering, agop_power=1.0)
    one = RFMClassifier(**params, max_iter=1).fit(X, y)
    first = RFMClassifier(**params, max_iter=0).fit(X, y)
    expected = _autograd_agop(X, first.dual_coef_, np.eye(X.shape[1]), "gaussian", 2.5, centering)
    np.testing.assert_allclose(one.M_, expected, rtol=1e-9, atol=1e-12)


def test_an_interpolating_solve_with_huge_coefficients_keeps_its_features():
    # Standardised 3-class blobs at ridge 0: |α| ~ 1e8. Expanding the AGOP into one n × n
    # quadratic form lost every digit here (eigenvalues [-0.33, 0.45] for [0.43, 0.58]); the
    # metric collapsed to 0 at iteration 18 and the predictor to one class (accuracy 1/3).
    from sklearn.datasets import make_blobs
    from sklearn.preprocessing import StandardScaler

    X, y = make_blobs(n_samples=300, random_state=0)
    X = StandardScaler().fit_transform(X)
    with pytest.warns(Warning, match="jitter"):  # the interpolating kernel matrix is singular to rounding
        model = RFMClassifier(random_state=0).fit(X, y)
    assert np.abs(model.dual_coef_).max() > 1e6
    assert np.trace(model.M_) > 0.5 and model.score(X, y) > 0.9
    assert np.linalg.eigvalsh(model.M_).min() >= 0


def test_agop_power_is_a_matrix_power_and_the_path_is_kept():
    X, y = _blobs(d=5)
    square_root = RFMClassifier(max_iter=1).fit(X, y)
    full = RFMClassifier(agop_power=1.0, max_iter=1).fit(X, y)
    np.testing.assert_allclose(square_root.M_ @ square_root.M_, full.M_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(square_root.M_, square_root.M_.T)
    assert np.linalg.eigvalsh(square_root.M_).min() > -1e-10
    path = RFMClassifier(max_iter=3).fit(X, y).metrics_
    assert path.shape == (4, 5, 5)
    np.testing.assert_array_equal(path[0], np.eye(5))
    np.testing.assert_array_equal(path[1], square_root.M_)


def test_groks_modular_addition_with_zero_training_loss(modular):
    rfm = RFMClassifier(max_iter=20, modulus=17).fit(modular.X_train, modular.y_train,
                                                     eval_set=(modular.X_test, modular.y_test))
    train = rfm.history_.query("split == 'train'").set_index("step")
    test = rfm.history_.query("split == 'test'").set_index("step")
    assert (train["loss"] < 1e-20).all() and (train["accuracy"] == 1.0).all()
    assert test.loc[0, "accuracy"] < 0.1 and test.loc[5, "accuracy"] < 0.1  # memorised, not generalised
    assert test["accuracy"].iloc[-1] > 0.95  # ... then grokked
    # The hidden progress measures move first: the circulant deviation of the (b, a) block
    # falls, and the alignment with the final metric rises, while test accuracy is flat.
    assert np.isnan(test.loc[0, "circulant_deviation"])  # M = I: the block is zero
    assert test.loc[5, "circulant_deviation"] < 0.6 * test.loc[1, "circulant_deviation"]
    assert test["circulant_deviation"].iloc[-1] < 0.02
    assert test.loc[5, "agop_alignment"] > test.loc[0, "agop_alignment"] + 0.05
    assert test["agop_alignment"].iloc[-1] == pytest.approx(1.0)
    np.testing.assert_allclose(test["complexity"], train["complexity"])
    np.testing.assert_allclose(train["data_fit"], 17 * train["loss"])
    assert rfm.score(modular.X_test, modular.y_test) == pytest.approx(test["accuracy"].iloc[-1])


def test_plain_kernel_regression_does_not_generalise(modular):
    rfm = RFMClassifier(max_iter=0).fit(modular.X_train, modular.y_train)
    assert rfm.score(modular.X_train, modular.y_train) == 1.0
    assert rfm.score(modular.X_test, modular.y_test) < 0.1


def test_replicates_fit_one_by_one_each_with_its_own_path(modular):
    fits = fit_replicates(RFMClassifier(max_iter=4, modulus=17), modular.X_train, modular.y_train,
                          random_state=[0, 1])
    alone = RFMClassifier(max_iter=4, modulus=17).fit(modular.X_train, modular.y_train)
    for member in fits.estimators:
        np.testing.assert_array_equal(member.metrics_, alone.metrics_)
        np.testing.assert_array_equal(member.history_["agop_alignment"], alone.history_["agop_alignment"])


def test_a_kernel_matrix_that_stays_singular_fails_naming_the_iteration(monkeypatch):
    from linear_operator.utils.errors import NotPSDError

    import grokbeyond.models.rfm as rfm_module

    X, y = _blobs()
    calls = {"n": 0}
    factorise = rfm_module.psd_safe_cholesky

    def failing(matrix):
        calls["n"] += 1
        if calls["n"] == 3:  # the third solve: iteration 2
            raise NotPSDError("Matrix not positive definite after repeatedly adding jitter up to 1.0e-06.")
        return factorise(matrix)

    monkeypatch.setattr(rfm_module, "psd_safe_cholesky", failing)
    rfm = RFMClassifier(max_iter=5)
    with pytest.raises(NumericalError, match="failed at step 2.*NotPSDError") as info:
        rfm.fit(X, y)
    assert info.value.step == 2 and sorted(info.value.history["step"]) == [0, 1]
    assert not hasattr(rfm, "history_")


def test_duplicate_points_get_jitter_with_a_warning():
    X, y = _blobs()
    X, y = np.vstack([X, X[:3]]), np.concatenate([y, y[:3]])
    from linear_operator.utils.warnings import NumericalWarning

    with pytest.warns(NumericalWarning, match="jitter"):
        rfm = RFMClassifier(max_iter=1).fit(X, y)
    assert rfm.score(X, y) == 1.0


@pytest.mark.parametrize("params, match", [
    ({"kernel": "cosine"}, "kernel"), ({"bandwidth": 0.0}, "bandwidth"), ({"ridge": -1.0}, "ridge"),
    ({"agop_power": 0}, "agop_power"), ({"modulus": 1}, "modulus"), ({"modulus": 3}, "2·modulus"),
    ({"centering": "yes"}, "centering"),
])
def test_bad_parameters_are_named(params, match):
    X, y = _blobs(d=5)
    rfm = RFMClassifier(max_iter=1, **params)
    with pytest.raises((ValueError, TypeError), match=match):
        rfm.fit(X, y)
    assert not hasattr(rfm, "history_")


def test_the_fitted_estimator_keeps_no_working_state():
    X, y = _blobs(d=5)
    rfm = RFMClassifier(max_iter=2).fit(X, y)
    assert rfm._solved_for is None and rfm._metric.grad is None  # no n × n matrix kept
    np.testing.assert_array_equal(rfm.predict(X), y)


def test_no_probabilities_but_a_binary_decision_function():
    X, y = _blobs(classes=2)
    rfm = RFMClassifier(max_iter=1).fit(X, y)
    assert not hasattr(rfm, "predict_proba")
    scores = rfm.decision_function(X)
    assert scores.shape == (len(X),)
    np.testing.assert_array_equal(rfm.predict(X), (scores > 0).astype(int))
