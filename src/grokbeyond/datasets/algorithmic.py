"""Algorithmic classification tasks: sparse parity and modular arithmetic."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from .._validation import check_number
from .._random import numpy_generator
from ..exceptions import InputError
from ._base import check_option, make_bunch

__all__ = ["MODULAR_OPERATIONS", "make_modular_arithmetic", "make_sparse_parity"]


def make_sparse_parity(n_bits=40, k=3, n_train=1000, n_test=100, *, encoding="01", random_state=None):
    """Sparse parity: the label is the parity of the first ``k`` of ``n_bits`` random bits.

    Every sample's bits are drawn independently and uniformly from {0, 1}; the label is
    ``sum(bits[:k]) mod 2``. The other ``n_bits - k`` bits are *concealed dimensions*:
    the label does not depend on them. This is experiment E1 of Miller, O'Neill & Bui
    (2023, "Grokking Beyond Neural Networks", sec. 3.1) with ``n_bits=40, k=3,
    n_train=1000, n_test=100`` and 0/1 inputs (their code draws the ``k`` task bits
    and pads them with ``n_bits - k`` random bits, which is the same distribution).

    Samples are drawn i.i.d., so with few bits a test input may also occur in the
    training set (with 40 bits the chance is negligible).

    Parameters
    ----------
    n_bits : int, default=40
        Number of input bits, relevant and concealed (``n_bits >= k``).
    k : int, default=3
        Number of relevant bits (``k >= 1``).
    n_train, n_test : int, default=1000, 100
        Numbers of training and test samples (``n_train >= 1``, ``n_test >= 0``).
    encoding : {"01", "pm1"}, default="01"
        Input encoding: bits as 0/1, or as -1/+1 (``2 * bit - 1``). Labels are 0/1
        either way.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the draws.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, n_bits), ``y_train`` of shape (n_train,),
        ``X_test`` of shape (n_test, n_bits), ``y_test`` of shape (n_test,), float64
        inputs and int64 labels in {0, 1}; ``relevant_features = [0, ..., k-1]``,
        ``concealed_features = [k, ..., n_bits-1]``, ``task``, ``params``.

    Raises
    ------
    ValueError
        If ``k > n_bits``, a size is negative, or ``encoding`` is unknown.
    TypeError
        If a size is not an int.

    Examples
    --------
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> data = make_sparse_parity(n_bits=20, k=3, n_train=100, n_test=50, random_state=0)
    >>> data.X_train.shape, data.X_test.shape, sorted(set(data.y_train.tolist()))
    ((100, 20), (50, 20), [0, 1])
    """
    k = check_number(k, "k", Integral, min_val=1)
    n_bits = check_number(n_bits, "n_bits", Integral, min_val=1)
    if k > n_bits:
        raise InputError(f"k must be <= n_bits; got k={k}, n_bits={n_bits}.")
    n_train = check_number(n_train, "n_train", Integral, min_val=1)
    n_test = check_number(n_test, "n_test", Integral, min_val=0)
    check_option(encoding, "encoding", {"01", "pm1"})

    rng = numpy_generator(random_state, "make_sparse_parity")
    bits = rng.integers(0, 2, size=(n_train + n_test, n_bits))
    y = bits[:, :k].sum(axis=1) % 2
    X = bits.astype(np.float64)
    if encoding == "pm1":
        X = 2.0 * X - 1.0
    return make_bunch(
        X[:n_train], y[:n_train].astype(np.int64), X[n_train:], y[n_train:].astype(np.int64),
        task="sparse_parity",
        params=dict(n_bits=n_bits, k=k, n_train=n_train, n_test=n_test, encoding=encoding),
        relevant_features=np.arange(k),
        concealed_features=np.arange(k, n_bits),
    )


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % d for d in range(2, int(p**0.5) + 1))


MODULAR_OPERATIONS = {
    "add": lambda a, b, p: (a + b) % p,
    "sub": lambda a, b, p: (a - b) % p,
    "mul": lambda a, b, p: (a * b) % p,
    "div": lambda a, b, p: (a * np.array([pow(int(v), -1, p) for v in b], dtype=np.int64)) % p,
    "x2_xy_y2": lambda a, b, p: (a * a + a * b + b * b) % p,
    "x2_xy_y2_x": lambda a, b, p: (a * a + a * b + b * b + a) % p,
    "xyx": lambda a, b, p: (a * b * a) % p,
}
"""The binary operations of :func:`make_modular_arithmetic`, ``(a, b, p) -> label``."""


def make_modular_arithmetic(
    operation="add", p=97, *, train_fraction=0.5, sampling="split", n_train=None, n_test=None,
    random_state=None,
):
    """Modular arithmetic ``c = a ∘ b mod p`` as p-class classification.

    The operations follow Power et al. (2022, "Grokking: generalization beyond
    overfitting on small algorithmic datasets", appendix A.1.1) and the six tasks of
    Miller et al. (2023, sec. 4.2, experiment E8):

    ========== ====================== ==================================
    name       label                  domain
    ========== ====================== ==================================
    add        a + b mod p            a, b in [0, p)
    sub        a − b mod p            a, b in [0, p)
    mul        a · b mod p            a, b in [0, p)
    div        a · b⁻¹ mod p          a in [0, p), b in [1, p); p prime
    x2_xy_y2   a² + ab + b² mod p     a, b in [0, p)
    x2_xy_y2_x a² + ab + b² + a mod p a, b in [0, p)
    xyx        a · b · a mod p        a, b in [0, p)
    ========== ====================== ==================================

    The input is ``one-hot(a) ‖ one-hot(b)``, 2p dimensions.

    Parameters
    ----------
    operation : str, default="add"
        One of the names above.
    p : int, default=97
        Modulus and number of classes (``p >= 2``; prime for ``"div"``).
    train_fraction : float, default=0.5
        Fraction of the distinct pairs used for training, in (0, 1); ignored where
        ``n_train`` is given.
    sampling : {"split", "with_replacement"}, default="split"
        ``"split"`` partitions the distinct pairs into disjoint training and test sets
        (no pair is in both). ``"with_replacement"`` reproduces the sampler of Miller
        et al.'s code: ``n_train + n_test`` pairs drawn uniformly *with replacement*,
        then split, so **training and test sets share pairs** (with p = 7 there are
        only 49 pairs); test accuracy then measures whether the model ignores the
        concealed dimensions rather than whether it generalises to unseen pairs.
    n_train, n_test : int or None, default=None
        Sizes. With ``"split"``, ``n_train`` defaults to ``round(train_fraction *
        n_pairs)`` and ``n_test`` to the remaining pairs; their sum may not exceed
        the number of pairs. With ``"with_replacement"`` they default to the same
        numbers and may be any size.
    random_state : None, int, numpy.random.Generator or RandomState, default=None
        Seed of the shuffling / sampling.

    Returns
    -------
    data : sklearn.utils.Bunch
        ``X_train`` of shape (n_train, 2p), ``y_train`` of shape (n_train,),
        ``X_test``, ``y_test``; float64 one-hot inputs, int64 labels in [0, p);
        ``pairs_train``/``pairs_test`` of shape (n, 2) holding ``(a, b)``; all
        features relevant, none concealed.

    Raises
    ------
    ValueError
        If ``operation`` or ``sampling`` is unknown, ``p < 2``, ``p`` is not prime for
        ``"div"``, ``train_fraction`` is outside (0, 1), a size is negative or zero
        for training, or the split sizes exceed the number of distinct pairs.

    Examples
    --------
    >>> from grokbeyond.datasets import make_modular_arithmetic
    >>> data = make_modular_arithmetic("add", p=7, train_fraction=0.5, random_state=0)
    >>> data.X_train.shape, data.X_test.shape  # one-hot(a) ‖ one-hot(b); 49 pairs split
    ((24, 14), (25, 14))
    """
    check_option(operation, "operation", MODULAR_OPERATIONS.keys())
    check_option(sampling, "sampling", {"split", "with_replacement"})
    p = check_number(p, "p", Integral, min_val=2)
    if operation == "div" and not _is_prime(p):
        raise InputError(f"p must be prime for operation='div' (b must be invertible); got p={p}.")
    train_fraction = check_number(
        train_fraction, "train_fraction", Real, min_val=0.0, max_val=1.0, include_boundaries="neither"
    )
    a, b = np.meshgrid(np.arange(p), np.arange(1 if operation == "div" else 0, p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1).astype(np.int64)
    n_pairs = len(pairs)
    if n_train is None:
        n_train = max(1, round(train_fraction * n_pairs))
    n_train = check_number(n_train, "n_train", Integral, min_val=1)
    if n_test is None:
        n_test = max(0, n_pairs - n_train)
    n_test = check_number(n_test, "n_test", Integral, min_val=0)

    rng = numpy_generator(random_state, "make_modular_arithmetic")
    if sampling == "split":
        if n_train + n_test > n_pairs:
            raise InputError(
                f"n_train + n_test must be <= the {n_pairs} distinct pairs with sampling='split'; "
                f"got {n_train} + {n_test}."
            )
        chosen = pairs[rng.permutation(n_pairs)[: n_train + n_test]]
    else:
        chosen = pairs[rng.integers(0, n_pairs, size=n_train + n_test)]

    labels = MODULAR_OPERATIONS[operation](chosen[:, 0], chosen[:, 1], p).astype(np.int64)
    X = np.zeros((len(chosen), 2 * p))
    X[np.arange(len(chosen)), chosen[:, 0]] = 1.0
    X[np.arange(len(chosen)), p + chosen[:, 1]] = 1.0
    return make_bunch(
        X[:n_train], labels[:n_train], X[n_train:], labels[n_train:],
        task=f"modular_{operation}",
        params=dict(operation=operation, p=p, train_fraction=train_fraction, sampling=sampling,
                    n_train=n_train, n_test=n_test),
        relevant_features=np.arange(2 * p),
        concealed_features=np.array([], dtype=int),
        pairs_train=chosen[:n_train],
        pairs_test=chosen[n_train:],
    )
