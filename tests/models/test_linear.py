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


def test_several_outputs_train_as_independent_columns():
    from grokbeyond.datasets import make_linear_teacher

    data = make_linear_teacher(n_features=6, n_outputs=3, n_train=10, n_test=50, noise=0.1, random_state=0)
    params = dict(noise_variance=0.5, prior_variance=2.0, lr=0.02, max_iter=50, fit_intercept=True)
    multi = LinearRegression(**params).fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    assert multi.coef_.shape == (3, 6) and multi.intercept_.shape == (3,) and multi.n_outputs_ == 3
    assert multi.predict(data.X_test).shape == (50, 3)
    train = multi.history_[multi.history_["split"] == "train"]
    assert [f"weight_{i}" for i in range(18)] == [c for c in train if c.startswith("weight_")]
    singles = [LinearRegression(**params).fit(data.X_train, data.y_train[:, k]) for k in range(3)]
    np.testing.assert_allclose(multi.coef_, [s.coef_ for s in singles], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(multi.intercept_, [s.intercept_ for s in singles], rtol=1e-12, atol=1e-14)
    data_fit = sum(s.history_.query("split == 'train'")["data_fit"].to_numpy() for s in singles)
    np.testing.assert_allclose(train["data_fit"], data_fit, rtol=1e-12)
    with pytest.raises(ValueError, match=r"weight_init must be a finite array of shape \(6, 3\)"):
        LinearRegression(weight_init=np.zeros(6), max_iter=1).fit(data.X_train, data.y_train)


@pytest.mark.parametrize("n_outputs, weight_decay", [(1, 0.0), (4, 0.0), (2, 0.02)])
def test_the_teacher_student_run_follows_the_exact_theory(n_outputs, weight_decay):
    # Levi et al.'s setting: torch's MSE over all entries is noise_variance = n_outputs, and their
    # weight decay γ is prior_variance = 2 / (γ n_train).
    from grokbeyond.datasets import make_linear_teacher
    from grokbeyond.theory import linear_gd_trajectory

    data = make_linear_teacher(n_features=40, n_outputs=n_outputs, n_train=60, n_test=10, random_state=1)
    init = np.random.default_rng(0).normal(0, (2 * 40 * n_outputs) ** -0.5, (40, n_outputs))
    model = LinearRegression(noise_variance=n_outputs, lr=0.05, max_iter=80, epsilon=0.01,
                             prior_variance=2 / (weight_decay * 60) if weight_decay else None,
                             weight_init=init[:, 0] if n_outputs == 1 else init)
    model.fit(data.X_train, data.y_train)
    exact = linear_gd_trajectory(data.X_train, data.teacher.T, init, lr=0.05, max_iter=80,
                                 weight_decay=weight_decay, epsilon=0.01)
    train = model.history_[model.history_["split"] == "train"]
    np.testing.assert_allclose(train["error"], exact["train_loss"], rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(train["threshold_accuracy"], exact["train_accuracy"])
    weights = model.coef_.T if n_outputs > 1 else model.coef_[:, None]
    final_test_loss = ((weights - data.teacher.T) ** 2).sum() / n_outputs
    assert final_test_loss == pytest.approx(exact["test_loss"].iloc[-1], rel=1e-9)
    if 40 * n_outputs > 128:
        assert "weight_norm" in train and "weight_0" not in train


def test_init_scale_draws_the_student_from_random_state_alone():
    # Levi et al.'s student N(0, 1/(2 d_in d_out)) is init_scale = (2 d_out)^-1/2; the draw is the
    # estimator's own (same random_state, same student; batched replicates draw as single fits).
    from grokbeyond.models import fit_replicates

    X = np.random.default_rng(0).normal(size=(30, 400))
    Y = np.zeros((30, 3))
    first = LinearRegression(init_scale=6 ** -0.5, max_iter=0, random_state=4, noise_variance=3).fit(X, Y)
    again = LinearRegression(init_scale=6 ** -0.5, max_iter=0, random_state=4, noise_variance=3).fit(X, Y)
    np.testing.assert_array_equal(first.coef_, again.coef_)
    assert first.coef_.var() == pytest.approx(1 / (2 * 400 * 3), rel=0.1)
    shifted = LinearRegression(weight_init=1.0, init_scale=6 ** -0.5, max_iter=0, random_state=4,
                               noise_variance=3).fit(X, Y)
    np.testing.assert_allclose(shifted.coef_, first.coef_ + 1.0)
    fits = fit_replicates(LinearRegression(init_scale=0.5, max_iter=3, noise_variance=3), X, Y, random_state=[4, 5])
    for fit, seed in zip(fits.estimators, [4, 5]):
        single = LinearRegression(init_scale=0.5, max_iter=3, noise_variance=3, random_state=seed).fit(X, Y)
        np.testing.assert_allclose(fit.coef_, single.coef_, rtol=1e-12)
    with pytest.raises(ValueError, match="init_scale"):
        LinearRegression(init_scale=-1.0).fit(X, Y)


def test_a_one_column_target_stays_two_dimensional():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = X @ np.array([[1.0], [0.0], [-1.0]])
    model = LinearRegression(noise_variance=1.0, prior_variance=None, lr=0.05, max_iter=50).fit(X, y)
    assert model.predict(X).shape == (20, 1) and model.coef_.shape == (1, 3) and model.intercept_.shape == (1,)
    flat = LinearRegression(noise_variance=1.0, prior_variance=None, lr=0.05, max_iter=50).fit(X, y[:, 0])
    np.testing.assert_array_equal(model.coef_[0], flat.coef_)


@pytest.mark.parametrize("beta2", [0.0, 1e-3])
def test_l1_is_notsawo_et_al_s_subgradient_descent(beta2):
    # Their update, a ← a − α(Xᵀ(Xa − y) + β₂a + β₁ sign(a)), in numpy as their code runs it.
    from grokbeyond.datasets import make_sparse_recovery

    data = make_sparse_recovery(n_features=20, n_informative=2, n_train=10, n_test=50, random_state=0)
    X, y, alpha, beta1, steps = data.X_train, data.y_train, 0.1, 1e-2, 300
    a, path = 10.0 * np.ones(20), []
    for _ in range(steps + 1):
        path.append(a.copy())
        a = a - alpha * (X.T @ (X @ a - y) + beta2 * a + beta1 * np.sign(a))
    model = LinearRegression(noise_variance=2 / 10, prior_variance=2 / (beta2 * 10) if beta2 else None,
                             l1_penalty=beta1, lr=alpha, max_iter=steps, weight_init=10.0 * np.ones(20))
    model.fit(X, y, eval_set=(data.X_test, data.y_test))
    train = model.history_[model.history_["split"] == "train"]
    np.testing.assert_allclose(train[[f"weight_{i}" for i in range(20)]], np.array(path), rtol=1e-9, atol=1e-12)
    objective = 0.5 * np.sum((X @ path[-1] - y) ** 2) + beta2 / 2 * path[-1] @ path[-1] + beta1 * np.abs(path[-1]).sum()
    assert train["objective"].iloc[-1] == pytest.approx(objective, rel=1e-9)
    with pytest.raises(ValueError, match="l1_penalty"):
        LinearRegression(l1_penalty=-1.0).fit(X, y)


def test_l1_sparse_recovery_groks_after_a_delay_of_about_eleven_over_alpha_beta():
    # Notsawo et al.'s setting (n = 100, s = 5, N = 30, init 10·1): the recovery error settles
    # (within 5% of its final value for good) Δt ≈ c / (αβ) steps in, c ≈ 10.8 in their code's runs.
    from grokbeyond.datasets import make_sparse_recovery
    from grokbeyond.theory import notsawo_delay

    data = make_sparse_recovery(random_state=0)
    products = []
    for alpha, beta in ((0.1, 1e-2), (0.05, 1e-2)):
        steps = int(4 * notsawo_delay(alpha, beta, constant=10.0))
        model = LinearRegression(noise_variance=2 / 30, prior_variance=None, l1_penalty=beta, lr=alpha,
                                 max_iter=steps, weight_init=10.0, eval_every=100)
        train = model.fit(data.X_train, data.y_train).history_.query("split == 'train'")
        weights = train[[f"weight_{i}" for i in range(100)]].to_numpy()
        recovery = np.linalg.norm(weights - data.coef, axis=1) / np.linalg.norm(data.coef)
        settled = np.abs(recovery / recovery[-1] - 1) <= 0.05
        first = next(i for i in range(len(settled)) if settled[i:].all())
        products.append(train["step"].iloc[first] * alpha * beta)
        assert recovery[0] > 100 and recovery[-1] < 0.2  # from far away to the sparse teacher
    assert 9 < products[0] < 13 and products[1] == pytest.approx(products[0], rel=0.05)
