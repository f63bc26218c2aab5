import math

import numpy as np
import pandas as pd
import pytest

from grokbeyond import GrokkingResult, detect_grokking, first_crossing, grokking_table, summarise_grokking


def history(train, test, steps=None, metric="accuracy"):
    steps = list(range(len(train))) if steps is None else steps
    return pd.DataFrame({
        "step": steps * 2,
        "split": ["train"] * len(steps) + ["test"] * len(steps),
        metric: list(train) + list(test),
    })


def curve(t, n=100, low=0.5, high=1.0):
    """Accuracy at `low` before step t and `high` from t on (t=None: never)."""
    return [high if t is not None and s >= t else low for s in range(n)]


@pytest.mark.parametrize(
    "t_train, t_test, phase",
    [
        (5, 60, "grokking"),
        (5, 8, "comprehension"),
        (20, 5, "comprehension"),
        (None, 30, "comprehension"),
        (5, None, "memorisation"),
        (None, None, "confusion"),
    ],
)
def test_every_phase(t_train, t_test, phase):
    result = detect_grokking(history(curve(t_train), curve(t_test)), min_delay=10)
    assert result.phase == phase
    assert result.t_memorise == t_train and result.t_generalise == t_test
    assert result.memorisation_censored == (t_train is None)
    assert result.generalisation_censored == (t_test is None)
    assert result.max_step == 99


def test_gap_and_relative_gap():
    result = detect_grokking(history(curve(10), curve(50)))
    assert result.gap == 40 and result.relative_gap == pytest.approx(0.8)
    assert result.grokked


def test_censoring_is_never_replaced_by_the_budget():
    result = detect_grokking(history(curve(3), curve(None)))
    assert result.t_generalise is None and result.gap is None and result.relative_gap is None
    assert result.generalisation_censored


def test_min_delay_is_the_boundary():
    h = history(curve(10), curve(20))
    assert detect_grokking(h, min_delay=10).phase == "grokking"
    assert detect_grokking(h, min_delay=11).phase == "comprehension"


def test_strict_threshold_matches_millers_code():
    train = [0.5] * 3 + [0.95] * 2 + [1.0] * 5
    h = history(train, train)
    assert first_crossing(h, "train") == 3
    assert first_crossing(h, "train", strict=True) == 5


def test_loss_type_metrics_are_lower_is_better():
    train = np.geomspace(1.0, 1e-3, 100)
    test = np.r_[np.full(70, 0.7), np.geomspace(0.7, 1e-3, 30)]
    result = detect_grokking(history(train, test, metric="loss"), metric="loss", threshold=0.01)
    assert result.phase == "grokking"
    assert result.t_memorise == int(np.argmax(train <= 0.01))
    assert result.t_generalise == 70 + int(np.argmax(np.geomspace(0.7, 1e-3, 30) <= 0.01))


def test_uses_recorded_steps_not_row_positions():
    h = history(curve(2, n=4), curve(3, n=4), steps=[0, 10, 100, 1000])
    result = detect_grokking(h)
    assert (result.t_memorise, result.t_generalise, result.gap) == (100, 1000, 900)


def test_errors():
    h = history(curve(2), curve(3))
    with pytest.raises(ValueError, match="several runs"):
        detect_grokking(pd.concat([h, h]))
    with pytest.raises(ValueError, match="column"):
        detect_grokking(h.drop(columns="accuracy"))
    with pytest.raises(ValueError, match="higher_is_better"):
        detect_grokking(h.rename(columns={"accuracy": "f1"}), metric="f1")
    with pytest.raises(ValueError, match="split 'test'"):
        detect_grokking(h[h.split == "train"])
    with pytest.raises(TypeError, match="DataFrame"):
        detect_grokking({"step": [0]})


