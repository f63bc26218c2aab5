"""
Comparing model families
========================

Is grokking a property of neural networks? :func:`grokbeyond.compare` runs several
families on the same data draws and seeds, through the harness, into one store, and
detects grokking in every run. Here four families meet the concealed parity task of the
first example at small step budgets: a Gaussian-process classifier, a Recursive Feature
Machine, an MLP and logistic regression.
"""

# %%
# Running the comparison
# ----------------------
# One suite per family, three seeds each, into a store in a temporary folder (a comparison
# resumes from its store like any sweep; rerunning this cell would train nothing).
# ``family_params`` sets each family's budget over ``compare``'s
# defaults, here kept small so the example runs in seconds.
import tempfile

from grokbeyond import compare

workdir = tempfile.TemporaryDirectory()
result = compare(
    "sparse_parity",
    ["gp-classifier", "rfm", "mlp", "logistic"],
    seeds=[0, 1, 2],
    dataset_params={"n_bits": 3, "k": 3, "n_train": 400, "n_test": 200},
    n_concealed=20,
    family_params={
        "gp-classifier": {"max_iter": 60, "lr": 0.05},
        "rfm": {"max_iter": 30},
        "mlp": {"hidden_size": 64, "max_iter": 1000, "eval_every": 20},
        "logistic": {"max_iter": 1000, "eval_every": 20},
    },
    results_dir=f"{workdir.name}/store",
)

# %%
# One row per family
# ------------------
# The phases of its seeds, the median steps at which train and test reach the threshold,
# the median gap with its bootstrap interval, the censored seeds (a threshold never
# reached in the budget) and the final test accuracy.
result.table.drop(columns=["runs of"])

# %%
# The trajectories side by side
# -----------------------------
# :func:`~grokbeyond.report.plot_comparison` draws a row per family: the train and test
# accuracy (left) and the training objective's data-fit and complexity terms (right),
# mean and band over the seeds. Step axes differ per row: an RFM step is one kernel solve
# and feature update, a GP, MLP or logistic step one gradient step.
from grokbeyond.report import plot_comparison

fig = plot_comparison(result.histories, by="family")

# %%
# The same comparison wrote a page (``README.md``, a figure and ``table.csv``) into
# ``STORE/report``; ``grokbeyond compare --dataset sparse_parity --families ...`` does all
# of this from the command line.
sorted(p.name for p in result.report_dir.iterdir())

# %%
workdir.cleanup()
