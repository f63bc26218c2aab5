"""Delay laws: the slope fit and the norm-based prediction on synthetic runs with known answers."""

import numpy as np
import pytest

from grokbeyond.theory import fit_delay_slope, fit_norm_delay, norm_delay, notsawo_delay


@pytest.mark.parametrize("exponent, contains_minus_one", [(-1.0, True), (-1.05, False)])
def test_the_slope_fit_recovers_a_known_exponent(exponent, contains_minus_one):
    rng = np.random.default_rng(3)
    alpha, beta = np.meshgrid([0.025, 0.05, 0.1, 0.15], [0.002, 0.005, 0.01, 0.02])
    alpha, beta = np.repeat(alpha.ravel(), 3), np.repeat(beta.ravel(), 3)
    delay = 10.8 * (alpha * beta) ** exponent * np.exp(rng.normal(0, 0.01, alpha.size))  # 1% scatter
    fit = fit_delay_slope(alpha, beta, delay)
    assert fit.low <= exponent <= fit.high and fit.high - fit.low < 0.02
    assert (fit.low <= -1 <= fit.high) == contains_minus_one
    assert fit.r_squared > 0.99 and fit.n_runs == 48
    assert np.exp(fit.intercept) == pytest.approx(10.8, rel=0.05)


def test_the_slope_interval_widens_with_scatter_and_confidence():
    rng = np.random.default_rng(0)
    lr, wd = np.repeat([0.1, 0.2, 0.4, 0.8], 4), np.tile([1e-3, 2e-3, 4e-3, 8e-3], 4)
    delay = 5.0 / (lr * wd) * np.exp(rng.normal(0, 0.3, lr.size))
    narrow, wide = fit_delay_slope(lr, wd, delay, 0.5), fit_delay_slope(lr, wd, delay, 0.99)
    assert wide.low < narrow.low < narrow.slope < narrow.high < wide.high


@pytest.mark.parametrize("args, match", [
    (([0.1, 0.2], [1e-3, 1e-3], [10.0, 5.0]), "at least three runs"),
    (([0.1, 0.1, 0.1], [1e-3, 1e-3, 1e-3], [10.0, 9.0, 11.0]), "two or more values"),
    (([0.1, 0.2, 0.4], [1e-3, 1e-3, 1e-3], [10.0, -5.0, 2.0]), "delay must be > 0"),
    (([0.1, 0.2, np.nan], [1e-3, 1e-3, 1e-3], [10.0, 5.0, 2.0]), "lr must not be NaN"),
    (([0.1, 0.2, 0.4], [1e-3, 1e-3], [10.0, 5.0, 2.0]), "one value per run"),
])
def test_the_slope_fit_refuses_bad_runs(args, match):
    with pytest.raises(ValueError, match=match):
        fit_delay_slope(*args)


def test_norm_delay_is_the_decay_time_of_the_squared_norm():
    # V(t) = V_mem exp(-2 lr wd t) reaches V* after log(V_mem / V*) / (2 lr wd) steps.
    lr, wd, v_mem, v_target = 0.05, 2e-3, 400.0, 3.0
    steps = norm_delay(v_mem, lr, wd, target=v_target)
    assert v_mem * (1 - lr * wd) ** (2 * steps) == pytest.approx(v_target, rel=1e-3)
    assert norm_delay(v_mem, lr, wd, kappa=0.5, target=v_target) == pytest.approx(2 * steps)
    with pytest.raises(ValueError, match="kappa"):
        norm_delay(v_mem, lr, wd, kappa=0.0)


def test_fit_norm_delay_recovers_kappa_and_target():
    rng = np.random.default_rng(1)
    lr, wd = np.repeat([0.05, 0.1, 0.2, 0.4], 6), np.tile([1e-3, 3e-3, 1e-2], 8)
    v_mem = rng.uniform(20, 500, lr.size)
    delay = norm_delay(v_mem, lr, wd, kappa=0.7, target=4.0)
    fit = fit_norm_delay(v_mem, lr, wd, delay)
    assert fit.kappa == pytest.approx(0.7, rel=1e-6) and fit.target == pytest.approx(4.0, rel=1e-6)
    np.testing.assert_allclose(fit.predict(v_mem, lr, wd), delay, rtol=1e-6)
    # With each run's own target only κ is fitted, in closed form; with 5% scatter it is near.
    own = rng.uniform(1, 10, lr.size)
    noisy = norm_delay(v_mem, lr, wd, kappa=0.7, target=own) * np.exp(rng.normal(0, 0.05, lr.size))
    fit = fit_norm_delay(v_mem, lr, wd, noisy, target=own)
    assert fit.kappa == pytest.approx(0.7, rel=0.03) and np.isnan(fit.target) and fit.n_runs == lr.size


def test_fit_norm_delay_refuses_too_few_or_bad_runs():
    with pytest.raises(ValueError, match="at least two runs"):
        fit_norm_delay([10.0], [0.1], [1e-3], [100.0])
    with pytest.raises(ValueError, match="no run has"):
        fit_norm_delay([1.0, 2.0], [0.1, 0.1], [1e-3, 1e-3], [100.0, 50.0], target=[3.0, 3.0])
    with pytest.raises(ValueError, match="norm_sq must be > 0"):
        fit_norm_delay([0.0, 2.0], [0.1, 0.1], [1e-3, 1e-3], [100.0, 50.0])


def test_notsawo_delay_scales_as_one_over_alpha_beta():
    delays = notsawo_delay([0.1, 0.1, 0.01], [1e-5, 1e-3, 1e-3], constant=10.8)
    np.testing.assert_allclose(delays, [1.08e7, 1.08e5, 1.08e6])
    for args in [(0.0, 1.0), (float("nan"), 1e-3), (0.1, float("inf"))]:
        with pytest.raises(ValueError):
            notsawo_delay(*args)


def test_fit_norm_delay_stays_finite_when_the_norm_does_not_vary():
    # With one ‖θ_mem‖² for every run, κ and V★ trade off: the fit is the plain c / (lr·wd) law, V★ → 0.
    lr, wd = np.repeat([0.05, 0.1, 0.2], 3), np.tile([1e-3, 3e-3, 1e-2], 3)
    delay = 4.0 / (lr * wd)
    fit = fit_norm_delay(np.full(9, 100.0), lr, wd, delay)
    predicted = fit.predict(np.full(9, 100.0), lr, wd)
    assert np.isfinite(predicted).all() and np.allclose(predicted, delay, rtol=1e-3)
