"""
Your own family and dataset
===========================

A *family* is a :class:`~grokbeyond.models.TrajectoryEstimator` subclass: it builds its
model, names its optimiser and splits its objective into a data-fit and a complexity
term; the base class's one training loop does the rest (the ``history_``, ``eval_set``,
``warm_start``, callbacks, numerical checks). A *dataset* is a function of its parameters
and ``random_state`` that returns a :class:`~sklearn.utils.Bunch` with ``X_train,
y_train, X_test, y_test``. Registered under a name with
:func:`~grokbeyond.registry.register_family` and
:func:`~grokbeyond.registry.register_dataset`, both can be used by suites,
:func:`~grokbeyond.compare` and the command line like the built-in ones.

Here the family is softmax regression with an ℓ1 penalty, trained by (sub)gradient
descent, and the dataset a sparse rule in many Gaussian dimensions: the label is the
sign of the sum of three of them. With more dimensions than training points the training
set is fitted at once through all of them; the ℓ1 penalty then slowly prunes the
irrelevant weights, and the test accuracy follows.
"""

# %%
# The family
# ----------
# The contract, written in full in :class:`~grokbeyond.models.TrajectoryEstimator`'s
# docstring: ``__init__`` stores the parameters (scikit-learn's convention), including
# the shared ``max_iter``, ``eval_every``, ``warm_start``, ``random_state`` and
# ``verbose``; ``_build`` creates the fitted model from training tensors with a leading
# replicate axis R, drawing only from ``generator``; ``_make_optimizer`` returns a torch
# optimiser; ``_terms`` returns the per-replicate terms of shape (R,); a classifier
# implements ``_predict_proba``.
import torch

from grokbeyond.models import TrajectoryClassifier


class L1Logistic(TrajectoryClassifier):
    """Softmax regression with an ℓ1 penalty on the weights, by (sub)gradient descent.

    Parameters
    ----------
    l1_penalty : float, default=1e-2
        The penalty λ: ``complexity = λ ‖W‖₁``.
    lr : float, default=0.1
        Learning rate of plain SGD (full batch).
    init_scale : float, default=1.0
        Initial weights are ``N(0, init_scale² / n_features)``.
    max_iter, eval_every, warm_start, random_state, verbose
        As every family's.
    """

    def __init__(self, *, l1_penalty=1e-2, lr=0.1, init_scale=1.0, max_iter=1000, eval_every=1,
                 warm_start=False, random_state=None, verbose=False):
        self.l1_penalty = l1_penalty
        self.lr = lr
        self.init_scale = init_scale
        self.max_iter = max_iter
        self.eval_every = eval_every
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _build(self, X, y, generator):
        n_replicates, _, n_features = X.shape
        weights = torch.randn(n_replicates, n_features, len(self.classes_), generator=generator,
                              dtype=X.dtype, device=X.device)
        self.weights_ = (self.init_scale / n_features**0.5 * weights).requires_grad_()

    def _make_optimizer(self):
        return torch.optim.SGD([self.weights_], lr=self.lr)

    def _log_proba(self, X):
        return torch.log_softmax(X @ self.weights_, dim=-1)

    def _terms(self, X, y, *, train):
        log_proba = self._log_proba(X)
        data_fit = -log_proba.gather(-1, y[..., None]).squeeze(-1).mean(-1)  # nats per datapoint
        complexity = self.l1_penalty * self.weights_.abs().sum((-2, -1))
        accuracy = (log_proba.argmax(-1) == y).to(X.dtype).mean(-1)
        return {"objective": data_fit + complexity, "data_fit": data_fit, "complexity": complexity,
                "loss": data_fit, "error": 1.0 - accuracy, "accuracy": accuracy,
                "l1_norm": self.weights_.detach().abs().sum((-2, -1))}  # an extra history_ column

    def _predict_proba(self, X):
        return self._log_proba(X).exp()


# %%
# The dataset
# -----------
import numpy as np
from sklearn.utils import Bunch


def make_sparse_majority(n_features=200, n_relevant=3, n_train=100, n_test=500, *, random_state=None):
    """Gaussian inputs; the label is 1 where the first ``n_relevant`` inputs sum above 0."""
    rng = np.random.default_rng(random_state)
    X = rng.standard_normal((n_train + n_test, n_features))
    y = (X[:, :n_relevant].sum(axis=1) > 0).astype(int)
    return Bunch(X_train=X[:n_train], y_train=y[:n_train], X_test=X[n_train:], y_test=y[n_train:],
                 relevant_features=np.arange(n_relevant))


# %%
# Used directly, the family is a scikit-learn estimator like any other:
from grokbeyond import detect_grokking

data = make_sparse_majority(random_state=0)
model = L1Logistic(max_iter=2000, eval_every=20, init_scale=3.0, random_state=0)
model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
model.score(data.X_test, data.y_test), detect_grokking(model.history_, threshold=0.9).phase

# %%
# Registering both
# ----------------
# A registered object travels to the worker processes with each run, so a suite of it
# also runs with ``n_jobs=2`` or on Dask, even when it is defined in a notebook. (An
# installed package can instead declare entry points in the groups
# ``grokbeyond.families`` and ``grokbeyond.datasets``; a suite can also name
# ``"package.module:Class"`` directly.)
from grokbeyond.registry import family_names, register_dataset, register_family

register_family("l1-logistic", L1Logistic, replace=True)
register_dataset("sparse-majority", make_sparse_majority, replace=True)
family_names()

# %%
# A suite of them
# ---------------
# A sweep over the penalty, three seeds each, run into a store in a temporary folder. A
# suite is a dict of the TOML file's tables (see :doc:`/user_guide/suites`).
import tempfile

from grokbeyond.harness import load_results, run_suite

suite = {
    "name": "l1-sweep",
    "seeds": [0, 1, 2],
    "dataset": {"name": "sparse-majority", "n_features": 200},
    "model": {"family": "l1-logistic", "max_iter": 2000, "eval_every": 20, "init_scale": 3.0},
    "grid": {"model.l1_penalty": [0.0, 0.003, 0.01]},
}
workdir = tempfile.TemporaryDirectory()
run_suite(suite, workdir.name, progress=False)
histories, runs = load_results(workdir.name)

# %%
# Grokking per run, at 90% accuracy (the level this task's 100 training points allow):
# without the penalty, or with too weak a one, the model memorises and stays there within
# the budget; at λ = 0.01 it groks.
from grokbeyond.grokking import grokking_table

histories = histories.merge(runs[["run_id", "seed", "model.l1_penalty"]], on="run_id")
table = grokking_table(histories, by=["model.l1_penalty", "seed"], threshold=0.9)
table[["model.l1_penalty", "seed", "t_memorise", "t_generalise", "gap", "phase"]]

# %%
# :func:`~grokbeyond.report.plot_sweep` draws one line per penalty (mean and band over
# the seeds): train accuracy, test accuracy and the complexity term.
from grokbeyond.report import plot_sweep

fig = plot_sweep(histories, by="model.l1_penalty", title="ℓ1 logistic regression on a sparse rule")

# %%
workdir.cleanup()
