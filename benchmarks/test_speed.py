"""Speed of grokbeyond at the papers' settings, against bare loops and the papers' code.

Run (about three minutes; not part of the test suite)::

    bash scripts/bench

For each setting, pytest-benchmark times, in this one process and with torch on one
thread (E1: two), interleaved over rounds:

- ``bare``: the same model in a bare torch loop (``benchmarks/bare.py``);
- ``fit``: ``Estimator.fit`` of the suite's first run, evaluation included;
- ``batched``: ``fit_batched`` of the runs the full reproduction trains as one batch
  (``batch_runs`` of the suite with two workers), per run.

The terminal summary prints, and ``benchmarks/RESULTS.md`` records with the machine
and date, seconds per step and the ratios fit / bare, batched / fit, and grokbeyond
against the paper code's own timings (``../shared/reference/README.md``: E1 583 s per
seed, E11 538 s per 1000 epochs, E8 3.06 epochs/s, E4 1157 steps/s; Mallinar et al.'s
RFM 1.79 s per iteration, the mean of its two seeds). Beck et al. and Das et al. published
no timings (Beck et al. no code).
"""

from __future__ import annotations

from importlib import resources

import pytest
import torch

import bare
from grokbeyond.harness import batch_runs, expand_suite, load_suite, make_run
from grokbeyond.models import fit_batched

PAPERS = resources.files("grokbeyond.reproduce")

# setting: suite file, steps timed, torch threads, the bare loop and its keyword arguments
SETTINGS = {
    "E7 linear (no prior)": ("miller2023/suites/miller2023-e7-linear-decoy-no-prior.toml", 20_000, 1, bare.linear,
                             dict(weight_init=[0.0005, 0.9, 0.9, 0.9], eval_every=1000)),
    "E4 linear": ("miller2023/suites/miller2023-e4-linear-decoy.toml", 2_000, 1, bare.linear,
                  dict(weight_init=[0.0005, 0.9, 0.9, 0.9], prior_variance=0.5, eval_every=1)),
    "E8 MLP": ("miller2023/suites/miller2023-e8-mlp-concealment.toml", 380, 1, bare.mlp, {}),
    "E11 Bayesian MLP": ("miller2023/suites/miller2023-e11-bnn-init-scale.toml", 320, 1, bare.bnn, {}),
    "E1 GP classifier": ("miller2023/suites/miller2023-e1-gp-parity.toml", 6, 2, bare.gp_classifier, {}),
    "RFM (Mallinar et al.)": ("mallinar2025/suites/mallinar2025-rfm-add.toml", 5, 1, bare.rfm, {}),
    "Beck logistic (λ 0.2)": ("beck2025/suites/beck2025-ratio.toml", 1_500, 1, bare.logistic,
                              dict(lr=0.1, fit_intercept=False)),
    "Das logistic (d 2)": ("beck2025/suites/beck2025-das.toml", 5_000, 1, bare.logistic,
                           dict(lr=20.0, fit_intercept=True)),
}

# The paper code's time for one unit of work, and our steps in that unit.
PAPER_CODE = {
    "E1 GP classifier": ("s per seed (500 steps)", 583.0, 500),
    "E11 Bayesian MLP": ("s per 1000 epochs", 538.0, 32 * 1000),
    "E8 MLP": ("s per epoch (3.06 epochs/s)", 1 / 3.06, 19),
    "E4 linear": ("s per step (1157 steps/s)", 1 / 1157, 1),
    "RFM (Mallinar et al.)": ("s per iteration", (96.73 + 82.45) / 100, 1),
}

TIMES: dict[str, dict[str, float]] = {}  # setting -> kind -> seconds per step (per run)


def _runs(name, steps):
    suite_file, *_ = SETTINGS[name]
    runs = list(expand_suite(load_suite(PAPERS / suite_file)))  # dicts to edit (each read of a SuiteRuns is new)
    for config in runs:
        config["model"]["max_iter"] = steps
    return runs


def _time(benchmark, name, kind, function, per):
    threads = SETTINGS[name][2]
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:  # a warm-up round (allocations, first factorisations), then 3 timed rounds
        benchmark.pedantic(function, rounds=3, iterations=1, warmup_rounds=1)
    finally:
        torch.set_num_threads(previous)
    if benchmark.stats is None:  # --benchmark-disable: the loops ran once, untimed
        return
    TIMES.setdefault(name, {})[kind] = benchmark.stats.stats.min / per
    benchmark.extra_info["seconds_per_step"] = TIMES[name][kind]


@pytest.mark.parametrize("name", SETTINGS)
def test_bare(benchmark, name):
    _, steps, _, loop, kwargs = SETTINGS[name]
    data, _ = make_run(_runs(name, steps)[0])
    _time(benchmark, name, "bare", lambda: loop(data, steps, **kwargs), steps)


@pytest.mark.parametrize("name", SETTINGS)
def test_fit(benchmark, name):
    steps = SETTINGS[name][1]
    data, estimator = make_run(_runs(name, steps)[0])
    _time(benchmark, name, "fit",
          lambda: estimator.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test)), steps)


@pytest.mark.parametrize("name", SETTINGS)
def test_batched(benchmark, name):
    steps = SETTINGS[name][1]
    group = batch_runs(_runs(name, steps), n_jobs=2)[0]
    runs = [make_run(config) for config in group]
    if len(runs) == 1:
        pytest.skip(f"{name}: the family does not batch")
    datasets = [(data.X_train, data.y_train, (data.X_test, data.y_test)) for data, _ in runs]
    estimators = [estimator for _, estimator in runs]
    benchmark.extra_info["replicates"] = len(runs)
    TIMES.setdefault(name, {})["replicates"] = len(runs)
    _time(benchmark, name, "batched", lambda: fit_batched(estimators, datasets), steps * len(runs))
