import numpy as np
import pytest

from grokbeyond.datasets import conceal, make_modular_arithmetic, make_sparse_parity


def test_conceal_appends_fixed_dimensions_and_records_them():
    data = make_sparse_parity(n_bits=5, k=2, n_train=40, n_test=10, random_state=0)
    out = conceal(data, 7, random_state=1)
    assert out.X_train.shape == (40, 12) and out.X_test.shape == (10, 12)
    np.testing.assert_array_equal(out.X_train[:, :5], data.X_train)
    np.testing.assert_array_equal(out.concealed_features, np.arange(2, 12))
    assert out.concealment[0]["n_extra"] == 7 and out.concealment[0]["kind"] == "bits"
    assert data.X_train.shape == (40, 5)  # the input is not modified
    again = conceal(data, 7, random_state=1)
    np.testing.assert_array_equal(out.X_train, again.X_train)


def test_conceal_stream_is_independent_of_the_tasks_under_the_same_seed():
    # Miller et al.'s code replays the task's random stream for the concealment bits.
    data = make_sparse_parity(n_bits=20, k=20, n_train=500, n_test=0, random_state=42)
    out = conceal(data, 20, random_state=42)
    extra = out.X_train[:, 20:]
    assert not np.array_equal(extra, data.X_train)
    assert 0.45 < np.mean(extra == data.X_train) < 0.55
    assert abs(np.corrcoef(extra[:, 0], data.y_train)[0, 1]) < 0.15


def test_conceal_gaussian_and_validation():
    data = make_modular_arithmetic("add", 5, random_state=0)
    out = conceal(data, 3, kind="gaussian", random_state=0)
    assert out.X_train.shape[1] == 13
    assert not np.isin(out.X_train[:, 10:], [0.0, 1.0]).all()
    with pytest.raises(ValueError, match="kind"):
        conceal(data, 3, kind="uniform")
    with pytest.raises(ValueError, match="n_extra"):
        conceal(data, -1)
    with pytest.raises(TypeError, match="Bunch"):
        conceal({"X_train": 1}, 2)
