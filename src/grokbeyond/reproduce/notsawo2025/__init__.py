"""Notsawo, Dumas & Rabusseau (2025), *Grokking beyond the Euclidean norm of model parameters*

arXiv 2506.05718, ICML 2025; code ``Tikquuss/grokking_beyong_l2_norm``. Sparse recovery
(compressed sensing) by subgradient descent: with an ℓ1 penalty the model memorises the
measurements first and recovers the sparse signal Δt ≈ c/(αβ) steps later; with ℓ2 alone it
never recovers. Suites at the settings of the authors' code (``shared/reference/README.md``),
claims (``claims.py``) and page (``page.py``).
"""

#: Run order: the longest runs first.
SUITES = ("notsawo2025-reference", "notsawo2025-delay-law")
