"""Miller, O'Neill & Bui (2023), *Grokking Beyond Neural Networks*

arXiv 2310.17247, TMLR 2024. Its experiments E1–E8 and E11 as suites (``suites/``), with
the settings and seeds of the paper's code (``shared/reference/README.md``), E1 also on
the CG/Lanczos solver the code ran, and E8 also on leak-free splits; the claims
(``claims.py``) and the page (``page.py``).
"""

#: Run order: the longest runs first, so that every worker stays busy to the end.
SUITES = (
    "miller2023-e1-cg-lanczos",
    "miller2023-e11-bnn-init-scale",
    "miller2023-e1-gp-parity",
    "miller2023-e1b-gp-parity-no-kl",
    "miller2023-e8-mlp-concealment",
    "miller2023-e8-mlp-concealment-leak-free",
    "miller2023-e7-linear-decoy-no-prior",
    "miller2023-e2-gp-step",
    "miller2023-e3-gp-regression",
    "miller2023-e5-linear-decoy-init",
    "miller2023-e4-linear-decoy",
)
