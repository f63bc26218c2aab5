import numpy as np
import pytest

from grokbeyond.datasets import make_linear_teacher, make_sparse_recovery


def test_linear_teacher_draws_its_targets_from_the_teacher():
    data = make_linear_teacher(n_features=30, n_outputs=3, n_train=60, n_test=500, random_state=0)
    assert data.X_train.shape == (60, 30) and data.y_train.shape == (60, 3) and data.y_test.shape == (500, 3)
    assert data.teacher.shape == (3, 30) and data.ratio == 0.5
    np.testing.assert_allclose(data.y_train, data.X_train @ data.teacher.T)  # noiseless
    # Unit-variance outputs by default: T has entries N(0, 1/d_in).
    assert np.var(data.y_test) == pytest.approx(1.0, abs=0.25)
    again = make_linear_teacher(n_features=30, n_outputs=3, n_train=60, n_test=500, random_state=0)
    np.testing.assert_array_equal(again.X_test, data.X_test)
    one = make_linear_teacher(n_features=5, n_train=8, noise=0.5, random_state=1)
    assert one.y_train.shape == (8,)
    residual = one.y_test - one.X_test @ one.teacher[0]
    assert np.std(residual) == pytest.approx(0.5, rel=0.2)


def test_sparse_recovery_has_a_sparse_teacher_and_the_codes_noise_level():
    data = make_sparse_recovery(n_features=100, n_informative=5, n_train=30, n_test=200, random_state=0)
    assert data.X_train.shape == (30, 100) and data.X_test.shape == (200, 100)
    support = np.flatnonzero(data.coef)
    np.testing.assert_array_equal(support, data.relevant_features)
    assert support.size == 5 and data.concealed_features.size == 95
    np.testing.assert_allclose(data.y_test, data.X_test @ data.coef)  # the test split is noiseless
    # σ² = E‖a*‖² / (N · SNR) with E‖a*‖² = s / n.
    assert data.noise_std == pytest.approx(np.sqrt(5 / 100 / (30 * 1e8)))
    assert np.std(data.X_train) == pytest.approx(np.sqrt(1 / 30), rel=0.1)
    noiseless = make_sparse_recovery(snr=np.inf, random_state=0)
    assert noiseless.noise_std == 0.0
    np.testing.assert_allclose(noiseless.y_train, noiseless.X_train @ noiseless.coef)


@pytest.mark.parametrize("func, kwargs, name", [
    (make_linear_teacher, dict(n_features=0), "n_features"),
    (make_linear_teacher, dict(n_outputs=0), "n_outputs"),
    (make_linear_teacher, dict(noise=-1.0), "noise"),
    (make_linear_teacher, dict(teacher_scale=0.0), "teacher_scale"),
    (make_sparse_recovery, dict(n_informative=101), "n_informative"),
    (make_sparse_recovery, dict(snr=0.0), "snr"),
    (make_sparse_recovery, dict(design_variance=-1.0), "design_variance"),
    (make_sparse_recovery, dict(n_train=0), "n_train"),
])
def test_bad_parameters_are_named(func, kwargs, name):
    with pytest.raises(ValueError, match=name):
        func(**kwargs)
