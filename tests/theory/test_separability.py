"""The edge of linear separability: the margin helper against linear programming, Wendel's count, Prop. 3.2."""

import numpy as np
import pytest
from scipy import optimize, spatial, stats

from grokbeyond.theory import beck_delay_ratio, limiting_accuracy, origin_margin, separability_probability


def _separable_by_lp(points):
    """Direct check: is there u with u·p_i >= 1 for every point (a feasibility linear programme)?"""
    result = optimize.linprog(np.zeros(points.shape[1]), A_ub=-points, b_ub=-np.ones(len(points)),
                              bounds=(None, None), method="highs")
    assert result.status in (0, 2)  # feasible or infeasible, never a solver failure
    return result.status == 0


def test_origin_margin_agrees_with_linear_programming_near_the_edge():
    rng = np.random.default_rng(0)
    agree = separable = 0
    for n, d in [(12, 5), (12, 6), (12, 7), (20, 10), (40, 19), (40, 21)]:
        for _ in range(25):
            points = rng.standard_normal((n, d)) * rng.uniform(0.1, 10)
            margin = origin_margin(points)
            agree += (margin > 0) == _separable_by_lp(points)
            separable += margin > 0
    assert agree == 150 and 20 < separable < 130  # both kinds of set were drawn


def test_origin_margin_is_the_max_margin_in_two_dimensions():
    rng = np.random.default_rng(1)
    angles = np.linspace(0, 2 * np.pi, 20_001)
    directions = np.stack([np.cos(angles), np.sin(angles)], 1)
    for _ in range(20):
        points = rng.standard_normal((6, 2)) + rng.uniform(-2, 2, 2)
        brute = max((points @ directions.T).min(0).max(), 0.0)  # max over unit u of min_i u·p_i
        # The grid of directions (0.0003 rad apart) finds a margin at most ~‖p‖·0.00016 short.
        assert brute - 1e-12 <= origin_margin(points) <= brute + 1e-3
        inside = spatial.Delaunay(points).find_simplex(np.zeros((1, 2)))[0] >= 0
        assert inside == (origin_margin(points) == 0)


def test_separability_probability_is_wendels_count_and_matches_draws():
    assert separability_probability(1, 2) == 0.5 and separability_probability(2, 2) == 1.0
    assert separability_probability(3, 5) == pytest.approx((1 + 4 + 6) / 16)
    rng = np.random.default_rng(2)
    draws = [origin_margin(rng.standard_normal((30, 14))) > 0 for _ in range(400)]
    expected = separability_probability(14, 30)
    assert abs(np.mean(draws) - expected) < 4 * np.sqrt(expected * (1 - expected) / 400)
    # The transition sharpens at λ = 1/2 as N grows.
    assert separability_probability(4800, 10_000) < 1e-4 and separability_probability(5200, 10_000) > 1 - 1e-4
    with pytest.raises(ValueError, match="integer"):
        separability_probability(2.5, 10)


def _max_margin(points):
    """The hard-margin separator (S, b) of the extended points (p, 1): min ‖(S, b)‖² s.t. S·p + b ≥ 1."""
    extended = np.hstack([points, np.ones((len(points), 1))])
    result = optimize.minimize(lambda w: w @ w, np.ones(extended.shape[1]), jac=lambda w: 2 * w, method="SLSQP",
                               constraints={"type": "ineq", "fun": lambda w: extended @ w - 1,
                                            "jac": lambda w: extended}, options={"ftol": 1e-12, "maxiter": 500})
    assert result.success
    return result.x[:-1], result.x[-1]


def test_limiting_accuracy_is_the_max_margin_classifiers_accuracy():
    # Gradient descent tends to the max-margin separator of (x, 1) (Soudry et al. 2018); on fresh x ~ N(0, σ²I)
    # its accuracy is P(S·x + b > 0) = Φ(b / (σ‖S‖)). Solved directly, against Φ(1/(σM)) from origin_margin.
    rng = np.random.default_rng(3)
    sigma, checked = 2.0, 0
    for _ in range(40):
        points = sigma * rng.standard_normal((10, 6))
        margin = origin_margin(points)
        if margin == 0:
            continue
        S, b = _max_margin(points)
        assert limiting_accuracy(margin, sigma) == pytest.approx(stats.norm.cdf(b / (sigma * np.linalg.norm(S))),
                                                                 abs=1e-4)
        checked += 1
    assert checked >= 10
    assert limiting_accuracy(0.0, sigma) == 1.0 and limiting_accuracy(1e6, sigma) == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="^noise_scale"):
        limiting_accuracy(0.1, 0.0)
    with pytest.raises(ValueError, match="^margin"):
        limiting_accuracy(-0.1, 1.0)


def test_beck_delay_ratio_diverges_log_squared_at_one_half():
    ratios = np.array([0.3, 0.4, 0.45, 0.49, 0.499])
    delays = beck_delay_ratio(ratios)
    assert np.all(np.diff(delays) > 0)
    np.testing.assert_allclose(np.sqrt(np.log(delays)), -np.log(1 - 2 * ratios) / np.sqrt(2))
    with pytest.raises(ValueError, match="ratio must be < 1/2"):
        beck_delay_ratio(0.5)
