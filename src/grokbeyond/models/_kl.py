"""KL divergences between Gaussians with closed-form gradients: the complexity terms.

:func:`gaussian_kl` is a GP's (a full-covariance q against the GP prior);
:func:`mean_field_kl` a Bayesian network's (a diagonal q against an isotropic prior).

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

import math

import torch

__all__ = ["gaussian_kl", "mean_field_kl"]


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


class _MeanFieldKL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, loc, log_scale, prior_scale):
        variance = log_scale.mul(2).exp_()
        inverse = 1.0 / prior_scale**2
        terms = (variance + loc.square()).mul_(0.5 * inverse).sub_(log_scale)
        ctx.save_for_backward(loc, variance)
        ctx.inverse = inverse
        n = loc[0].numel() if loc.ndim else 1
        return terms.flatten(1).sum(1) + n * (math.log(prior_scale) - 0.5)

    @staticmethod
    def backward(ctx, grad):
        loc, variance = ctx.saved_tensors
        scale = grad.reshape(-1, *([1] * (loc.ndim - 1)))
        grad_loc = (scale * ctx.inverse) * loc if ctx.needs_input_grad[0] else None
        grad_log_scale = scale * (variance * ctx.inverse - 1.0) if ctx.needs_input_grad[1] else None
        return grad_loc, grad_log_scale, None


def mean_field_kl(loc: torch.Tensor, log_scale: torch.Tensor, prior_scale: float) -> torch.Tensor:
    """KL(N(μ, diag s²) ‖ N(0, σₚ²I)) per replicate, with its closed-form gradient.

    KL = Σᵢ [log(σₚ/sᵢ) + (sᵢ² + μᵢ²)/(2σₚ²) − ½], ∂KL/∂μ = μ/σₚ², ∂KL/∂log s = s²/σₚ² − 1
    (the complexity term of a mean-field Bayesian network, Blundell et al. 2015; Miller,
    O'Neill & Bui 2023, eq. 4).

    Parameters
    ----------
    loc, log_scale : torch.Tensor of shape (R, ...)
        μ and log s, a leading replicate axis.
    prior_scale : float
        σₚ.

    Returns
    -------
    torch.Tensor of shape (R,)
        Nats, summed over all but the replicate axis.
    """
    return _MeanFieldKL.apply(loc, log_scale, float(prior_scale))
