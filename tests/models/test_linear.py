import numpy as np
import pytest

from grokbeyond import detect_grokking
from grokbeyond.datasets import make_decoy_linear
from grokbeyond.models import LinearRegression


def test_terms_match_their_formulas():
    data = make_decoy_linear(random_state=0)
    est = LinearRegression(max_iter=10, weight_init=[0.1, 0.2, 0.3, 0.4]).fit(
        data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    w = est.coef_
    final = est.history_.groupby("split", observed=True).last()
    for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        residual = X @ w - y
        np.testing.assert_allclose(final.loc[split, "data_fit"], np.sum(residual**2) / 0.002 / len(y), rtol=1e-10)
        np.testing.assert_allclose(final.loc[split, "complexity"], np.sum(w**2) / 0.5 / 2, rtol=1e-10)
        np.testing.assert_allclose(final.loc[split, "sign_accuracy"], np.mean(np.sign(X @ w) == np.sign(y)))
        np.testing.assert_allclose(final.loc[split, "error"], np.mean(residual**2), rtol=1e-10)


def test_paper_e4_complexity_falls_and_a_seed_groks():
    # Miller et al. E4: init [0.0005, 0.9, 0.9, 0.9]; complexity 2.43 -> ~0.07 over 5000 steps.
    data = make_decoy_linear(random_state=1)
    est = LinearRegression(weight_init=[0.0005, 0.9, 0.9, 0.9], eval_every=10)
    est.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    complexity = est.history_.query("split == 'train'")["complexity"].to_numpy()
    assert complexity[0] == pytest.approx(2.43, abs=0.01)
    assert complexity[-1] < 0.1
    result = detect_grokking(est.history_, metric="sign_accuracy", threshold=0.95, strict=True, min_delay=100)
    assert result.phase == "grokking" and result.t_memorise <= 10 and result.t_generalise >= 500


def test_without_prior_complexity_is_zero_and_weight_init_is_checked():
    data = make_decoy_linear(random_state=0)
    est = LinearRegression(max_iter=5, prior_variance=None).fit(data.X_train, data.y_train)
    assert (est.history_["complexity"] == 0).all()
    with pytest.raises(ValueError, match="weight_init"):
        LinearRegression(weight_init=[1.0, 2.0]).fit(data.X_train, data.y_train)


def test_threshold_accuracy_reads_a_regressors_grokking():
    from grokbeyond.datasets import make_linear_teacher
    from grokbeyond.grokking import detect_grokking

    data = make_linear_teacher(n_features=20, n_train=40, n_test=500, random_state=0)
    model = LinearRegression(noise_variance=1.0, prior_variance=None, lr=0.05, max_iter=400, epsilon=1e-3,
                             eval_every=10)
    model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    test = model.history_[model.history_["split"] == "test"]
    residual = data.X_test @ model.coef_ - data.y_test
    assert test["threshold_accuracy"].iloc[-1] == np.mean(residual**2 < 1e-3)
    result = detect_grokking(model.history_, metric="threshold_accuracy", min_delay=1)
    assert result.t_memorise is not None and result.t_generalise is not None
    assert result.t_generalise >= result.t_memorise  # train first
    assert "threshold_accuracy" not in LinearRegression(max_iter=2).fit(data.X_train, data.y_train).history_
    with pytest.raises(ValueError, match="epsilon"):
        LinearRegression(epsilon=0.0).fit(data.X_train, data.y_train)
