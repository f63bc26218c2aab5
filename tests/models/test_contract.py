"""The family checklist: every registered family passes these, at its defaults and a few steps.

A new family (one file plus one line in grokbeyond.registry) is picked up here by itself;
the contract is written in TrajectoryEstimator's docstring.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone, is_regressor
from sklearn.exceptions import NotFittedError

from grokbeyond.models import HISTORY_COLUMNS, TrajectoryClassifier, TrajectoryRegressor, evaluation_steps
from grokbeyond.registry import all_families

FAMILIES = all_families()
STEPS = 4


def _data(estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    if is_regressor(estimator):
        y = 2.0 * y - 1.0
    return X[:30], y[:30], X[30:], y[30:]


def _small(cls):
    """The family at its defaults, with a few steps evaluated every step (small hidden layers where
    the family has them, so the check stays fast)."""
    estimator = cls(max_iter=STEPS, eval_every=1, random_state=0)
    if "hidden_size" in estimator.get_params():
        estimator.set_params(hidden_size=8)
    return estimator


@pytest.fixture(params=FAMILIES, ids=[name for name, _ in FAMILIES])
def family(request):
    name, cls = request.param
    estimator = _small(cls)
    X, y, X_test, y_test = _data(estimator)
    fitted = clone(estimator).fit(X, y, eval_set=(X_test, y_test))
    return name, estimator, fitted, (X, y, X_test, y_test)


def test_is_a_trajectory_estimator_with_the_shared_parameters(family):
    _, estimator, _, _ = family
    assert isinstance(estimator, (TrajectoryClassifier, TrajectoryRegressor))
    assert {"max_iter", "eval_every", "random_state", "verbose", "warm_start", "device"} <= set(estimator.get_params())
    assert estimator.get_params()["device"] == "cpu"


def test_history_schema(family):
    _, _, fitted, _ = family
    history = fitted.history_
    assert list(history.columns[: len(HISTORY_COLUMNS)]) == list(HISTORY_COLUMNS)
    assert set(history["split"]) == {"train", "test"}
    np.testing.assert_array_equal(sorted(history["step"].unique()), evaluation_steps(STEPS, 1))
    assert len(history) == 2 * (STEPS + 1)
    assert not history[list(HISTORY_COLUMNS)].isna().any().any()
    assert all(pd.api.types.is_numeric_dtype(history[c]) for c in history.columns if c != "split")
    if isinstance(fitted, TrajectoryClassifier):
        np.testing.assert_allclose(history["error"], 1 - history["accuracy"])
    assert fitted.n_iter_ == STEPS


def test_terms_add_up_and_model_terms_are_shared_by_the_splits(family):
    _, _, fitted, _ = family
    history = fitted.history_
    np.testing.assert_allclose(history["objective"],
                               history["data_fit"] + history["complexity"] + fitted._objective_constant,
                               rtol=1e-5, atol=1e-6)
    for term in fitted._model_terms:
        pivot = history.pivot(index="step", columns="split", values=term)
        np.testing.assert_allclose(pivot["train"], pivot["test"])


def test_deterministic_and_leaves_the_global_rngs_alone(family):
    _, estimator, fitted, (X, y, X_test, y_test) = family
    torch.manual_seed(123)
    np.random.seed(123)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    again = clone(estimator).fit(X, y, eval_set=(X_test, y_test))
    pd.testing.assert_frame_equal(again.history_, fitted.history_)
    assert torch.equal(torch_state, torch.get_rng_state()), "fit must not draw from torch's global RNG"
    np.testing.assert_array_equal(numpy_state, np.random.get_state()[1])


def test_clone_round_trips_and_predictions_need_a_fit(family):
    _, estimator, fitted, (X, _, X_test, _) = family
    params = estimator.get_params()
    assert clone(estimator).get_params() == params and type(estimator)(**params).get_params() == params
    with pytest.raises(NotFittedError):
        clone(estimator).predict(X)
    assert fitted.predict(X_test).shape == (len(X_test),)


def test_a_fit_that_raises_leaves_the_estimator_as_it_was(family):
    # scikit-learn's convention: fitted only when fit returned; a failed refit keeps the previous fit.
    _, estimator, fitted, (X, y, X_test, y_test) = family
    fresh = clone(estimator)
    with pytest.raises(ValueError, match="NaN"):
        fresh.fit(np.where(np.eye(*X.shape, dtype=bool), np.nan, X), y)
    with pytest.raises(NotFittedError):
        fresh.predict(X)
    history, predictions = fitted.history_.copy(), fitted.predict(X_test)
    with pytest.raises(ValueError, match="features"):  # validation resets n_features_in_ to 2, then the eval set fails
        fitted.fit(X[:, :2], y, eval_set=(X_test, y_test))
    assert fitted.n_features_in_ == X.shape[1]
    pd.testing.assert_frame_equal(fitted.history_, history)
    np.testing.assert_array_equal(fitted.predict(X_test), predictions)


def test_a_refit_failing_numerically_keeps_the_previous_fit(family, monkeypatch):
    from grokbeyond.models import NumericalError, _recording

    _, estimator, fitted, (X, y, X_test, y_test) = family
    history, predictions = fitted.history_.copy(), fitted.predict(X_test)
    original, calls = _recording._evaluated, {"n": 0}

    def nan_at_the_third_record(engine, terms, *args, **kwargs):  # the training row of step 2 is not finite
        terms = original(engine, terms, *args, **kwargs)
        calls["n"] += kwargs.get("train", False)
        if kwargs.get("train") and calls["n"] == 3:
            terms = {**terms, "objective": terms["objective"] * float("nan")}
        return terms

    monkeypatch.setattr(_recording, "_evaluated", nan_at_the_third_record)
    with pytest.raises(NumericalError, match="step 2"):
        fitted.fit(X * 2.0, y, eval_set=(X_test, y_test))
    pd.testing.assert_frame_equal(fitted.history_, history)
    np.testing.assert_array_equal(fitted.predict(X_test), predictions)


def test_callbacks_see_each_evaluation_add_columns_and_stop_the_fit(family):
    _, estimator, fitted, (X, y, X_test, y_test) = family
    seen = []

    def watch(model, rows):
        seen.append(rows.copy())
        rows["norm_seen"] = float(rows["step"].iloc[0])  # a column the callback adds
        return int(rows["step"].iloc[0]) == 2  # stop after step 2

    stopped = clone(estimator).fit(X, y, eval_set=(X_test, y_test), callbacks=[watch])
    assert stopped.n_iter_ == 2 and stopped.history_["step"].max() == 2
    # The columns recorded step by step (not those completed from the whole trajectory, as the
    # RFM's alignment with its final metric) are the full fit's: stopping moves nothing.
    recorded = [c for c in seen[0].columns if c != "norm_seen"]
    expected = fitted.history_[fitted.history_["step"] <= 2].reset_index(drop=True)[recorded]
    pd.testing.assert_frame_equal(stopped.history_[recorded], expected)
    np.testing.assert_array_equal(stopped.history_["norm_seen"], stopped.history_["step"])
    pd.testing.assert_frame_equal(pd.concat(seen, ignore_index=True)[recorded].astype({"split": "category"}),
                                  expected.astype({"split": "category"}))  # the rows, as history_ holds them


def test_a_callback_that_raises_leaves_the_estimator_unfitted(family):
    _, estimator, _, (X, y, X_test, y_test) = family

    class Pruned(Exception):  # e.g. optuna.TrialPruned
        pass

    def prune(model, rows):
        if rows["step"].iloc[0] == 1:
            raise Pruned

    model = clone(estimator)
    with pytest.raises(Pruned):
        model.fit(X, y, eval_set=(X_test, y_test), callbacks=[prune])
    with pytest.raises(NotFittedError):
        model.predict(X_test)
    with pytest.raises(ValueError, match="callbacks must be a sequence of callables"):
        clone(estimator).fit(X, y, callbacks=prune)


def _three_classes(X, X_test):
    return np.digitize(X[:, 1], [-0.5, 0.5]), np.digitize(X_test[:, 1], [-0.5, 0.5])


@pytest.mark.parametrize("n_classes", [2, 3])
def test_a_warm_started_fit_continues_the_fit_it_follows(family, n_classes):
    """fit(4 steps) then fit(4 more) with warm_start records fit(8 steps)'s history and
    ends in its state: parameters, optimiser state and random streams go on (three classes:
    the GP classifier's sampled softmax likelihood draws in every pass)."""
    _, estimator, _, (X, y, X_test, y_test) = family
    if n_classes == 3:
        if is_regressor(estimator):
            pytest.skip("a regressor has no classes")
        y, y_test = _three_classes(X, X_test)
    whole = clone(estimator).set_params(max_iter=2 * STEPS).fit(X, y, eval_set=(X_test, y_test))
    model = clone(estimator).set_params(warm_start=True)
    model.fit(X, y, eval_set=(X_test, y_test))
    assert model.n_iter_ == STEPS
    model.fit(X, y, eval_set=(X_test, y_test))
    assert model.n_iter_ == 2 * STEPS
    # Bit-exact, the boundary row (step 4, the first fit's last) included: a fit's last train
    # row comes from the training pass's path, as the whole fit's step 4 does (evaluated without
    # it, the GP classifier's KL rounded ~1e-5 apart in float32).
    pd.testing.assert_frame_equal(model.history_, whole.history_, check_exact=True)
    method = "predict_proba" if hasattr(model, "predict_proba") else "predict"
    np.testing.assert_array_equal(getattr(model, method)(X_test), getattr(whole, method)(X_test))
    cold = clone(estimator).fit(X, y).fit(X, y)  # without warm_start a refit starts again
    assert cold.n_iter_ == STEPS and cold.history_["step"].max() == STEPS


def test_registered_name_resolves_in_a_suite(family):
    from grokbeyond.harness import check_suite

    name, estimator, _, _ = family
    check_suite({"name": "contract", "seeds": [0], "dataset": {"name": "sparse_parity"},
                 "model": {"family": name, "max_iter": STEPS}})


def _replicate_data(estimator, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(int)
    if is_regressor(estimator):
        y = 2.0 * y - 1.0
    return X[:30], y[:30], (X[30:], y[30:])


@pytest.mark.parametrize("name, cls", FAMILIES, ids=[name for name, _ in FAMILIES])
def test_batched_replicates_match_fits_alone(name, cls):
    # Replicates with their own seeds, data and replicate parameters, trained as one batched
    # model (minibatches where the family has them), each match the estimator fitted alone.
    from grokbeyond.models import fit_batched

    template = _small(cls).set_params(max_iter=6, eval_every=2)
    if "batch_size" in template.get_params():
        template.set_params(batch_size=8)
    members = [clone(template).set_params(random_state=seed) for seed in (0, 1, 2)]
    for member, scale in zip(members, (1.0, 0.5, 2.0)):
        if "init_scale" in cls._replicate_params:
            member.set_params(init_scale=scale)
        if "weight_init" in cls._replicate_params:
            member.set_params(weight_init=[scale, -scale, 0.0])
    datasets = [_replicate_data(template, seed) for seed in (10, 11, 12)]
    outcomes = fit_batched(members, datasets)
    assert outcomes == [None, None, None]
    for member, (X, y, eval_set) in zip(members, datasets):
        alone = clone(member).fit(X, y, eval_set=eval_set)
        pd.testing.assert_frame_equal(member.history_, alone.history_, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(member.predict(eval_set[0]), alone.predict(eval_set[0]), rtol=1e-5, atol=1e-6)


def _fit_on_meta_default(estimator, X, y, X_test, y_test):
    """Fit (and continue, and batch) ``estimator`` with torch's default device set to "meta" and
    check that it records what it records without: a tensor made off ``device`` (on the
    default) either fails to mix with the CPU's or reads as garbage."""
    from grokbeyond.models import fit_batched

    eval_set = (X_test, y_test)
    expected = clone(estimator).fit(X, y, eval_set=eval_set)
    continued_expected = clone(expected).set_params(warm_start=True).fit(X, y, eval_set=eval_set)
    continued_expected.fit(X, y, eval_set=eval_set)
    with torch.device("meta"):
        on_device = clone(estimator).fit(X, y, eval_set=eval_set)
        predictions = on_device.predict(X_test)
        continued = clone(estimator).set_params(warm_start=True).fit(X, y, eval_set=eval_set)
        continued.fit(X, y, eval_set=eval_set)
        members = [clone(estimator).set_params(random_state=seed) for seed in (0, 1)]
        batched = fit_batched(members, [(X, y, eval_set)] * 2)
    pd.testing.assert_frame_equal(on_device.history_, expected.history_)
    np.testing.assert_array_equal(predictions, expected.predict(X_test))
    pd.testing.assert_frame_equal(continued.history_, continued_expected.history_)
    assert batched == [None, None]
    pd.testing.assert_frame_equal(members[0].history_, expected.history_, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name, cls", FAMILIES, ids=[name for name, _ in FAMILIES])
def test_every_tensor_follows_device(name, cls):
    # A fit on device="cpu" with torch's default device set to "meta" (tensors without data)
    # records what it does without only if every tensor of the fit, its generators, minibatches,
    # continuation and replicate batches, and its predictions is made on ``device``: the check
    # that a GPU fit would run on the GPU, on a machine without one. Classifiers use three
    # classes: the binary GP classifier's likelihood is gpytorch's, which makes a N(0, 1) on the
    # default device (a CPU scalar on a real GPU run, where it mixes with GPU tensors).
    estimator = _small(cls).set_params(max_iter=3, device=torch.device("cpu"))
    if "batch_size" in estimator.get_params():
        estimator.set_params(batch_size=8)
    X, y, X_test, y_test = _data(estimator)
    if not is_regressor(estimator):
        y, y_test = _three_classes(X, X_test)
    _fit_on_meta_default(estimator, X, y, X_test, y_test)


def _optional_paths():
    from grokbeyond.datasets import make_modular_arithmetic
    from grokbeyond.models import GPClassifier, LinearRegression, RFMClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    classes = np.digitize(X[:, 1], [-0.5, 0.5])
    modular = make_modular_arithmetic(p=5, train_fraction=0.6, random_state=0)
    return {
        "rfm-modulus": (RFMClassifier(modulus=5, max_iter=2, random_state=0),
                        (modular.X_train, modular.y_train, modular.X_test, modular.y_test)),
        "gp-inducing": (GPClassifier(n_inducing=10, max_iter=2, random_state=0),
                        (X[:30], classes[:30], X[30:], classes[30:])),
        "linear-weight-init": (LinearRegression(weight_init=[0.1, 0.2, 0.3], max_iter=2, random_state=0),
                               (X[:30], X[:30, 0], X[30:], X[30:, 0])),
    }


@pytest.mark.parametrize("case", ["rfm-modulus", "gp-inducing", "linear-weight-init"])
def test_every_tensor_follows_device_in_optional_paths(case):
    # Paths the families' defaults do not take: the RFM's circulant deviation (modulus), the GP
    # classifier's inducing-point subset (a randperm), a linear student's given initial weights.
    estimator, data = _optional_paths()[case]
    _fit_on_meta_default(estimator, *data)
