"""KL divergence between Gaussians with a closed-form gradient: the complexity term of a GP.

A variational GP's complexity term is KL(q(u) ‖ p(u)) with q = N(m, LLᵀ) (L lower
triangular, the Cholesky parameterisation of q's covariance) and p = N(μ, K) the prior
at the inducing points (Miller, O'Neill & Bui 2023, eq. 2; Hensman et al. 2015, eq. 4):

    KL = ½ [log|K| − log|LLᵀ| + tr(K⁻¹LLᵀ) + (m − μ)ᵀK⁻¹(m − μ) − M].

Autograd through a Cholesky factorisation and a triangular solve with M right-hand
sides (what gpytorch's ``kl_divergence`` differentiates) costs several M³ operations
of the slow, sequential kind. The gradient has a closed form in matrix products,

    ∂KL/∂K = ½ (K⁻¹ − WWᵀ − aaᵀ),   ∂KL/∂m = a,   ∂KL/∂L = W − diag(1/Lᵢᵢ),

with W = K⁻¹L and a = K⁻¹(m − μ), so one Cholesky factor, its inverse and two matrix
products serve both passes (Murray 2016, "Differentiation of the Cholesky
decomposition", for the identities).
"""

from __future__ import annotations

import torch

__all__ = ["gaussian_kl"]


class _GaussianKL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, covariance, difference, chol):
        from linear_operator.utils.cholesky import psd_safe_cholesky  # gpytorch's factorisation, jitter retries

        factor = psd_safe_cholesky(covariance)
        inverse = torch.cholesky_inverse(factor)
        W = inverse @ chol
        a = (inverse @ difference.unsqueeze(-1)).squeeze(-1)
        log_det_K = 2.0 * factor.diagonal(dim1=-2, dim2=-1).log().sum(-1)
        diagonal = chol.diagonal(dim1=-2, dim2=-1)
        log_det_S = 2.0 * diagonal.abs().log().sum(-1)
        trace = (W * chol).sum((-2, -1))
        ctx.save_for_backward(inverse, W, a, diagonal)
        return 0.5 * (log_det_K - log_det_S + trace + (a * difference).sum(-1) - covariance.shape[-1])

    @staticmethod
    def backward(ctx, grad):
        inverse, W, a, diagonal = ctx.saved_tensors
        scale = grad[..., None, None]
        grad_covariance = grad_difference = grad_chol = None
        if ctx.needs_input_grad[0]:
            grad_covariance = (0.5 * scale) * (inverse - W @ W.transpose(-2, -1) - a.unsqueeze(-1) * a.unsqueeze(-2))
        if ctx.needs_input_grad[1]:
            grad_difference = grad[..., None] * a
        if ctx.needs_input_grad[2]:
            grad_chol = scale * (W - torch.diag_embed(1.0 / diagonal))
        return grad_covariance, grad_difference, grad_chol


def gaussian_kl(covariance: torch.Tensor, difference: torch.Tensor, chol: torch.Tensor) -> torch.Tensor:
    """KL(N(μ + d, LLᵀ) ‖ N(μ, K)) per batch element, with its closed-form gradient.

    Parameters
    ----------
    covariance : torch.Tensor of shape (..., M, M)
        K, the prior covariance (any jitter included), symmetric positive definite.
    difference : torch.Tensor of shape (..., M)
        d = m − μ, the variational mean minus the prior mean.
    chol : torch.Tensor of shape (..., M, M)
        L, lower triangular (entries above the diagonal must be zero: pass
        ``parameter.tril()``, whose backward masks the gradient).

    Returns
    -------
    torch.Tensor of shape (...)
        The KL divergence in nats, summed over the M dimensions.

    Raises
    ------
    linear_operator.utils.errors.NotPSDError
        If K is not positive definite even with linear_operator's jitter retries.
    """
    return _GaussianKL.apply(covariance, difference, chol)
