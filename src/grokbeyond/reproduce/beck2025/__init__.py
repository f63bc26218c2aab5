"""Beck, Levi & Bar-Sinai (2025), *Grokking at the edge of linear separability*

arXiv 2410.04489, ICML 2025 (no public code). Logistic regression with a bias on a
constant label and Gaussian inputs (:func:`~grokbeyond.datasets.make_two_gaussians`,
:class:`~grokbeyond.models.LogisticRegression`) generalises perfectly if and only if its
training set is not separable from the origin, and near the edge, λ = d/N → ½, it memorises
long before it generalises. With the i.i.d. falsification test of Das, Vedantam &
Lakshminarayanan (2026, arXiv 2602.08302) on the same family: the suites (``suites/``),
the claims (``claims.py``) and the page (``page.py``).
"""

#: Run order: the longest runs first.
SUITES = ("beck2025-ratio", "beck2025-noise", "beck2025-das")
