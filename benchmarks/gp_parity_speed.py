"""Seconds per optimisation step of GPClassifier on E1, against a bare gpytorch loop.

Both run the same model on the same data in the same process: sparse parity (k=3 in
40 bits, 1000 training / 100 test points), a variational GP with inducing points fixed
at the training inputs (unwhitened, full-rank q(u)), ARD RBF kernel, Bernoulli
likelihood, Adam lr 1e-2, exact Cholesky. The bare loop evaluates the train and test
accuracy every step like GPClassifier does (the paper's code does the same), but
records nothing else. The ratio GPClassifier / bare is the cost of grokbeyond's
bookkeeping (the history rows, the extra test forward pass, terms, lengthscales).

Run:  .venv/bin/python benchmarks/gp_parity_speed.py [--steps 40] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time

import gpytorch
import numpy as np
import torch

from grokbeyond.datasets import make_sparse_parity
from grokbeyond.models import GPClassifier


class BareGP(gpytorch.models.ApproximateGP):
    def __init__(self, inducing_points):
        distribution = gpytorch.variational.CholeskyVariationalDistribution(inducing_points.size(0))
        strategy = gpytorch.variational.UnwhitenedVariationalStrategy(
            self, inducing_points, distribution, learn_inducing_locations=False
        )
        super().__init__(strategy)
        self.mean_module = gpytorch.means.ConstantMean()
        self.covar_module = gpytorch.kernels.ScaleKernel(
            gpytorch.kernels.RBFKernel(ard_num_dims=inducing_points.size(1))
        )

    def forward(self, x):
        return gpytorch.distributions.MultivariateNormal(self.mean_module(x), self.covar_module(x))


def bare_loop(data, steps: int) -> float:
    """Seconds per step of a plain gpytorch training loop."""
    X, y = torch.tensor(data.X_train, dtype=torch.float32), torch.tensor(data.y_train, dtype=torch.float32)
    X_test, y_test = torch.tensor(data.X_test, dtype=torch.float32), torch.tensor(data.y_test, dtype=torch.float32)
    model, likelihood = BareGP(X), gpytorch.likelihoods.BernoulliLikelihood()
    elbo = gpytorch.mlls.VariationalELBO(likelihood, model, num_data=len(y))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    with gpytorch.settings.max_cholesky_size(20_000):
        start = time.perf_counter()
        for _ in range(steps):
            optimizer.zero_grad()
            output = model(X)
            loss = -elbo(output, y)
            loss.backward()
            with torch.no_grad():
                ((output.mean > 0).float() == y).float().mean().item()
                ((model(X_test).mean > 0).float() == y_test).float().mean().item()
            optimizer.step()
        return (time.perf_counter() - start) / steps


def grokbeyond_loop(data, steps: int) -> float:
    """Seconds per step of GPClassifier.fit (including its set-up)."""
    clf = GPClassifier(max_iter=steps, random_state=0)
    start = time.perf_counter()
    clf.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = make_sparse_parity(40, 3, 1000, 100, random_state=42)
    bare_loop(data, 3)  # warm-up (allocations, first Cholesky)
    bare, ours = [], []
    for _ in range(args.repeats):  # interleaved so machine noise hits both alike
        bare.append(bare_loop(data, args.steps))
        ours.append(grokbeyond_loop(data, args.steps))
    b, o = np.median(bare), np.median(ours)
    print(f"torch {torch.__version__}, gpytorch {gpytorch.__version__}, {torch.get_num_threads()} threads, "
          f"{args.steps} steps x {args.repeats} repeats (median)")
    print(f"bare gpytorch loop : {b:.4f} s/step")
    print(f"GPClassifier.fit   : {o:.4f} s/step")
    print(f"ratio GPClassifier / bare = {o / b:.2f}")


if __name__ == "__main__":
    main()
