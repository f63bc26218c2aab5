"""Progress measures of a learned feature matrix (Mallinar et al. 2025, sec. 3)."""

from __future__ import annotations

import torch

__all__ = ["agop_alignment", "circulant_deviation"]


def agop_alignment(M: torch.Tensor, M_final: torch.Tensor) -> torch.Tensor:
    """AGOP alignment: the cosine similarity of feature matrices.

    ``ρ(A, B) = ⟨A, B⟩_F / (‖A‖_F ‖B‖_F)``, uncentred, of the whole matrices. Mallinar
    et al. (2025, "Emergence in non-neural models: grokking modular arithmetic via
    average gradient outer product", ICML, sec. 3, "Progress measures") measure a
    model's feature matrix at iteration ``t`` against its own final one: 1 once the
    features have formed, rising *before* test accuracy does.

    Parameters
    ----------
    M : Tensor of shape (..., d, d)
        Feature matrices (e.g. an RFM's metric at every iteration).
    M_final : Tensor of shape (d, d) or broadcastable to ``M``
        The reference (the final feature matrix).

    Returns
    -------
    Tensor of shape (...)
        In [−1, 1]; NaN where a matrix is zero.

    Examples
    --------
    >>> import torch
    >>> from grokbeyond.models import agop_alignment
    >>> float(agop_alignment(2 * torch.eye(3), torch.eye(3)))
    1.0
    """
    inner = (M * M_final).sum((-2, -1))
    return inner / (M.square().sum((-2, -1)).sqrt() * M_final.square().sum((-2, -1)).sqrt())


def circulant_deviation(A: torch.Tensor) -> torch.Tensor:
    """Circulant deviation of a ``p × p`` block: how far it is from circulant.

    Mallinar et al. (2025, sec. 3, "Progress measures"): align the wrapped diagonals
    of ``A`` as columns, ``S(A)[ℓ, k] = A[ℓ, (k + ℓ) mod p]`` (row ``ℓ`` cyclically
    shifted by ``ℓ``), and sum their variances relative to the block's energy,

    ``D(A) = Σ_k Var(S(A)[:, k]) / ‖A‖²_F``, ``Var(v) = Σ_ℓ (v_ℓ − mean v)²``.

    ``D = 0`` exactly when ``A`` is circulant, ``A[ℓ, j] = c((j − ℓ) mod p)``: the
    structure of the bottom-left block ``M[p:2p, :p]`` of an RFM's feature matrix once
    it has learned modular addition on ``one-hot(a) ‖ one-hot(b)`` inputs (measured
    here: 0.02 after 20 iterations at p = 61, from 0.99 after the first). The paper's
    words ("shift the ℓ-th row by ℓ positions") leave the direction open; the other
    direction measures the anti-circulant (Hankel) structure instead, which stays
    near 1 on this trajectory, so it is not the measure whose fall the paper shows.
    For subtraction ``a − b`` the learned block is circulant up to reversing its rows
    (its entries depend on ``ℓ + j``; the paper's footnote 2 counts both kinds as
    circulant): pass ``A.flip(-2)`` (measured: 0.75 after one iteration, 0.02 after
    19, at p = 61). For multiplication and division the paper first reorders the
    block by the discrete logarithm (its app. E); pass the reordered block.

    Parameters
    ----------
    A : Tensor of shape (..., p, p)

    Returns
    -------
    Tensor of shape (...)
        In [0, 1] (0: circulant); NaN for a zero block (the identity metric's).

    Raises
    ------
    ValueError
        If the block is not square.

    Examples
    --------
    >>> import torch
    >>> from grokbeyond.models import circulant_deviation
    >>> i = torch.arange(5)
    >>> circulant = torch.cos(2 * torch.pi * ((i[None, :] - i[:, None]) % 5) / 5)
    >>> float(circulant_deviation(circulant)) < 1e-12
    True
    >>> float(circulant_deviation(torch.eye(5)[[1, 0, 2, 3, 4]])) > 0.5
    True
    """
    p = A.shape[-1]
    if A.shape[-2] != p:
        raise ValueError(f"circulant_deviation needs a square block; got shape {tuple(A.shape[-2:])}.")
    rows = torch.arange(p, device=A.device)
    index = (rows[None, :] + rows[:, None]) % p  # S[ℓ, k] = A[ℓ, (k + ℓ) mod p]
    shifted = A.gather(-1, index.expand(A.shape))
    variance = (shifted - shifted.mean(-2, keepdim=True)).square().sum((-2, -1))
    return variance / A.square().sum((-2, -1))


