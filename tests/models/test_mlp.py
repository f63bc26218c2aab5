import numpy as np
import pytest
import torch

from grokbeyond import detect_grokking
from grokbeyond.datasets import conceal, make_modular_arithmetic
from grokbeyond.models import MLPClassifier


def test_terms_and_norms_match_their_formulas():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    clf = MLPClassifier(hidden_size=7, max_iter=5, weight_decay=0.1, batch_size=16, random_state=0).fit(X, y)
    W1, b1, W2 = (p.detach()[0].numpy().astype(float) for p in clf.params_)
    logits = np.maximum(X @ W1 + b1, 0) @ W2
    log_proba = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    final = clf.history_.iloc[-1]
    np.testing.assert_allclose(final["data_fit"], -log_proba[np.arange(60), y].mean(), rtol=1e-5)
    squared = sum(np.sum(p**2) for p in (W1, b1, W2))
    np.testing.assert_allclose(final["complexity"], 0.05 * squared, rtol=1e-5)
    np.testing.assert_allclose(final["spectral_norm_0"], np.linalg.norm(W1, 2), rtol=1e-5)
    np.testing.assert_allclose(final["spectral_norm_1"], np.linalg.norm(W2, 2), rtol=1e-5)
    assert clf.predict_proba(X).shape == (60, 3)


def test_objective_gradient_is_sgd_with_coupled_weight_decay():
    # Gradient descent on data_fit + (λ/2)‖θ‖² is torch's SGD with weight_decay=λ.
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 3)), np.arange(20) % 2
    ours = MLPClassifier(hidden_size=4, max_iter=1, weight_decay=0.3, lr=0.5, batch_size=None, random_state=0)
    start = MLPClassifier(hidden_size=4, max_iter=0, random_state=0).fit(X, y)
    ours.fit(X, y)
    params = [p.detach().clone().requires_grad_() for p in start.params_]
    torch_sgd = torch.optim.SGD(params, lr=0.5, weight_decay=0.3)
    Xt, yt = torch.tensor(X, dtype=torch.float32)[None], torch.tensor(y)[None]
    logits = torch.relu(Xt @ params[0] + params[1]) @ params[2]
    torch.nn.functional.cross_entropy(logits[0], yt[0]).backward()
    torch_sgd.step()
    for mine, reference in zip(ours.params_, params):
        torch.testing.assert_close(mine.detach(), reference.detach())


def test_concealed_modular_addition_groks():
    # Paper E8 setting: a+b mod 7, 600/200 pairs drawn with replacement, 10 concealed bits.
    data = conceal(make_modular_arithmetic("add", 7, sampling="with_replacement", n_train=600, n_test=200,
                                           random_state=0), 10, random_state=0)
    clf = MLPClassifier(max_iter=1500, eval_every=19, random_state=0)
    clf.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    result = detect_grokking(clf.history_, min_delay=100)
    assert result.phase == "grokking", result


def test_a_diverging_replicate_fails_alone_with_its_history():
    # One replicate overflows float32 (init_scale 1e25), the other trains: the failed one's
    # spectral norms cannot be computed from NaN weights, yet the batch goes on.
    from grokbeyond.models import NumericalError, fit_batched

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    members = [MLPClassifier(hidden_size=8, lr=1.0, batch_size=None, max_iter=40, eval_every=5, random_state=0,
                             init_scale=scale) for scale in (1.0, 1e25)]
    ok, failed = fit_batched(members, [(X, y), (X, y)])
    assert ok is None and isinstance(failed, NumericalError) and "not finite" in str(failed)
    assert members[0].history_["step"].max() == 40
    assert len(failed.history) == failed.step // 5 and not hasattr(members[1], "history_")
    with pytest.raises(NumericalError):
        MLPClassifier(hidden_size=8, lr=1.0, batch_size=None, max_iter=40, eval_every=5, random_state=0,
                      init_scale=1e25).fit(X, y)
