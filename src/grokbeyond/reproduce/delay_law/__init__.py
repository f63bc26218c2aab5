"""The delay law across families: Δt against lr × weight decay, and Δt predicted from ‖θ‖² at memorisation

Notsawo, Dumas & Rabusseau (2025, arXiv 2506.05718) prove that (sub)gradient descent with step α
on g + β·h generalises Δt = Θ(1/(αβ)) steps after it memorises; for transformers, Khanh et al.
(2026, arXiv 2603.13331 and 2605.18845) find the delay inverse in learning rate and weight decay
and predict it at memorisation from the squared parameter norm, Δt ≈ log(‖θ_mem‖²/V★)/(2κ·lr·wd)
(17.7% mean absolute percentage error on 26 held-out runs). This study measures both for every
gradient-trained family with an explicit complexity term, each on a task where it groks: the
suites (``suites/``, one per family, a 4 × 4 log grid), the claims (``claims.py``) and the page
(``page.py``).
"""

#: Run order: the longest runs first.
SUITES = ("delay-law-bnn", "delay-law-mlp", "delay-law-logistic", "delay-law-linear-l1", "delay-law-linear-l2")
