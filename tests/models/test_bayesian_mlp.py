import numpy as np
import pyro
import pytest
import torch
from joblib import Parallel, delayed
from pyro.infer import TraceMeanField_ELBO
from sklearn.base import clone

from grokbeyond import detect_grokking
from grokbeyond.datasets import make_sparse_parity
from grokbeyond.models import BayesianMLP


@pytest.fixture(scope="module")
def parity():
    return make_sparse_parity(n_bits=10, k=3, n_train=300, n_test=200, random_state=0)


def _small(**kwargs):
    params = dict(hidden_size=8, max_iter=3, batch_size=16, random_state=0)
    return BayesianMLP(**{**params, **kwargs})


def test_closed_form_kl_matches_monte_carlo(parity):
    model = _small(init_scale=0.5, init_posterior_scale=0.3, prior_scale=1.5).fit(parity.X_train, parity.y_train)
    n_draws = 20000
    generator = torch.Generator().manual_seed(0)
    estimate = 0.0
    for loc, log_scale in model.posterior_.values():
        loc, scale = loc.detach().double(), log_scale.detach().exp().double()
        theta = loc + scale * torch.randn((n_draws, *loc.shape), generator=generator, dtype=torch.float64)
        log_q = torch.distributions.Normal(loc, scale).log_prob(theta)
        log_p = torch.distributions.Normal(0.0, 1.5).log_prob(theta)
        estimate += (log_q - log_p).flatten(1).sum(1)
    exact = model._kl().item()
    standard_error = estimate.std().item() / np.sqrt(n_draws)
    assert abs(estimate.mean().item() - exact) < 4 * standard_error
    final = model.history_.iloc[-1]
    np.testing.assert_allclose(final["complexity"], exact / 300, rtol=1e-5)


def test_objective_is_pyros_mean_field_elbo_per_datapoint(parity):
    # Our one-sample objective on a minibatch equals pyro's TraceMeanField_ELBO loss of the
    # same programs under the same draws, value and gradient.
    model = _small(max_iter=0).fit(parity.X_train, parity.y_train)
    X = torch.tensor(parity.X_train[:16], dtype=torch.float32)[None]
    y = torch.tensor(parity.y_train[:16])[None]
    params = [p for pair in model.posterior_.values() for p in pair]

    model._replicate_generators = [torch.Generator().manual_seed(3)]
    ours = model._terms(X, y, train=True)["objective"].sum()
    ours_grad = torch.autograd.grad(ours, params)
    torch.manual_seed(3)
    pyros = TraceMeanField_ELBO().differentiable_loss(model.pyro_model, model.pyro_guide, X, y, 300)
    pyros_grad = torch.autograd.grad(pyros, params)

    torch.testing.assert_close(ours, pyros)
    for mine, reference in zip(ours_grad, pyros_grad):
        torch.testing.assert_close(mine, reference)


def test_terms_and_predictive_follow_their_definitions(parity):
    model = _small(max_iter=5, n_predictive_samples=7, eval_every=5).fit(
        parity.X_train, parity.y_train, eval_set=(parity.X_test, parity.y_test)
    )
    history = model.history_
    assert {"objective", "data_fit", "complexity", "loss", "accuracy", "posterior_scale"} <= set(history)
    test = history[(history["split"] == "test") & (history["step"] == 5)].iloc[0]
    proba = model.predict_proba(parity.X_test)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-5)
    # The recorded test row and predict_proba average over the same number of draws.
    np.testing.assert_allclose(test["loss"], -np.log(proba[np.arange(200), parity.y_test]).mean(), rtol=0.2)
    np.testing.assert_allclose(test["objective"], test["data_fit"] + test["complexity"], rtol=1e-6)
    # The posterior predictive NLL never exceeds the expected NLL (Jensen).
    assert (history["loss"] <= history["data_fit"] + 1e-6).all()
    np.testing.assert_allclose(history.loc[history["step"] == 0, "posterior_scale"], 0.01, rtol=1e-6)
    # weight_norm is ‖μ‖ over every posterior mean, weights and biases (what the KL term pulls towards 0).
    means = np.concatenate([loc.detach().numpy().ravel() for loc, _ in model.posterior_.values()])
    last = history[history["step"] == history["step"].max()]["weight_norm"]
    np.testing.assert_allclose(last, np.linalg.norm(means), rtol=1e-5)


def test_single_sample_prediction_is_one_weight_draw(parity):
    one = _small(n_predictive_samples=1).fit(parity.X_train, parity.y_train)
    proba = one.predict_proba(parity.X_test)
    many = clone(one).set_params(n_predictive_samples=64).fit(parity.X_train, parity.y_train)
    # One draw is sharper than the average of 64 draws from the same posterior.
    assert np.abs(proba - 0.5).mean() > np.abs(many.predict_proba(parity.X_test) - 0.5).mean()


def test_no_pyro_state_is_shared(parity):
    pyro.clear_param_store()
    first = _small().fit(parity.X_train, parity.y_train)
    before = first.predict_proba(parity.X_test)
    second = clone(first).set_params(random_state=1, init_scale=3.0).fit(parity.X_train, parity.y_train)
    assert len(pyro.get_param_store()) == 0
    np.testing.assert_array_equal(first.predict_proba(parity.X_test), before)
    assert not np.allclose(second.predict_proba(parity.X_test), before)
    for name, (loc, _) in first.posterior_.items():
        assert loc.data_ptr() != second.posterior_[name][0].data_ptr()
    # Same seed, same result; the caller's global RNG is untouched.
    state = torch.random.get_rng_state()
    again = clone(first).fit(parity.X_train, parity.y_train)
    assert torch.equal(torch.random.get_rng_state(), state)
    np.testing.assert_array_equal(again.predict_proba(parity.X_test), before)


def test_parallel_workers_match_sequential_fits(parity):
    seeds = [0, 1]

    def fit(seed):
        return _small(random_state=seed).fit(parity.X_train, parity.y_train).predict_proba(parity.X_test)

    parallel = Parallel(n_jobs=2)(delayed(fit)(seed) for seed in seeds)
    for seed, proba in zip(seeds, parallel):
        np.testing.assert_array_equal(proba, fit(seed))


def test_large_initial_scale_memorises_before_generalising(parity):
    model = BayesianMLP(hidden_size=32, lr=0.2, init_scale=1.0, max_iter=1200, eval_every=10,
                        n_predictive_samples=1, random_state=0)
    model.fit(parity.X_train, parity.y_train, eval_set=(parity.X_test, parity.y_test))
    result = detect_grokking(model.history_, min_delay=10)
    assert result.phase == "grokking", result
    train = model.history_[model.history_["split"] == "train"].set_index("step")["complexity"]
    # The KL term falls once the data are fitted.
    assert train.iloc[-1] < train.loc[result.t_memorise]


@pytest.mark.parametrize(
    "params, message",
    [
        ({"n_predictive_samples": 0}, "n_predictive_samples"),
        ({"init_posterior_scale": 0.0}, "init_posterior_scale"),
        ({"prior_scale": -1.0}, "prior_scale"),
        ({"hidden_size": 0}, "hidden_size"),
    ],
)
def test_bad_parameters_are_named(parity, params, message):
    with pytest.raises(ValueError, match=message):
        _small(**params).fit(parity.X_train, parity.y_train)


def test_one_class_is_rejected(parity):
    with pytest.raises(ValueError, match="at least 2 classes"):
        _small().fit(parity.X_train, np.zeros(300))
