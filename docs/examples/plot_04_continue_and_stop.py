"""
Continuing a fit, and stopping one
==================================

A grokking run may need far more steps than memorising does, and how many is not known in
advance. Two tools help: ``warm_start=True`` continues a fit where the last one stopped,
and callbacks (``fit(..., callbacks=[...])``) watch every evaluated step, can add columns
to ``history_``, and can stop the fit.

The model is a logistic regression on
:func:`~grokbeyond.datasets.make_competing_features`: every training example has a
feature of its own, through which the training set is fitted at once (memorised), while
ten shared *signal* features carry the rule. Weight decay slowly moves the weights from
the first route to the second, and the test accuracy rises thousands of steps later.
"""

# %%
# The task
# --------
from grokbeyond.datasets import make_competing_features

data = make_competing_features(n_train=400, n_signal=10, signal_scale=0.1, memorisation_scale=20, random_state=0)
eval_set = (data.X_test, data.y_test)
data.X_train.shape

# %%
# Continuing a fit with ``warm_start``
# ------------------------------------
# With ``warm_start=True`` a second ``fit`` goes on from where the first stopped
# (parameters, optimiser state, random streams) and ``history_`` goes on from step
# ``n_iter_``. Two fits of 400 steps record exactly what one fit of 800 steps does.
from grokbeyond.models import LogisticRegression

params = dict(fit_intercept=False, init_scale=30, eval_every=100, random_state=0)
model = LogisticRegression(max_iter=400, warm_start=True, **params)
model.fit(data.X_train, data.y_train, eval_set=eval_set)
model.fit(data.X_train, data.y_train, eval_set=eval_set)

at_once = LogisticRegression(max_iter=800, **params).fit(data.X_train, data.y_train, eval_set=eval_set)
model.n_iter_, model.history_.equals(at_once.history_)

# %%
# Stopping a fit once it has grokked
# ----------------------------------
# :class:`~grokbeyond.models.StopOnGrokking` stops the fit once the test accuracy has held
# the threshold for ``n_evaluations`` evaluations in a row: the budget below is 30,000
# steps, but the fit ends soon after the test accuracy reaches 0.95.
#
# A callback is any function ``callback(estimator, rows)``, called at every evaluated step
# with that step's new ``history_`` rows; columns it adds to ``rows`` become columns of
# ``history_``. This one records the norms of the two groups of weights, read from the
# estimator's current ``coef_``.
import numpy as np

from grokbeyond.models import StopOnGrokking


def weight_norms(estimator, rows):
    coef = estimator.coef_
    rows["signal_norm"] = np.linalg.norm(coef[data.relevant_features])
    rows["memorisation_norm"] = np.linalg.norm(coef[data.memorisation_features])


stop = StopOnGrokking(threshold=0.95, n_evaluations=3)
model = LogisticRegression(max_iter=30_000, **params)
model.fit(data.X_train, data.y_train, eval_set=eval_set, callbacks=[weight_norms, stop])
stop.stopped_step_, model.n_iter_

# %%
# The run, its grokking step, and the two groups of weights: the report's
# :func:`~grokbeyond.report.plot_trajectories` draws any recorded columns in its right
# panel, the callback's included.
from grokbeyond import detect_grokking
from grokbeyond.report import plot_trajectories

result = detect_grokking(model.history_)
fig = plot_trajectories(model.history_.assign(seed=0), terms=("signal_norm", "memorisation_norm"),
                        title=f"{result.phase}, gap {result.gap} steps")
ax_acc, ax_norm = fig.axes
ax_acc.axvline(result.t_generalise, color="C1", ls=":", label=f"generalised (step {result.t_generalise})")
ax_acc.axvline(stop.stopped_step_, color="k", ls="--", label=f"stopped (step {stop.stopped_step_})")
ax_acc.legend(fontsize=7)
ax_norm.set(ylabel="weight norm", yscale="log")

# %%
# Stopping a fit that will not grok
# ---------------------------------
# Without weight decay nothing moves the weights off the memorising route: the test
# accuracy stays where it is. :class:`~grokbeyond.models.StopOnPlateau` (scikit-learn's
# ``n_iter_no_change`` / ``tol`` rule) stops the fit once the watched metric has not
# improved by ``tol`` for ``n_evaluations`` evaluations.
from grokbeyond.models import StopOnPlateau

plateau = StopOnPlateau(metric="accuracy", split="test", higher_is_better=True, n_evaluations=10, tol=0.01)
no_decay = LogisticRegression(max_iter=30_000, weight_decay=0.0, **params)
no_decay.fit(data.X_train, data.y_train, eval_set=eval_set, callbacks=[plateau])
plateau.stopped_step_, detect_grokking(no_decay.history_).phase

# %%
# A stopped fit can be continued like any other: with ``warm_start=True`` the next
# ``fit`` goes on from the step it stopped at.

# %%
# Pruning a hyperparameter search with Optuna
# -------------------------------------------
# A callback is also how a fit reports to `Optuna <https://optuna.org>`_ while it runs:
# it reports the test loss at each evaluation, and raises ``optuna.TrialPruned`` when the
# pruner judges the trial hopeless, which ends the fit at once (the estimator is left as it
# was before the fit). Here a median pruner stops the learning rates that are far behind
# the trials before them. (Optuna is an optional dependency; logging to MLflow or
# TensorBoard is the same pattern, see :doc:`/user_guide/notebooks`.)
import optuna


def objective(trial):
    def report(estimator, rows):
        test = rows[rows["split"] == "test"].iloc[0]
        trial.report(test["loss"], step=int(test["step"]))
        if trial.should_prune():
            raise optuna.TrialPruned()

    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    model = LogisticRegression(lr=lr, max_iter=3000, **params)
    model.fit(data.X_train, data.y_train, eval_set=eval_set, callbacks=[report])
    return model.history_["loss"].iloc[-1]  # the final test loss


optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.create_study(
    direction="minimize",
    sampler=optuna.samplers.TPESampler(seed=0),
    pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=500),
)
study.optimize(objective, n_trials=12)
study.trials_dataframe(attrs=("number", "params", "state", "value"))
