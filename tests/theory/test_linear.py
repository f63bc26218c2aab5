"""Closed-form predictions against simulated runs."""

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import special

from grokbeyond.datasets import make_linear_teacher
from grokbeyond.theory import (levi_grokking_time, linear_gd_trajectory, marchenko_pastur_trajectory,
                               threshold_accuracy)


def _simulate(X, T, S0, *, lr, steps, weight_decay, epsilon):
    """Full-batch GD as torch runs it: MSE over all N·d_out entries, SGD with weight decay."""
    X, T = torch.tensor(X), torch.tensor(T)
    S = torch.tensor(S0).requires_grad_()
    optimizer = torch.optim.SGD([S], lr=lr, weight_decay=weight_decay)
    rows = []
    X_test = torch.tensor(np.random.default_rng(1).standard_normal((200_000, X.shape[1])))
    for step in range(steps + 1):
        optimizer.zero_grad()
        loss = ((X @ (S - T)) ** 2).mean()
        errors = ((X @ (S - T)) ** 2).mean(-1)
        rows.append({"step": step, "train_loss": loss.item(), "test_loss": ((S - T) ** 2).sum().item() / T.shape[1],
                     "train_accuracy": (errors < epsilon).double().mean().item(),
                     "sampled_test_loss": ((X_test @ (S - T).detach()) ** 2).mean().item()})
        loss.backward()
        optimizer.step()
    return pd.DataFrame(rows)


@pytest.mark.parametrize("n_outputs, weight_decay", [(1, 0.0), (3, 0.0), (2, 0.05)])
def test_exact_dynamics_equal_a_simulated_run(n_outputs, weight_decay):
    data = make_linear_teacher(n_features=20, n_outputs=n_outputs, n_train=30, random_state=0)
    T = data.teacher.T
    S0 = np.random.default_rng(2).normal(0, (2 * 20 * n_outputs) ** -0.5, T.shape)
    exact = linear_gd_trajectory(data.X_train, T, S0, lr=0.05, max_iter=60, weight_decay=weight_decay, epsilon=0.05)
    simulated = _simulate(data.X_train, T, S0, lr=0.05, steps=60, weight_decay=weight_decay, epsilon=0.05)
    for column in ("train_loss", "test_loss"):
        np.testing.assert_allclose(exact[column], simulated[column], rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(exact["train_accuracy"], simulated["train_accuracy"])
    # For Gaussian inputs the test loss is ‖S − T‖²_F / d_out: a large sample agrees.
    np.testing.assert_allclose(simulated["sampled_test_loss"], exact["test_loss"], rtol=0.02)


def test_threshold_accuracy_is_the_gaussian_probability():
    assert threshold_accuracy(1e-3 / 4, 1e-3) == pytest.approx(special.erf(np.sqrt(2)))  # the paper's 95% point
    rng = np.random.default_rng(0)
    errors = rng.normal(0, np.sqrt(0.02), size=(400_000, 3))
    sampled = ((errors**2).mean(-1) < 0.03).mean()
    assert threshold_accuracy(0.02, 0.03, n_outputs=3) == pytest.approx(sampled, abs=3e-3)
    assert threshold_accuracy(0.0, 0.1) == 1.0
    with pytest.raises(ValueError, match="epsilon"):
        threshold_accuracy(0.1, 0.0)


@pytest.mark.parametrize("ratio", [0.3, 0.8, 1.5])
def test_the_marchenko_pastur_limit_is_the_spectral_average_at_large_dimension(ratio):
    # The limit assumes an isotropic initial error: compare it with the average over the sampled
    # spectrum (no draw of D₀), for both losses.
    d, lr = 400, 0.05
    data = make_linear_teacher(n_features=d, n_train=int(d / ratio), n_test=1, random_state=0)
    nu = np.clip(np.linalg.eigvalsh(data.X_train.T @ data.X_train / len(data.X_train)), 0, None)
    steps = np.array([0, 50, 200, 1000])
    decay = (1 - 2 * lr * nu[None, :]) ** (2 * steps[:, None])
    limit = marchenko_pastur_trajectory(ratio, lr=lr, max_iter=1000, steps=steps)
    # d = 400 is finite: the sampled spectrum is within ~5% of the limit law at these times.
    np.testing.assert_allclose(limit["test_loss"], decay.mean(1), rtol=0.1, atol=1e-6)
    np.testing.assert_allclose(limit["train_loss"], (decay * nu).mean(1), rtol=0.1, atol=1e-6)
    # λ > 1 keeps the error in the null space: L_gen → 1 − 1/λ.
    assert limit["test_loss"].iloc[-1] == pytest.approx(max(0.0, 1 - 1 / ratio), abs=2e-3)


def test_late_losses_keep_their_relative_accuracy():
    # Far below 1e-8 the integral must stay accurate: compare with a large spectral sample.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5000, 2500)) / np.sqrt(5000)
    nu = np.linalg.eigvalsh(X.T @ X)
    t = 30_000
    sampled = ((1 - 2 * 0.01 * nu) ** (2 * t)).mean()
    limit = marchenko_pastur_trajectory(0.5, lr=0.01, max_iter=t, steps=[t])["test_loss"].iloc[0]
    assert sampled < 1e-8 and limit == pytest.approx(sampled, rel=0.5)


def test_grokking_time_grows_as_the_ratio_nears_one():
    gap = 1 - np.sqrt(0.5)
    assert float(levi_grokking_time(0.5, 0.01)) == pytest.approx(np.log(1 / gap) / (2 * 0.01 * gap**2))
    times = levi_grokking_time([0.1, 0.5, 0.9, 0.99], 0.01)
    assert np.all(np.diff(times) > 0) and times[-1] > 100 * times[1]
    with pytest.raises(ValueError, match="ratio must be < 1 "):
        levi_grokking_time(1.0, 0.01)


@pytest.mark.parametrize("function, args", [(levi_grokking_time, (float("nan"), 0.01))])
def test_the_delay_formulas_refuse_nan_and_infinite_settings(function, args):
    with pytest.raises(ValueError):
        function(*args)