def test_summary_over_seeds():
    results = [detect_grokking(history(curve(2), curve(t))) for t in (40, 50, 60, 70)]
    results.append(detect_grokking(history(curve(2), curve(None))))
    summary = summarise_grokking(results, random_state=0)
    assert summary.n_runs == 5 and summary.n_gaps == 4
    assert summary.fraction_grokking == pytest.approx(0.8)
    assert summary.fraction_censored == pytest.approx(0.2)
    assert summary.median_gap == 53.0
    assert 38 <= summary.gap_ci_low <= summary.median_gap <= summary.gap_ci_high <= 68
    assert summary.phase_counts == {"grokking": 4, "memorisation": 1}
    assert summary.to_dict()["n_memorisation"] == 1
    again = summarise_grokking(results, random_state=0)
    assert (again.gap_ci_low, again.gap_ci_high) == (summary.gap_ci_low, summary.gap_ci_high)


def test_summary_edge_cases():
    one = summarise_grokking([detect_grokking(history(curve(2), curve(40)))])
    assert one.median_gap == 38 and math.isnan(one.gap_ci_low)
    same = summarise_grokking([detect_grokking(history(curve(2), curve(40)))] * 3)
    assert same.gap_ci_low == same.gap_ci_high == 38
    with pytest.raises(ValueError, match="empty"):
        summarise_grokking([])
    with pytest.raises(TypeError, match="GrokkingResult"):
        summarise_grokking([{"gap": 1}])


def test_grokking_table_per_run():
    runs = [history(curve(2), curve(t)).assign(seed=seed) for seed, t in ((0, 40), (1, None))]
    table = grokking_table(pd.concat(runs), by="seed")
    assert table["seed"].tolist() == [0, 1]
    assert table["phase"].tolist() == ["grokking", "memorisation"]
    assert set(GrokkingResult.__dataclass_fields__) <= set(table.columns)


def test_exponential_gap_fit_recovers_the_rate_and_skips_censored_runs():
    from grokbeyond import fit_exponential_gap

    m = np.array([0, 10, 20, 30, 40, 40])
    gaps = [4.75 * np.exp(0.092 * v) for v in m[:-1]] + [None]
    fit = fit_exponential_gap(m, gaps)
    assert fit.rate == pytest.approx(0.092) and fit.scale == pytest.approx(4.75)
    assert fit.pearson_r == pytest.approx(1.0) and fit.n_censored == 1 and fit.n_points == 5
    # A gap <= 0 counts as ln gap = 0, as in Miller et al.'s analysis.
    assert fit_exponential_gap([0, 1, 2], [-3, 1, np.e**2]).rate == pytest.approx(1.0)
    with pytest.raises(ValueError, match="three uncensored"):
        fit_exponential_gap([0, 1, 2], [1, None, None])
    with pytest.raises(ValueError, match="one length"):
        fit_exponential_gap([0, 1], [1, 2, 3])


def test_exponential_gap_fit_intervals_cover_the_true_rate_at_their_level():
    from grokbeyond import fit_exponential_gap

    rng = np.random.default_rng(0)
    m = np.repeat([0, 10, 20, 30, 40], 3)
    covered, r_inside = 0, 0
    for _ in range(400):
        gaps = 5.0 * np.exp(0.1 * m + rng.normal(0, 0.5, m.size))
        fit = fit_exponential_gap(m, gaps, confidence_level=0.9)
        covered += fit.rate_ci[0] <= 0.1 <= fit.rate_ci[1]
        r_inside += fit.pearson_r_ci[0] <= fit.pearson_r <= fit.pearson_r_ci[1]
    assert 0.85 <= covered / 400 <= 0.95  # a 90% interval covers the true slope ~90% of the time
    assert r_inside == 400
    assert np.isnan(fit_exponential_gap([0, 1, 2], [1, 2, 4]).pearson_r_ci[0])  # Fisher needs four points


def test_median_ci_leaves_out_censored_values_and_handles_degenerate_samples():
    from grokbeyond.grokking import median_ci

    median, low, high = median_ci([10, 20, None, 30, float("nan"), 40])
    assert median == 25 and 10 <= low <= median <= high <= 40
    assert median_ci([7, 7, 7]) == (7.0, 7.0, 7.0)
    assert np.isnan(median_ci([5])[1]) and np.isnan(median_ci([])[0])
