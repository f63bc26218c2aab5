"""Mallinar et al. (2025), *Emergence in non-neural models: grokking modular arithmetic via average gradient outer product*

Mallinar, Beaglehole, Zhu, Radhakrishnan, Pandit & Belkin, arXiv 2407.20199, ICML 2025.
A Recursive Feature Machine (:class:`~grokbeyond.models.RFMClassifier`) on modular
addition at the settings of the authors' code (``nmallinar/rfm-grokking``,
``train_kernel.py`` defaults; ``shared/reference/README.md``), with the paper's progress
measures; the claims (``claims.py``) and the page (``page.py``).
"""

#: Run order: the longest runs first.
SUITES = ("mallinar2025-rfm-add",)
