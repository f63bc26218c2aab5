"""The training loop's own pieces: minibatches per replicate, the SGD update, fit_replicates."""

import numpy as np
import pandas as pd
import pytest
import torch

from grokbeyond.datasets import make_decoy_linear, make_sparse_parity
from grokbeyond.models import BayesianMLP, LinearRegression, MLPClassifier, NumericalError, fit_replicates
from grokbeyond.models._engine import _Minibatches, _update_function


def test_minibatches_are_epoch_shuffles_of_each_replicates_own_generator():
    generators = [torch.Generator().manual_seed(seed) for seed in (0, 1)]
    batches = _Minibatches(10, 3, generators)
    epoch = [next(batches) for _ in range(4)]
    assert [index.shape for index in epoch] == [(2, 3), (2, 3), (2, 3), (2, 1)]
    for r, seed in enumerate((0, 1)):
        order = torch.cat([index[r] for index in epoch])
        assert torch.equal(order, torch.randperm(10, generator=torch.Generator().manual_seed(seed)))
    assert next(_Minibatches(10, None, generators)) is None and next(_Minibatches(10, 10, generators)) is None


def test_sgd_update_is_torchs_sgd_bit_for_bit():
    generator = torch.Generator().manual_seed(0)
    start = [torch.randn(3, 4, generator=generator), torch.randn(5, generator=generator)]
    grads = [torch.randn_like(p) for p in start]
    ours = [p.clone().requires_grad_() for p in start]
    theirs = [p.clone().requires_grad_() for p in start]
    mine = torch.optim.SGD([{"params": ours[:1], "weight_decay": 0.1}, {"params": ours[1:]}], lr=0.3)
    reference = torch.optim.SGD([{"params": theirs[:1], "weight_decay": 0.1}, {"params": theirs[1:]}], lr=0.3)
    step = _update_function(mine)
    assert step is not mine.step
    for _ in range(3):
        for p, q, g in zip(ours, theirs, grads):
            p.grad, q.grad = g.clone(), g.clone()
        with torch.no_grad():
            step()
        reference.step()
    for p, q in zip(ours, theirs):
        assert torch.equal(p, q)
    momentum = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    assert _update_function(momentum) == momentum.step  # anything else is stepped by torch


def test_fit_replicates_gives_each_seed_its_own_fit():
    data = make_sparse_parity(n_bits=6, k=2, n_train=64, n_test=32, random_state=0)
    template = BayesianMLP(hidden_size=8, max_iter=12, eval_every=4, batch_size=16, n_predictive_samples=2)
    fits = fit_replicates(template, data.X_train, data.y_train, eval_set=(data.X_test, data.y_test),
                          random_state=[0, 1, 2], init_scale=[0.5, 1.0, 2.0])
    assert fits.history.groupby("replicate").size().tolist() == [8, 8, 8]
    assert fits.history.groupby("replicate")["init_scale"].first().tolist() == [0.5, 1.0, 2.0]
    for r, (seed, scale) in enumerate(zip((0, 1, 2), (0.5, 1.0, 2.0))):
        alone = template.set_params(random_state=seed, init_scale=scale).fit(
            data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
        mine = fits.history[fits.history["replicate"] == r].drop(columns=["replicate", "random_state", "init_scale"])
        np.testing.assert_allclose(mine["objective"], alone.history_["objective"], rtol=1e-5)
        np.testing.assert_allclose(fits.estimators[r].predict_proba(data.X_test), alone.predict_proba(data.X_test),
                                   rtol=1e-5, atol=1e-6)


def test_recording_does_not_move_a_stochastic_trajectory():
    # The recorded rows' weight draws come from their own stream: evaluating every step or
    # every fourth gives the same training trajectory.
    data = make_sparse_parity(n_bits=6, k=2, n_train=64, n_test=32, random_state=0)
    every = BayesianMLP(hidden_size=8, max_iter=8, eval_every=1, batch_size=16, random_state=0)
    fourth = BayesianMLP(hidden_size=8, max_iter=8, eval_every=4, batch_size=16, random_state=0)
    every.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    fourth.fit(data.X_train, data.y_train)
    for (loc, _), (other, _) in zip(every.posterior_.values(), fourth.posterior_.values()):
        torch.testing.assert_close(loc, other)


@pytest.mark.parametrize("params, message", [
    (dict(random_state=0), "non-empty sequence"),
    (dict(random_state=[0, 1], lr=[0.1, 0.2]), r"cannot vary \['lr'\]"),
    (dict(random_state=[0, 1], weight_init=[[0, 0, 0, 0]]), "1 values for 2 replicates"),
])
def test_fit_replicates_names_bad_arguments(params, message):
    data = make_decoy_linear(random_state=0)
    with pytest.raises(ValueError, match=message):
        fit_replicates(LinearRegression(max_iter=2), data.X_train, data.y_train, **params)


def test_a_failed_replicate_is_raised_with_its_position():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)), rng.integers(0, 2, 20)
    with pytest.raises(NumericalError, match="replicate 1"):
        fit_replicates(MLPClassifier(hidden_size=4, batch_size=None, max_iter=5), X, y, random_state=[0, 1],
                       init_scale=[1.0, 1e25])


