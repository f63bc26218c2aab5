"""Levi, Beck & Bar-Sinai (2023), *Grokking in linear estimators – a solvable model that groks without understanding*

arXiv 2310.16441, ICLR 2024. A linear student learns a linear teacher from Gaussian inputs
by full-batch gradient descent (:class:`~grokbeyond.models.LinearRegression` on
:func:`~grokbeyond.datasets.make_linear_teacher`); a sample counts as correct when its
squared error is below ε. Every run is set beside the exact solution on its own training
design and beside the large-d (Marchenko–Pastur) limit (:mod:`grokbeyond.theory`): the
suites (``suites/``), the claims (``claims.py``) and the page (``page.py``).
"""

#: Run order: the longest runs first.
SUITES = ("levi2023-output-dimension", "levi2023-weight-decay", "levi2023-ratio", "levi2023-threshold")
