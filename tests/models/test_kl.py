import pytest
import torch

from grokbeyond.models._kl import gaussian_kl, mean_field_kl


def _problem(seed=0, n=6, batch=2):
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(batch, n, n, generator=generator, dtype=torch.float64)
    K = A @ A.transpose(-1, -2) + n * torch.eye(n, dtype=torch.float64)
    d = torch.randn(batch, n, generator=generator, dtype=torch.float64)
    L = torch.randn(batch, n, n, generator=generator, dtype=torch.float64)
    return K, d, L


def test_value_is_torchs_kl_between_the_gaussians():
    K, d, L = _problem()
    chol = L.tril()
    q = torch.distributions.MultivariateNormal(d, scale_tril=chol.abs().diagonal(dim1=-2, dim2=-1).diag_embed()
                                               + chol.tril(-1))
    p = torch.distributions.MultivariateNormal(torch.zeros_like(d), covariance_matrix=K)
    torch.testing.assert_close(gaussian_kl(K, d, q.scale_tril), torch.distributions.kl_divergence(q, p))


def test_closed_form_gradient_matches_finite_differences():
    K, d, L = _problem(1)

    def kl(K, d, L):
        return gaussian_kl(0.5 * (K + K.transpose(-1, -2)), d, L.tril())

    assert torch.autograd.gradcheck(kl, (K.requires_grad_(), d.requires_grad_(), L.requires_grad_()))


def test_a_covariance_that_is_not_positive_definite_is_named():
    from linear_operator.utils.errors import NotPSDError
    from linear_operator.utils.warnings import NumericalWarning

    K, d, L = _problem()
    with pytest.warns(NumericalWarning, match="added jitter"), pytest.raises(NotPSDError):
        gaussian_kl(-K, d, L.tril())


def test_mean_field_kl_value_and_gradient():
    generator = torch.Generator().manual_seed(0)
    loc = torch.randn(3, 4, 5, generator=generator, dtype=torch.float64, requires_grad=True)
    log_scale = (0.3 * torch.randn(3, 4, 5, generator=generator, dtype=torch.float64)).requires_grad_()
    q = torch.distributions.Normal(loc, log_scale.exp())
    p = torch.distributions.Normal(torch.zeros_like(loc), torch.full_like(loc, 1.5))
    torch.testing.assert_close(mean_field_kl(loc, log_scale, 1.5),
                               torch.distributions.kl_divergence(q, p).flatten(1).sum(1))
    assert torch.autograd.gradcheck(lambda m, s: mean_field_kl(m, s, 1.5), (loc, log_scale))