def test_recorded_quantities_are_copies_of_the_parameters():
    # A live parameter (the linear weights) recorded at step t keeps its value at t, not
    # the value it is updated to later.
    data = make_decoy_linear(random_state=0)
    model = LinearRegression(max_iter=50, eval_every=10, weight_init=[0.0005, 0.9, 0.9, 0.9]).fit(
        data.X_train, data.y_train)
    train = model.history_[model.history_["split"] == "train"]
    np.testing.assert_allclose(train.iloc[0][["weight_0", "weight_1"]].to_numpy(float), [0.0005, 0.9])
    np.testing.assert_allclose(train.iloc[-1][[f"weight_{i}" for i in range(4)]].to_numpy(float), model.coef_)
    assert train["weight_0"].nunique() == len(train)


def test_a_run_away_objective_fails_the_fit_at_its_step():
    # Too large a step on an ordinary problem: the objective grows geometrically long before it overflows.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 5))
    model = LinearRegression(lr=1.0, noise_variance=1.0, prior_variance=None, max_iter=2000)
    with pytest.raises(NumericalError, match="ran away") as failure:
        model.fit(X, X @ np.ones(5))
    history = failure.value.history
    assert 0 < failure.value.step < 2000 and history["objective"].max() <= 1e10 * (1 + history["objective"].iloc[0])
    assert not hasattr(model, "history_")
    LinearRegression(lr=0.01, noise_variance=1.0, prior_variance=None, max_iter=2000).fit(X, X @ np.ones(5))


@pytest.mark.parametrize("family", ["GPRegressor", "GPClassifier"])
def test_a_gp_nan_error_is_a_numerical_error(monkeypatch, family):
    from linear_operator.utils.errors import NanError

    import grokbeyond.models as models

    GP = getattr(models, family)
    original = GP._terms
    calls = {"n": 0}

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 3:
            raise NanError("cholesky_cpu: NaN")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(GP, "_terms", failing)
    X = np.random.default_rng(0).normal(size=(20, 2))
    model = GP(max_iter=10, eval_every=1)
    with pytest.raises(NumericalError, match="NanError") as failure:
        model.fit(X, X[:, 0] if family == "GPRegressor" else (X[:, 0] > 0).astype(int))
    assert failure.value.step > 0 and len(failure.value.history) > 0
    assert not hasattr(model, "history_")


def test_the_rfm_is_not_held_to_the_runaway_bound():
    # An RFM iteration can raise the RKHS norm by 10¹² and the next bring it back (review, 2026-11-22).
    from grokbeyond.datasets import make_sparse_parity
    from grokbeyond.models import RFMClassifier

    data = make_sparse_parity(n_bits=60, k=3, n_train=400, random_state=0)
    model = RFMClassifier(bandwidth=1.0, agop_power=1.0, max_iter=3).fit(data.X_train, data.y_train)
    complexity = model.history_["complexity"].to_numpy()
    assert complexity.max() > 1e10 * (1 + complexity[0])


@pytest.mark.parametrize("optimizer", ["sgd", "adamw"])
def test_a_warm_start_goes_on_mid_epoch_with_the_optimisers_state(optimizer):
    from sklearn.datasets import make_classification

    from grokbeyond.models import LogisticRegression

    X, y = make_classification(n_samples=30, n_features=4, random_state=0)
    params = dict(batch_size=7, eval_every=1, optimizer=optimizer, lr=0.1, random_state=0)
    whole = LogisticRegression(max_iter=9, **params).fit(X, y, eval_set=(X, y))
    model = LogisticRegression(max_iter=3, warm_start=True, **params)
    for _ in range(3):  # 3 steps at a time: epochs of 5 batches are cut mid-way
        model.fit(X, y, eval_set=(X, y))
    pd.testing.assert_frame_equal(model.history_, whole.history_)
    np.testing.assert_array_equal(model.predict_proba(X), whole.predict_proba(X))


