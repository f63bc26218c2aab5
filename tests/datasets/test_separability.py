import numpy as np
import pytest

from grokbeyond.datasets import make_margin_separable, make_two_gaussians
from grokbeyond.theory import origin_margin


def test_two_gaussians_are_the_constant_label_model():
    data = make_two_gaussians(n_features=30, n_train=80, n_test=40, separation=0.5, noise_scale=2.0, random_state=0)
    assert data.X_train.shape == (80, 31) and data.X_test.shape == (40, 31) and data.ratio == 30 / 80
    sign = 2 * data.y_train - 1
    np.testing.assert_array_equal(data.X_train[:, 0], 0.5 * sign)  # spread 0: the axis is ±μ
    np.testing.assert_array_equal(data.signed_noise, sign[:, None] * data.X_train[:, 1:])
    # A logistic score w·x on the two classes is the constant-label score with b = μ w₀.
    w = np.random.default_rng(1).standard_normal(31)
    np.testing.assert_allclose(sign * (data.X_train @ w), 0.5 * w[0] + data.signed_noise @ w[1:])
    assert 0.3 < data.y_train.mean() < 0.7
    again = make_two_gaussians(n_features=30, n_train=80, n_test=40, separation=0.5, noise_scale=2.0, random_state=0)
    np.testing.assert_array_equal(again.X_test, data.X_test)


def test_two_gaussians_separability_follows_the_ratio():
    below = [origin_margin(make_two_gaussians(n_features=20, n_train=100, random_state=s).signed_noise) for s in range(10)]
    above = [origin_margin(make_two_gaussians(n_features=80, n_train=100, random_state=s).signed_noise) for s in range(10)]
    assert max(below) == 0 and min(above) > 0


def test_two_gaussians_spread_and_errors():
    data = make_two_gaussians(n_features=3, n_train=500, n_test=0, spread=0.2, random_state=0)
    assert data.X_test.shape == (0, 4) and 0.1 < np.std(data.X_train[:, 0] - (2 * data.y_train - 1)) < 0.3
    for kwargs, name in [({"n_features": 0}, "n_features"), ({"noise_scale": 0.0}, "noise_scale"),
                         ({"spread": -1.0}, "spread"), ({"separation": float("nan")}, "separation")]:
        with pytest.raises(ValueError, match=f"^{name}"):
            make_two_gaussians(**kwargs)


@pytest.mark.parametrize("test_split", ["iid", "concentrated"])
def test_margin_separable_respects_the_margin_and_balance(test_split):
    data = make_margin_separable(n_features=3, n_train=400, n_test=200, margin=1e-2, test_split=test_split,
                                 random_state=0)
    gap_train, gap_test = data.X_train @ data.coef, data.X_test @ data.coef
    assert np.all(np.abs(gap_train) >= 1e-2) and np.all((gap_train > 0) == (data.y_train == 1))
    assert np.all((gap_test > 0) == (data.y_test == 1)) and data.y_train.sum() == 200 and data.y_test.sum() == 100
    assert np.all(np.abs(data.X_train) <= 5.0)
    if test_split == "concentrated":
        assert np.all((np.abs(gap_test) >= 5e-3) & (np.abs(gap_test) <= 0.1))
    else:
        assert np.abs(gap_test).max() > 1.0


def test_margin_separable_errors():
    with pytest.raises(ValueError, match="^n_train must be even"):
        make_margin_separable(n_train=101)
    with pytest.raises(ValueError, match="^test_split"):
        make_margin_separable(test_split="adversarial")
    with pytest.raises(ValueError, match="almost no points"):
        make_margin_separable(n_features=1, n_train=2, n_test=0, margin=10.0, bound=1.0)
