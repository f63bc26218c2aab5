import pytest

from grokbeyond.datasets import make_sparse_parity


@pytest.fixture(scope="session")
def small_parity():
    """Concealed parity small enough to grok in ~1 s: k=2 of 30 bits, 200 / 100 points."""
    return make_sparse_parity(n_bits=30, k=2, n_train=200, n_test=100, random_state=0)
