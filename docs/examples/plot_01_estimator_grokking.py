"""
One estimator that groks
========================

A Gaussian-process classifier on *sparse parity with concealed dimensions* (Miller,
O'Neill & Bui 2023, experiment E1, at a small size): the label is the parity of three
bits, and thirty further bits, drawn independently of the label, are appended to every
input. The GP fits its 200 training points almost at once, but generalises only once
gradient descent on its variational objective has stretched the lengthscales of the
thirty spurious dimensions: the test accuracy jumps well after the train accuracy, which
is grokking.
"""

# %%
# The data
# --------
# :func:`~grokbeyond.datasets.make_sparse_parity` draws the task; with ``n_bits=3`` and
# ``k=3`` every bit is relevant. :func:`~grokbeyond.datasets.conceal` appends the spurious
# bits from a random stream of its own.
from grokbeyond.datasets import conceal, make_sparse_parity

data = make_sparse_parity(n_bits=3, k=3, n_train=200, n_test=200, random_state=0)
data = conceal(data, 30, random_state=0)
data.X_train.shape, data.relevant_features, data.concealed_features[:5]

# %%
# Fitting, with the test split watched
# ------------------------------------
# Every estimator records its trajectory during ``fit``: with ``eval_set`` it evaluates
# the test split too, every ``eval_every`` steps. ``history_`` is a tidy DataFrame with
# one row per evaluated step and split.
from grokbeyond.models import GPClassifier

clf = GPClassifier(max_iter=120, lr=0.05, eval_every=2, random_state=0)
clf.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
clf.history_[["step", "split", "objective", "data_fit", "complexity", "accuracy"]].head(6)

# %%
# Detecting grokking
# ------------------
# :func:`~grokbeyond.detect_grokking` reads the first step at which the train and the
# test accuracy reach the threshold (0.95), the gap between them and the phase.
from grokbeyond import detect_grokking

result = detect_grokking(clf.history_, threshold=0.95)
result

# %%
# The train and test curves, and the lengthscales
# -----------------------------------------------
# The GP's history also records each input dimension's lengthscale
# (``lengthscale_0``, ``lengthscale_1``, ...): those of the three relevant bits stay
# short while those of the spurious bits grow, and the test accuracy rises as they do.
import matplotlib.pyplot as plt
import numpy as np

history = clf.history_
train = history[history["split"] == "train"]
test = history[history["split"] == "test"]

fig, (ax_acc, ax_len) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
ax_acc.plot(train["step"], train["accuracy"], label="train")
ax_acc.plot(test["step"], test["accuracy"], label="test")
ax_acc.axvline(result.t_memorise, color="C0", ls=":", label=f"memorised (step {result.t_memorise})")
ax_acc.axvline(result.t_generalise, color="C1", ls=":", label=f"generalised (step {result.t_generalise})")
ax_acc.set(xlabel="optimisation step", ylabel="accuracy", title=f"{result.phase}: gap {result.gap} steps")
ax_acc.legend(loc="lower right")

lengthscales = train[[f"lengthscale_{i}" for i in range(data.X_train.shape[1])]].to_numpy()
relevant, concealed = data.relevant_features, data.concealed_features
ax_len.semilogy(train["step"], lengthscales[:, relevant], color="C2", lw=1)
ax_len.semilogy(train["step"], np.median(lengthscales[:, concealed], axis=1), color="C3", lw=2)
ax_len.plot([], [], color="C2", label="relevant bits (each)")
ax_len.plot([], [], color="C3", lw=2, label="concealed bits (median)")
ax_len.axvline(result.t_generalise, color="C1", ls=":")
ax_len.set(xlabel="optimisation step", ylabel="lengthscale", title="what the GP learns")
ax_len.legend()
plt.show()

# %%
# The report's figure of the same run
# -----------------------------------
# :func:`~grokbeyond.report.plot_trajectories` draws the metric and the two terms of the
# objective (the data fit and the complexity term, nats per datapoint) for any number of
# runs, with a band over seeds; it returns a :class:`matplotlib.figure.Figure`.
from grokbeyond.report import plot_trajectories

fig = plot_trajectories(history.assign(seed=0), title="GP classifier, parity of 3 bits + 30 concealed")
