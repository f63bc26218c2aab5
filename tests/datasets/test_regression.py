import numpy as np
import pytest

from grokbeyond.datasets import make_competing_features, make_decoy_linear, make_noisy_sine, make_step_function


def test_noisy_sine_matches_its_definition():
    data = make_noisy_sine(n_samples=100, noise=0.0, random_state=42)
    assert data.X_train.shape == (50, 1) and data.X_test.shape == (50, 1)
    x = np.concatenate([data.X_train[:, 0], data.X_test[:, 0]])
    assert (x >= -1.5).all() and (x < 1.5).all()
    np.testing.assert_allclose(data.y_train, np.sin(2 * data.X_train[:, 0]))
    noisy = make_noisy_sine(n_samples=2000, noise=0.1, random_state=0)
    residual = noisy.y_train - np.sin(2 * noisy.X_train[:, 0])
    assert 0.09 < residual.std() < 0.11


def test_decoy_linear_features_and_split():
    data = make_decoy_linear(random_state=0)
    assert data.X_train.shape == (2, 4) and data.X_test.shape == (98, 4)
    x = data.X_test[:, 0]
    np.testing.assert_allclose(data.X_test, np.stack([x, x**2, x**3, np.sin(100 * x)], 1))
    np.testing.assert_allclose(data.y_test, 0.3 * x)
    np.testing.assert_array_equal(data.concealed_features, [1, 2, 3])


def test_competing_features_memorisation_block():
    data = make_competing_features(n_train=30, n_test=40, n_signal=3, memorisation_scale=2.0, random_state=0)
    assert data.X_train.shape == (30, 33) and data.X_test.shape == (40, 33)
    np.testing.assert_array_equal(data.X_train[:, 3:], 2.0 * np.eye(30))
    assert not data.X_test[:, 3:].any()
    np.testing.assert_array_equal(data.y_train, (data.X_train[:, :3].sum(1) > 0).astype(int))


@pytest.mark.parametrize(
    "func, kwargs, name",
    [
        (make_noisy_sine, dict(noise=-1.0), "noise"),
        (make_noisy_sine, dict(train_fraction=1.5), "train_fraction"),
        (make_decoy_linear, dict(n_train=100), "n_train"),
        (make_decoy_linear, dict(n_train=0), "n_train"),
        (make_decoy_linear, dict(input_draw="mersenne"), "input_draw"),
        (make_decoy_linear, dict(input_draw="legacy", random_state=None), "integer random_state"),
        (make_step_function, dict(n_train=40), "n_train"),
        (make_competing_features, dict(n_train=0), "n_train"),
        (make_competing_features, dict(signal_scale=0.0), "signal_scale"),
    ],
)
def test_regression_rejects_impossible_parameters(func, kwargs, name):
    with pytest.raises(ValueError, match=name):
        func(**kwargs)


def test_decoy_linear_takes_explicit_inputs():
    x = np.random.RandomState(0).uniform(-0.5, 0.5, 100)  # the paper code's draw for seed 0
    data = make_decoy_linear(x=x)
    np.testing.assert_array_equal(data.X_train[:, 0], x[:2])
    np.testing.assert_array_equal(data.X_test[:, 3], np.sin(100 * x[2:]))
    with pytest.raises(ValueError, match="finite 1-d"):
        make_decoy_linear(x=[[0.1, 0.2]])


def test_decoy_linear_legacy_draw_is_the_paper_codes_and_leaves_numpy_global_state_alone():
    state = np.random.get_state()
    data = make_decoy_linear(input_draw="legacy", random_state=3)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]
    np.testing.assert_array_equal(data.X_train[:, 0], np.random.RandomState(3).uniform(-0.5, 0.5, 100)[:2])


def test_step_function_labels_the_step_and_splits_in_order():
    data = make_step_function(n_samples=200, n_train=50, threshold=0.1, random_state=0)
    assert data.X_train.shape == (50, 1) and data.X_test.shape == (150, 1)
    np.testing.assert_array_equal(data.y_train, (data.X_train[:, 0] > 0.1).astype(int))
    np.testing.assert_array_equal(data.y_test, (data.X_test[:, 0] > 0.1).astype(int))
    assert (np.abs(data.X_test) <= 0.5).all()
    assert 0 < data.y_test.mean() < 1
    np.testing.assert_array_equal(make_step_function(random_state=0).X_test, make_step_function(random_state=0).X_test)