def test_a_warm_start_needs_the_same_data_shape_and_step():
    from grokbeyond.exceptions import InputError
    from grokbeyond.models import LogisticRegression, fit_batched

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression(max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(InputError, match="same training data"):
        model.fit(X[:, :2], y)
    with pytest.raises(InputError, match="same training data"):
        model.fit(X + 1.0, y)  # same shape, other data
    with pytest.raises(InputError, match=r"\['lr'\] changed"):
        model.set_params(lr=0.5).fit(X, y)
    model.set_params(lr=LogisticRegression().lr)
    with pytest.raises(InputError, match="eval_set"):
        model.fit(X, y, eval_set=(X, y))
    assert model.n_iter_ == 2 and model.fit(X, y).n_iter_ == 4  # the failed continuation changed nothing
    with pytest.raises(InputError, match="same step"):
        fit_batched([model, LogisticRegression(max_iter=2, warm_start=True).fit(X, y)], [(X, y), (X, y)])
    with pytest.raises(InputError, match="every estimator"):
        fit_batched([model, LogisticRegression(max_iter=2, warm_start=True)], [(X, y), (X, y)])
    stopped = LogisticRegression(max_iter=10, warm_start=True).fit(X, y, callbacks=[lambda m, rows: True])
    assert stopped.n_iter_ == 0 and stopped.fit(X, y).n_iter_ == 10  # a stopped fit continues from its step


def test_a_batch_of_warm_started_replicates_continues_each_as_alone():
    from grokbeyond.models import fit_batched

    data = make_sparse_parity(n_bits=6, k=2, n_train=40, n_test=20, random_state=0)
    params = dict(hidden_size=8, batch_size=16, eval_every=2, random_state=0)
    whole = [MLPClassifier(max_iter=8, **params).set_params(random_state=seed) for seed in (0, 1, 2)]
    for model in whole:
        model.fit(data.X_train, data.y_train)
    batch = [MLPClassifier(max_iter=4, warm_start=True, **params).set_params(random_state=seed) for seed in (0, 1, 2)]
    for _ in range(2):  # a batch checkpointed half-way and continued
        assert fit_batched(batch, [(data.X_train, data.y_train)] * 3) == [None] * 3
    for alone, continued in zip(whole, batch):
        pd.testing.assert_frame_equal(continued.history_, alone.history_)
        np.testing.assert_array_equal(continued.predict_proba(data.X_test), alone.predict_proba(data.X_test))
    alone = MLPClassifier(max_iter=4, warm_start=True, **params).fit(data.X_train, data.y_train)
    batch[0].set_params(max_iter=4).fit(data.X_train, data.y_train)  # now at step 12; the others at 8
    with pytest.raises(ValueError, match="same step"):
        fit_batched([batch[0], batch[1]], [(data.X_train, data.y_train)] * 2)


@pytest.mark.parametrize("family", ["logistic-minibatch-adamw", "bnn"])
def test_a_failed_or_stopped_continuation_leaves_a_fit_that_continues_exactly(family):
    from sklearn.datasets import make_classification

    from grokbeyond.models import LogisticRegression

    X, y = make_classification(n_samples=30, n_features=4, random_state=0)
    if family == "bnn":
        make = lambda n: BayesianMLP(hidden_size=8, max_iter=n, eval_every=1, random_state=0)  # noqa: E731
    else:
        make = lambda n: LogisticRegression(max_iter=n, batch_size=7, optimizer="adamw", lr=0.1,  # noqa: E731
                                            eval_every=1, random_state=0)
    whole = make(12).fit(X, y)

    def fail_at_8(model, rows):
        if rows["step"].iloc[0] == 8:
            raise RuntimeError("pruned")

    model = make(5).set_params(warm_start=True).fit(X, y)
    before = model.predict_proba(X)
    with pytest.raises(RuntimeError, match="pruned"):
        model.set_params(max_iter=7).fit(X, y, callbacks=[fail_at_8])
    np.testing.assert_array_equal(model.predict_proba(X), before)  # the failed continuation changed nothing
    model.set_params(max_iter=3).fit(X, y, callbacks=[lambda m, rows: rows["step"].iloc[0] == 7])  # stop at 7
    assert model.n_iter_ == 7
    model.set_params(max_iter=5).fit(X, y)  # 7 -> 12
    pd.testing.assert_frame_equal(model.history_, whole.history_)
    np.testing.assert_array_equal(model.predict_proba(X), whole.predict_proba(X))
