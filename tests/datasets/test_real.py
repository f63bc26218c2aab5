import numpy as np
import pytest

from grokbeyond.datasets import conceal, make_digits


def test_multiclass_split_is_stratified_and_scaled():
    data = make_digits(n_train=300, n_test=200, random_state=0)
    assert data.X_train.shape == (300, 64) and data.X_test.shape == (200, 64)
    assert data.X_train.min() >= 0.0 and data.X_train.max() <= 1.0
    assert set(data.y_train) == set(range(10))
    counts = np.bincount(data.y_train, minlength=10)
    assert counts.min() >= 28 and counts.max() <= 32  # ~30 per class
    # No image is in both sets.
    train_rows = {row.tobytes() for row in data.X_train}
    assert sum(row.tobytes() in train_rows for row in data.X_test) <= 2  # the data set has a few duplicate images


def test_binary_task_is_digit_parity():
    data = make_digits("binary", n_train=100, random_state=1)
    np.testing.assert_array_equal(data.y_train, data.digit_train % 2)
    np.testing.assert_array_equal(data.y_test, data.digit_test % 2)
    assert data.X_test.shape == (1697, 64)


def test_seeded_and_concealable():
    a, b = make_digits(random_state=3), make_digits(random_state=3)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, make_digits(random_state=4).X_train)
    concealed = conceal(a, 20, random_state=3)
    assert concealed.X_train.shape == (500, 84)
    np.testing.assert_array_equal(concealed.concealed_features, np.arange(64, 84))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"task": "odd"}, ValueError, "task"),
        ({"n_train": 5}, ValueError, "n_train"),
        ({"n_train": 1000, "n_test": 900}, ValueError, "1797"),
        ({"n_train": 10.5}, TypeError, "n_train"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        make_digits(**kwargs)
