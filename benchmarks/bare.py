"""Bare loops: each paper setting's model written directly in torch (or gpytorch).

A bare loop trains the same model on the same data, with minibatches of the same size
drawn the same way (an epoch-wise shuffle; its own generator) and the same evaluation
schedule as grokbeyond's run of that setting, and records what the paper's code records
at an evaluation (train and test loss and accuracy, as Python floats) and nothing else:
no history rows, no complexity terms, no model quantities. It uses autograd and
``torch.optim`` as anyone writing the loop by hand would. The benchmark's ratio
grokbeyond / bare loop is the cost (or gain) of the library.

The benchmark times each call whole (set-up included, as it times ``fit``); the
functions also return the seconds of their loop alone.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F


def _tensors(data, dtype):
    return (torch.tensor(data.X_train, dtype=dtype), torch.tensor(data.y_train),
            torch.tensor(data.X_test, dtype=dtype), torch.tensor(data.y_test))


def _evaluate(logits_of, X, y, X_test, y_test):
    with torch.no_grad():
        for A, b in ((X, y), (X_test, y_test)):
            logits = logits_of(A)
            F.cross_entropy(logits, b).item()
            (logits.argmax(-1) == b).float().mean().item()


def _minibatch_loop(steps, n, batch_size, eval_every, generator, optimizer, objective, evaluate):
    """Epoch-wise shuffled minibatch SGD for ``steps`` steps, ``evaluate()`` every
    ``eval_every``; returns the loop's seconds."""
    start = time.perf_counter()
    step = 0
    while step < steps:
        order = torch.randperm(n, generator=generator)
        for begin in range(0, n, batch_size):
            if step == steps:
                break
            if step % eval_every == 0:
                evaluate()
            optimizer.zero_grad()
            objective(order[begin : begin + batch_size]).backward()
            optimizer.step()
            step += 1
    return time.perf_counter() - start


def linear(data, steps, *, lr=1e-3, noise_variance=0.002, prior_variance=None, weight_init, eval_every=1):
    """E4–E7: y = Xw by full-batch SGD on Σ(ŷ−y)²/σ²/n (+ Σw²/s²/n)."""
    X, y, X_test, y_test = (t.double() for t in _tensors(data, torch.float64))
    w = torch.tensor(weight_init, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=lr)
    start = time.perf_counter()
    for step in range(steps):
        optimizer.zero_grad()
        objective = (X @ w - y).square().sum() / noise_variance / len(y)
        if prior_variance is not None:
            objective = objective + w.square().sum() / prior_variance / len(y)
        objective.backward()
        if step % eval_every == 0:
            with torch.no_grad():
                for A, b in ((X, y), (X_test, y_test)):
                    prediction = A @ w
                    (prediction - b).square().mean().item()
                    (torch.sign(prediction) == torch.sign(b)).double().mean().item()
        optimizer.step()
    return time.perf_counter() - start


def linear_numpy(data, steps, *, lr=1e-3, noise_variance=0.002, weight_init, eval_every=1):
    """E7 in NumPy with the closed-form gradient (the floor of a Python loop)."""
    X, y = np.asarray(data.X_train, float), np.asarray(data.y_train, float)
    X_test, y_test = np.asarray(data.X_test, float), np.asarray(data.y_test, float)
    w = np.array(weight_init, dtype=float)
    start = time.perf_counter()
    for step in range(steps):
        residual = X @ w - y
        if step % eval_every == 0:
            for A, b in ((X, y), (X_test, y_test)):
                prediction = A @ w
                float(np.mean((prediction - b) ** 2)), float(np.mean(np.sign(prediction) == np.sign(b)))
        w -= lr * 2.0 / noise_variance / len(y) * (X.T @ residual)
    return time.perf_counter() - start


