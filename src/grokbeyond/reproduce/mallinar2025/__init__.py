"""Mallinar et al. (2025), *Emergence in non-neural models: grokking modular arithmetic via average gradient outer product*

Mallinar, Beaglehole, Zhu, Radhakrishnan, Pandit & Belkin, arXiv 2407.20199, ICML 2025.
A Recursive Feature Machine (:class:`~grokbeyond.models.RFMClassifier`) on modular
addition (and subtraction, multiplication, division) at the settings of the authors' code (``nmallinar/rfm-grokking``,
``train_kernel.py`` defaults; ``shared/reference/README.md``), with the paper's progress
measures; beyond the paper, the RFM on Miller et al.'s (2023) concealed tasks (sparse
parity, E8's mod-7 tasks); the claims (``claims.py``) and the page (``page.py``).
"""

#: Run order: the longest runs first.
SUITES = ("mallinar2025-rfm-add", "mallinar2025-rfm-operations", "mallinar2025-rfm-concealed-parity",
          "mallinar2025-rfm-concealment-mod7")
