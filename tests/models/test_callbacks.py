"""Callbacks: stopping on grokking and on a plateau."""

import numpy as np
import pandas as pd
import pytest

from grokbeyond.datasets import make_sparse_parity
from grokbeyond.exceptions import InputError
from grokbeyond.models import LogisticRegression, StopOnGrokking, StopOnPlateau


def _rows(step, train=None, test=None, metric="accuracy"):
    rows = [("train", train)] + ([("test", test)] if test is not None else [])
    return pd.DataFrame({"step": [step] * len(rows), "split": [s for s, _ in rows], metric: [v for _, v in rows]})


def test_stop_on_grokking_waits_for_the_threshold_to_hold():
    stop = StopOnGrokking(threshold=0.9, n_evaluations=3)
    test = [0.5, 0.95, 0.5, 0.91, 0.92, 0.99]
    decisions = [stop(None, _rows(10 * i, 1.0, value)) for i, value in enumerate(test)]
    assert decisions == [False, False, False, False, False, True] and stop.stopped_step_ == 50


def test_stop_on_plateau_counts_evaluations_without_improvement():
    stop = StopOnPlateau(metric="objective", n_evaluations=2, tol=0.1)
    objective = [1.0, 0.5, 0.45, 0.44, 0.3, 0.29, 0.28]
    decisions = [stop(None, _rows(i, value, metric="objective")) for i, value in enumerate(objective)]
    assert decisions == [False, False, False, True, False, False, True]
    assert stop.best_ == 0.3 and stop.stopped_step_ == 6


def test_a_grokking_fit_stops_where_its_full_history_held_the_threshold():
    data = make_sparse_parity(n_bits=6, k=1, n_train=200, n_test=100, random_state=0)
    eval_set = (data.X_test, data.y_test)
    full = LogisticRegression(max_iter=3000, eval_every=10, random_state=0).fit(data.X_train, data.y_train,
                                                                                 eval_set=eval_set)
    test = full.history_[full.history_["split"] == "test"]
    held = (test["accuracy"] >= 0.95).rolling(2).sum().to_numpy() == 2
    expected = int(test["step"].to_numpy()[np.argmax(held)])
    assert held.any() and expected < 3000
    stop = StopOnGrokking(n_evaluations=2)
    stopped = LogisticRegression(max_iter=3000, eval_every=10, random_state=0).fit(
        data.X_train, data.y_train, eval_set=eval_set, callbacks=[stop])
    assert stopped.n_iter_ == stop.stopped_step_ == expected
    pd.testing.assert_frame_equal(stopped.history_, full.history_[full.history_["step"] <= expected]
                                  .reset_index(drop=True))
    np.testing.assert_array_equal(stopped.predict(data.X_test), LogisticRegression(
        max_iter=expected, eval_every=10, random_state=0).fit(data.X_train, data.y_train).predict(data.X_test))


def test_watching_the_test_split_needs_an_eval_set_and_settings_are_checked():
    data = make_sparse_parity(n_bits=6, k=1, n_train=50, n_test=20, random_state=0)
    model = LogisticRegression(max_iter=5, random_state=0)
    with pytest.raises(InputError, match="eval_set"):
        model.fit(data.X_train, data.y_train, callbacks=[StopOnGrokking()])
    with pytest.raises(InputError, match="not recorded"):
        model.fit(data.X_train, data.y_train, callbacks=[StopOnPlateau(metric="nosuch")])
    for bad in (dict(n_evaluations=0), dict(threshold=float("nan")), dict(split="valid")):
        with pytest.raises(InputError):
            StopOnGrokking(**bad)
    for bad in (dict(n_evaluations=True), dict(tol=-1.0), dict(split="valid")):
        with pytest.raises(InputError):
            StopOnPlateau(**bad)


def test_one_stopping_rule_watches_several_fits():
    data = make_sparse_parity(n_bits=6, k=1, n_train=50, n_test=20, random_state=0)
    stop = StopOnPlateau(n_evaluations=3, tol=1e-3)
    first = LogisticRegression(max_iter=20000, eval_every=100, random_state=0).fit(
        data.X_train, data.y_train, callbacks=[stop])
    second = LogisticRegression(max_iter=20000, eval_every=100, random_state=0).fit(
        data.X_train, data.y_train, callbacks=[stop])  # e.g. the next cross-validation fold
    assert first.n_iter_ == second.n_iter_ < 20000 and second.n_iter_ > 0


def test_the_optuna_pruning_recipe_prunes_a_hopeless_trial():
    # The README's recipe, run as written: a callback reports the test loss at each evaluation and
    # raises TrialPruned when Optuna's median rule says so (the accuracy would not tell the trials
    # apart: from zero weights, one step of any size classifies this task's test split perfectly).
    optuna = pytest.importorskip("optuna")
    data = make_sparse_parity(n_bits=6, k=1, n_train=200, n_test=100, random_state=0)

    def objective(trial):
        def prune(estimator, rows):
            test = rows[rows["split"] == "test"].iloc[0]
            trial.report(test["loss"], step=int(test["step"]))
            if trial.should_prune():
                raise optuna.TrialPruned()

        model = LogisticRegression(lr=trial.suggest_float("lr", 1e-6, 1.0, log=True), max_iter=200, eval_every=20,
                                   random_state=0)
        model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test), callbacks=[prune])
        return model.history_["loss"].iloc[-1]

    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=0),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=40))
    for lr in (0.5, 0.3, 1e-6):
        study.enqueue_trial({"lr": lr})
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study.optimize(objective, n_trials=3)
    states = [trial.state for trial in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2 + [optuna.trial.TrialState.PRUNED]
    assert study.trials[2].last_step == 40  # the first evaluation past the warm-up steps
    assert study.trials[2].intermediate_values[40] > 0.69 > 0.2 > study.best_value  # stuck near log 2


# mlflow 3.17's tracking store uses a loader strategy that SQLAlchemy 2.1 deprecates.
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")
def test_the_mlflow_logging_recipe_logs_every_evaluation(tmp_path, monkeypatch):
    mlflow = pytest.importorskip("mlflow")
    data = make_sparse_parity(n_bits=6, k=1, n_train=200, n_test=100, random_state=0)

    def log(estimator, rows):
        for _, row in rows.iterrows():
            mlflow.log_metric(f"{row['split']}_accuracy", row["accuracy"], step=int(row["step"]))

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")  # unset after the test
    with mlflow.start_run() as run:
        model = LogisticRegression(max_iter=100, eval_every=25, random_state=0)
        model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test), callbacks=[log])
    logged = mlflow.MlflowClient().get_metric_history(run.info.run_id, "test_accuracy")
    test = model.history_[model.history_["split"] == "test"]
    assert [(m.step, m.value) for m in logged] == list(zip(test["step"], test["accuracy"]))