def logistic(data, steps, *, lr, fit_intercept, eval_every="log"):
    """Beck et al. / Das et al.: z = Xw (+ b) by full-batch gradient descent on the mean binary cross-entropy
    from zero, no weight decay, evaluated at the steps grokbeyond's run evaluates (its ``evaluation_steps``)."""
    from grokbeyond.models import evaluation_steps

    X, y, X_test, y_test = _tensors(data, torch.float64)
    y, y_test = y.double(), y_test.double()
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=fit_intercept)
    optimizer = torch.optim.SGD([w, b] if fit_intercept else [w], lr=lr)
    evaluated = set(evaluation_steps(steps, eval_every).tolist())
    start = time.perf_counter()
    for step in range(steps + 1):
        if step in evaluated:
            with torch.no_grad():
                for A, target in ((X, y), (X_test, y_test)):
                    logits = A @ w + b
                    F.binary_cross_entropy_with_logits(logits, target).item()
                    ((logits > 0).double() == target).double().mean().item()
        if step == steps:
            break
        optimizer.zero_grad()
        F.binary_cross_entropy_with_logits(X @ w + b, y).backward()
        optimizer.step()
    return time.perf_counter() - start


def mlp(data, steps, *, hidden_size=1000, lr=0.1, weight_decay=1e-2, batch_size=32, eval_every=19, seed=0):
    """E8: relu(X W₁ + b₁) W₂, Xavier-uniform init, minibatch SGD with weight decay."""
    X, y, X_test, y_test = _tensors(data, torch.float32)
    generator = torch.Generator().manual_seed(seed)
    n_features, n_classes = X.shape[1], int(y.max()) + 1

    def xavier(fan_in, fan_out):
        bound = (6.0 / (fan_in + fan_out)) ** 0.5
        return ((2 * torch.rand(fan_in, fan_out, generator=generator) - 1) * bound).requires_grad_()

    W1, b1, W2 = xavier(n_features, hidden_size), torch.zeros(hidden_size, requires_grad=True), \
        xavier(hidden_size, n_classes)
    optimizer = torch.optim.SGD([W1, b1, W2], lr=lr, weight_decay=weight_decay)

    def logits_of(A):
        return torch.relu(A @ W1 + b1) @ W2

    def objective(index):
        return F.cross_entropy(logits_of(X[index]), y[index])

    return _minibatch_loop(steps, len(y), batch_size, eval_every, generator, optimizer, objective,
                           lambda: _evaluate(logits_of, X, y, X_test, y_test))


def bnn(data, steps, *, hidden_size=200, lr=0.1, batch_size=32, init_scale=1.0, init_posterior_scale=0.01,
        prior_scale=1.0, eval_every=32, seed=0):
    """E11: mean-field Gaussian Bayesian MLP, one reparameterised weight draw per step,
    −ELBO/N with the closed-form KL, minibatch SGD; evaluation by one weight draw."""
    X, y, X_test, y_test = _tensors(data, torch.float32)
    generator = torch.Generator().manual_seed(seed)
    n_features, n_classes = X.shape[1], int(y.max()) + 1
    shapes = [(n_features, hidden_size), (hidden_size,), (hidden_size, n_classes), (n_classes,)]
    locs = [(init_scale * torch.randn(shape, generator=generator)).requires_grad_() for shape in shapes]
    log_scales = [torch.full(shape, float(np.log(init_posterior_scale)), requires_grad=True) for shape in shapes]
    n_weights = sum(m.numel() for m in locs)
    optimizer = torch.optim.SGD(locs + log_scales, lr=lr)

    def draw():
        return [m + s.exp() * torch.randn(m.shape, generator=generator) for m, s in zip(locs, log_scales)]

    def logits_of(A, weights=None):
        W1, b1, W2, b2 = weights if weights is not None else draw()
        return torch.relu(A @ W1 + b1) @ W2 + b2

    def objective(index):
        kl = sum((0.5 * ((2 * s).exp() + m.square()) / prior_scale**2 - s).sum() for m, s in zip(locs, log_scales))
        kl = kl + n_weights * (np.log(prior_scale) - 0.5)
        return F.cross_entropy(logits_of(X[index]), y[index]) + kl / len(y)

    return _minibatch_loop(steps, len(y), batch_size, eval_every, generator, optimizer, objective,
                           lambda: _evaluate(logits_of, X, y, X_test, y_test))


