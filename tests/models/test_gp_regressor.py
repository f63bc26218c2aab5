import gpytorch
import numpy as np
import pytest
import torch

from grokbeyond import detect_grokking
from grokbeyond.datasets import make_noisy_sine
from grokbeyond.models import GPRegressor, mll_landscape


@pytest.fixture(scope="module")
def sine():
    return make_noisy_sine(random_state=42)


def test_terms_plus_constant_equal_gpytorch_exact_mll(sine):
    gp = GPRegressor(max_iter=5, lr=0.1, initial_noise=0.05).fit(sine.X_train, sine.y_train)
    X = torch.tensor(sine.X_train)[None]
    y = torch.tensor(sine.y_train)[None]
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(gp.likelihood_, gp.model_)
    with torch.no_grad():
        terms = gp._terms(X, y, train=True)
        expected = -mll(gp.model_(X), y)
    total = terms["data_fit"] + terms["complexity"] + 0.5 * np.log(2 * np.pi)
    torch.testing.assert_close(total, expected, rtol=0, atol=1e-8)
    torch.testing.assert_close(terms["objective"], expected, rtol=0, atol=1e-8)


def test_train_predictive_from_the_factor_matches_gpytorch(sine):
    gp = GPRegressor(max_iter=3).fit(sine.X_train, sine.y_train)
    final = gp.history_.iloc[-1]
    np.testing.assert_allclose(final["error"], np.mean((gp.predict(sine.X_train) - sine.y_train) ** 2), rtol=1e-8)


def test_held_out_predictive_from_the_factor_matches_gpytorch(sine):
    # Test rows reuse the training pass's Cholesky factor; gpytorch's eval-mode predictive
    # (noise included) is the reference. A moved parameter refreshes the factor.
    gp = GPRegressor(max_iter=20, lr=0.1, initial_noise=0.05).fit(sine.X_train, sine.y_train,
                                                                   eval_set=(sine.X_test, sine.y_test))
    X_test = torch.tensor(sine.X_test)[None]
    with torch.no_grad():
        gp.model_.covar_module.raw_outputscale.add_(0.3)  # stale cache: must be recomputed
        mean, variance = gp._held_out_predictive(X_test)
        gp.model_.eval(), gp.likelihood_.eval()
        predictive = gp.likelihood_(gp.model_(X_test))
    torch.testing.assert_close(mean, predictive.mean, rtol=0, atol=1e-10)
    torch.testing.assert_close(variance, predictive.variance, rtol=0, atol=1e-10)


def test_interpolating_init_groks(sine):
    # Paper E3, init B = (log ℓ, log σ_f²) = (−6, 4): fits the training points at once,
    # generalises only after the lengthscale has grown.
    gp = GPRegressor(max_iter=150, initial_lengthscale=np.exp(-6), initial_outputscale=np.exp(4), initial_noise=0.01,
                     hyperparameter_transform="exp")
    gp.fit(sine.X_train, sine.y_train, eval_set=(sine.X_test, sine.y_test))
    result = detect_grokking(gp.history_, metric="error", threshold=0.05, min_delay=20)
    assert result.phase == "grokking", result
    assert result.t_memorise == 0 and result.t_generalise >= 20
    assert gp.history_["lengthscale_0"].iloc[-1] > 100 * np.exp(-6)


def test_landscape_matches_the_estimators_objective(sine):
    land = mll_landscape(sine.X_train, sine.y_train, [-1.0, 0.0], [-2.0, 0.5], noise=0.01)
    assert land.shape == (4, 5)
    gp = GPRegressor(max_iter=0, initial_lengthscale=np.exp(0.0), initial_outputscale=np.exp(0.5), initial_noise=0.01)
    gp.fit(sine.X_train, sine.y_train - 0.0)
    row = land[(land.log_lengthscale == 0.0) & (land.log_outputscale == 0.5)].iloc[0]
    first = gp.history_.iloc[0]
    for column in ("objective", "data_fit", "complexity"):
        np.testing.assert_allclose(row[column], first[column], rtol=1e-6)
    np.testing.assert_allclose(land["objective"], land["data_fit"] + land["complexity"] + 0.5 * np.log(2 * np.pi))
    with pytest.raises(ValueError, match="noise"):
        mll_landscape(sine.X_train, sine.y_train, [0.0], [0.0], noise=0.0)
    with pytest.raises(ValueError, match="shape"):
        mll_landscape(sine.X_train, sine.y_train[:-1], [0.0], [0.0])


def test_fixed_noise_is_not_learned(sine):
    gp = GPRegressor(max_iter=20, initial_noise=0.01, learn_noise=False).fit(sine.X_train, sine.y_train)
    assert gp.history_["noise"].nunique() == 1
    np.testing.assert_allclose(gp.history_["noise"], 0.01, rtol=1e-6)
    with pytest.raises(ValueError, match="dtype"):
        GPRegressor(dtype="float16").fit(sine.X_train, sine.y_train)
    with pytest.raises(ValueError, match="hyperparameter_transform"):
        GPRegressor(hyperparameter_transform="log").fit(sine.X_train, sine.y_train)
