import numpy as np
import pytest

from grokbeyond.datasets import MODULAR_OPERATIONS, make_modular_arithmetic, make_sparse_parity


def test_sparse_parity_shapes_labels_and_metadata():
    data = make_sparse_parity(n_bits=12, k=3, n_train=50, n_test=20, random_state=0)
    assert data.X_train.shape == (50, 12) and data.X_test.shape == (20, 12)
    assert data.y_train.shape == (50,) and data.y_test.shape == (20,)
    for X, y in ((data.X_train, data.y_train), (data.X_test, data.y_test)):
        assert set(np.unique(X)) <= {0.0, 1.0}
        # Labels recomputed independently: XOR of the first k bits.
        expected = np.logical_xor(np.logical_xor(X[:, 0] > 0.5, X[:, 1] > 0.5), X[:, 2] > 0.5)
        np.testing.assert_array_equal(y, expected.astype(int))
    np.testing.assert_array_equal(data.relevant_features, [0, 1, 2])
    np.testing.assert_array_equal(data.concealed_features, np.arange(3, 12))
    assert data.task == "sparse_parity" and data.params["k"] == 3


def test_sparse_parity_pm1_encoding_keeps_01_labels():
    a = make_sparse_parity(n_bits=6, k=2, n_train=30, n_test=5, random_state=1)
    b = make_sparse_parity(n_bits=6, k=2, n_train=30, n_test=5, encoding="pm1", random_state=1)
    np.testing.assert_array_equal(b.X_train, 2 * a.X_train - 1)
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_sparse_parity_concealed_bits_are_independent_of_the_label():
    data = make_sparse_parity(n_bits=8, k=2, n_train=4000, n_test=0, random_state=3)
    y = data.y_train
    for j in data.concealed_features:
        # A concealed bit predicts the label no better than chance (|corr| small).
        assert abs(np.corrcoef(data.X_train[:, j], y)[0, 1]) < 0.06
    # Each relevant bit alone is uninformative too (parity), but together they decide y.
    assert abs(np.corrcoef(data.X_train[:, 0], y)[0, 1]) < 0.06


def test_determinism_per_random_state():
    a = make_sparse_parity(n_bits=10, k=3, n_train=20, n_test=5, random_state=7)
    b = make_sparse_parity(n_bits=10, k=3, n_train=20, n_test=5, random_state=7)
    c = make_sparse_parity(n_bits=10, k=3, n_train=20, n_test=5, random_state=8)
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(n_bits=3, k=4), "k"),
        (dict(k=0), "k"),
        (dict(n_train=-1), "n_train"),
        (dict(n_test=-5), "n_test"),
        (dict(encoding="bipolar"), "encoding"),
    ],
)
def test_sparse_parity_rejects_impossible_parameters(kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_sparse_parity(**kwargs)


def _label(operation, a, b, p):
    if operation == "add":
        return (a + b) % p
    if operation == "sub":
        return (a - b) % p
    if operation == "mul":
        return (a * b) % p
    if operation == "div":
        return next(c for c in range(p) if (c * b) % p == a)
    if operation == "x2_xy_y2":
        return (a * a + a * b + b * b) % p
    if operation == "x2_xy_y2_x":
        return (a * a + a * b + b * b + a) % p
    return (a * b * a) % p


@pytest.mark.parametrize("operation", sorted(MODULAR_OPERATIONS))
def test_modular_labels_recomputed_and_one_hot_inputs(operation):
    p = 7
    data = make_modular_arithmetic(operation, p, random_state=0)
    for X, y, pairs in ((data.X_train, data.y_train, data.pairs_train), (data.X_test, data.y_test, data.pairs_test)):
        assert X.shape[1] == 2 * p
        np.testing.assert_array_equal(X.sum(axis=1), 2.0)
        np.testing.assert_array_equal(X[:, :p].argmax(1), pairs[:, 0])
        np.testing.assert_array_equal(X[:, p:].argmax(1), pairs[:, 1])
        np.testing.assert_array_equal(y, [_label(operation, a, b, p) for a, b in pairs])


def test_modular_split_is_disjoint_and_covers_all_pairs():
    data = make_modular_arithmetic("add", 11, train_fraction=0.3, random_state=2)
    train = {tuple(p) for p in data.pairs_train}
    test = {tuple(p) for p in data.pairs_test}
    assert not train & test
    assert len(train) == len(data.pairs_train) == round(0.3 * 121)
    assert len(train | test) == 121


def test_modular_div_excludes_zero_divisor():
    data = make_modular_arithmetic("div", 5, random_state=0)
    assert (np.concatenate([data.pairs_train, data.pairs_test])[:, 1] > 0).all()
    assert len(data.pairs_train) + len(data.pairs_test) == 20


def test_modular_with_replacement_shares_pairs_like_millers_sampler():
    data = make_modular_arithmetic("add", 7, sampling="with_replacement", n_train=600, n_test=200, random_state=0)
    assert data.X_train.shape == (600, 14) and data.X_test.shape == (200, 14)
    train = {tuple(p) for p in data.pairs_train}
    test = {tuple(p) for p in data.pairs_test}
    assert test <= train  # 49 pairs, 600 draws: every test pair was seen in training


@pytest.mark.parametrize(
    "args, kwargs, name",
    [
        (("add", 1), {}, "p"),
        (("div", 8), {}, "prime"),
        (("pow", 7), {}, "operation"),
        (("add", 7), dict(train_fraction=1.0), "train_fraction"),
        (("add", 7), dict(train_fraction=0.0), "train_fraction"),
        (("add", 7), dict(sampling="bootstrap"), "sampling"),
        (("add", 7), dict(n_train=40, n_test=20), "n_train \\+ n_test"),
        (("add", 7), dict(n_train=-3), "n_train"),
    ],
)
def test_modular_rejects_impossible_parameters(args, kwargs, name):
    with pytest.raises(ValueError, match=name):
        make_modular_arithmetic(*args, **kwargs)