def gp_classifier(data, steps, *, lr=1e-2):
    """E1: variational GP, inducing points fixed at the training inputs (unwhitened,
    full-rank q(u)), ARD RBF kernel, Bernoulli likelihood, Adam, exact Cholesky; train
    and test accuracy every step (as the paper's code)."""
    import gpytorch

    class BareGP(gpytorch.models.ApproximateGP):
        def __init__(self, inducing_points):
            distribution = gpytorch.variational.CholeskyVariationalDistribution(inducing_points.size(0))
            strategy = gpytorch.variational.UnwhitenedVariationalStrategy(
                self, inducing_points, distribution, learn_inducing_locations=False)
            super().__init__(strategy)
            self.mean_module = gpytorch.means.ConstantMean()
            self.covar_module = gpytorch.kernels.ScaleKernel(
                gpytorch.kernels.RBFKernel(ard_num_dims=inducing_points.size(1)))

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))

    X, y, X_test, y_test = _tensors(data, torch.float32)
    y, y_test = y.float(), y_test.float()
    model, likelihood = BareGP(X), gpytorch.likelihoods.BernoulliLikelihood()
    elbo = gpytorch.mlls.VariationalELBO(likelihood, model, num_data=len(y))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    with gpytorch.settings.max_cholesky_size(20_000):
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            output = model(X)
            (-elbo(output, y)).backward()
            with torch.no_grad():
                ((output.mean > 0).float() == y).float().mean().item()
                ((model(X_test).mean > 0).float() == y_test).float().mean().item()
            optimizer.step()
        return time.perf_counter() - start


def rfm(data, steps, *, bandwidth=2.5, agop_power=0.5):
    """Mallinar et al.'s RFM as the authors' ``train_kernel.py`` runs it: per iteration an
    exact solve (``torch.linalg.solve``, ridge 0) with the Gaussian Mahalanobis kernel,
    train and test MSE and accuracy, then M ← AGOP^s of the centred gradients at the
    training points (their ``get_grads``: one (n, c·d) product with the kernel)."""
    X, y, X_test, y_test = _tensors(data, torch.float64)
    Y = F.one_hot(y).double()
    Y_test = F.one_hot(y_test, Y.shape[1]).double()
    n, d = X.shape
    M = torch.eye(d, dtype=torch.float64)

    def kernel(A, B):
        squared = ((A @ M) * A).sum(1, keepdim=True) + ((B @ M) * B).sum(1)[None] - 2 * (A @ M) @ B.T
        return torch.exp(-squared.clamp(min=0) / (2 * bandwidth**2))

    start = time.perf_counter()
    for _ in range(steps):
        K = kernel(X, X)
        alpha = torch.linalg.solve(K, Y)
        for A, B, targets in ((K, alpha, Y), (kernel(X_test, X), alpha, Y_test)):
            outputs = A @ B
            (outputs - targets).square().mean().item()
            (outputs.argmax(1) == targets.argmax(1)).double().mean().item()
        XM = X @ M
        step1 = (alpha[:, :, None] * XM[:, None, :]).reshape(n, -1)
        G = (K @ step1).reshape(n, -1, d) - (K @ alpha)[:, :, None] * XM[:, None, :]
        G = (G - G.mean(0)) / bandwidth**2
        agop = torch.einsum("ncd,nce->de", G, G) / n
        eigenvalues, vectors = torch.linalg.eigh(agop)
        M = (vectors * eigenvalues.clamp(min=0) ** agop_power) @ vectors.T
    return time.perf_counter() - start
