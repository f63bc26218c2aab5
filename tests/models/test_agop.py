"""The progress measures of a feature matrix: circulant deviation and AGOP alignment."""

import numpy as np
import pytest
import torch
from grokbeyond.models import agop_alignment, circulant_deviation


@pytest.mark.parametrize("p", [2, 3, 7, 12])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_circulant_blocks_have_zero_deviation_and_shuffled_ones_do_not(p, seed):
    generator = torch.Generator().manual_seed(seed)
    c = torch.randn(p, generator=generator, dtype=torch.float64)
    i = torch.arange(p)
    circulant = c[(i[None, :] - i[:, None]) % p]  # A[l, j] = c(j − l)
    assert float(circulant_deviation(circulant)) < 1e-12
    noisy = circulant + torch.randn(p, p, generator=generator, dtype=torch.float64)
    deviation = float(circulant_deviation(noisy))
    assert 0.0 < deviation <= 1.0 + 1e-12


def test_deviation_is_the_variance_of_the_wrapped_diagonals_over_the_energy():
    A = torch.tensor([[1.0, 2.0, 3.0], [0.0, 1.0, 5.0], [2.0, 3.0, 1.0]], dtype=torch.float64)
    # Wrapped diagonals j − l ≡ k: k = 0: (1, 1, 1); k = 1: (2, 5, 2); k = 2: (3, 0, 3).
    variances = 0.0 + (2 * 1**2 + 2**2) + (2 * 1**2 + 2**2)
    assert float(circulant_deviation(A)) == pytest.approx(variances / float(A.square().sum()))
    batch = torch.stack([A, 2 * A])  # scale-free, batched
    np.testing.assert_allclose(circulant_deviation(batch), [variances / float(A.square().sum())] * 2)
    assert float(circulant_deviation(torch.ones(3, 3))) == 0.0
    with pytest.raises(ValueError, match="square"):
        circulant_deviation(torch.ones(2, 3))


def test_alignment_is_the_cosine_similarity_of_the_matrices():
    generator = torch.Generator().manual_seed(0)
    A, B = torch.randn(2, 4, 4, generator=generator, dtype=torch.float64)
    expected = float((A * B).sum() / (A.norm() * B.norm()))
    assert float(agop_alignment(A, B)) == pytest.approx(expected)
    assert float(agop_alignment(3 * B, B)) == pytest.approx(1.0)
    np.testing.assert_allclose(agop_alignment(torch.stack([A, B]), B), [expected, 1.0])