def kernel_agop(X: torch.Tensor, alpha: torch.Tensor, weights: torch.Tensor, *, centering: bool) -> torch.Tensor:
    """The (centred) AGOP of kernel predictors ``f = K α`` over their centres, before the metric.

    With ``w`` the kernel's gradient factor (``∇_x K_M(x, z) = −w M (x − z)``), the
    gradient of output ``c`` at centre ``x_j`` is ``M h_jc`` with
    ``h_jc = Σ_i w_ji α_ic (x_i − x_j) = [w (α_c ∘ X)]_j − s_jc x_j`` (``s = wα``). The
    ``h_jc`` are formed first, as the authors' code does (Mallinar et al. 2025; the RFM
    of Radhakrishnan et al. 2024), then centred over ``j`` and summed:
    ``(1/n) Σ_jc (h_jc − h̄_c)(h_jc − h̄_c)ᵀ`` (``h̄_c = 0`` without centring). Expanding
    that sum into one n × n quadratic form would be cheaper for dense inputs, but it
    squares the dual coefficients before they cancel: with an interpolating (ridge 0)
    solve and |α| ~ 1e8 it kept no correct digit and the RFM's metric collapsed to 0.

    Dense inputs cost n²·c·d operations (8 classes at a time); sparse ones (one-hot
    encodings: at most 1/16 of the entries non-zero) n·c·nnz(X), only the centres with
    ``x_ik ≠ 0`` entering feature ``k``. Both orders are exact to rounding.

    Parameters
    ----------
    X : Tensor of shape (R, n, d)
        The centres of ``R`` predictors.
    alpha : Tensor of shape (R, n, c)
        Their dual coefficients.
    weights : Tensor of shape (R, n, n)
        The kernel's gradient factor ``w_ji`` between centres.
    centering : bool
        Subtract each output's mean gradient (Mallinar et al.'s centred AGOP).

    Returns
    -------
    Tensor of shape (R, d, d)
        Multiply by the metric on both sides for the AGOP: ``M A M``.
    """
    n, d = X.shape[-2:]
    outputs = weights @ alpha  # s, (R, n, c)
    seconds = []
    for Xr, wr, ar, sr in zip(X, weights, alpha, outputs):
        if 16 * torch.count_nonzero(Xr) <= Xr.numel():
            seconds.append(_sparse_second(Xr, wr, ar, sr, centering))
        else:
            seconds.append(_dense_second(Xr, wr, ar, sr, centering))
    return torch.stack(seconds) / n


def _sparse_second(X, w, alpha, outputs, centering):
    """Σ_jc h_jc h_jcᵀ of one predictor, feature by feature over the centres that have it."""
    n, d = X.shape
    transposed = w.mT.contiguous()  # w[:, rows] as contiguous rows of wᵀ
    h = X.new_empty(d, n, alpha.shape[-1])  # h[k, j, c]
    for k in range(d):
        rows = X[:, k].nonzero().squeeze(-1)
        torch.addmm(outputs * X[:, k, None], transposed.index_select(0, rows).mT, alpha[rows] * X[rows, k, None],
                    beta=-1, out=h[k])
    if centering:
        h -= h.mean(-2, keepdim=True)
    h = h.view(d, -1)
    return h @ h.mT


def _dense_second(X, w, alpha, outputs, centering, block=8):
    """Σ_jc h_jc h_jcᵀ of one predictor, ``block`` classes at a time ((n, n) × (n, block·d))."""
    n, d = X.shape
    second = X.new_zeros(d, d)
    for start in range(0, alpha.shape[-1], block):
        a, s = alpha[:, start:start + block], outputs[:, start:start + block]
        h = (w @ (a[:, :, None] * X[:, None, :]).reshape(n, -1)).view(n, -1, d)
        h -= s[:, :, None] * X[:, None, :]
        if centering:
            h -= h.mean(0)
        h = h.view(-1, d)
        second += h.mT @ h
    return second
