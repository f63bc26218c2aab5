"""The beck2025 page: the delay against λ = d/N near ½, separability and the limiting accuracy, the
noise scale, and Das et al.'s falsification test. Separability is read from each run's rebuilt
training set (``claims.run_table``); nothing trains."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ...theory import separability_probability
from .claims import ACCURACY, DAS, NOISE, RATIO, ZETA, das_table, delay_fit, run_table

__all__ = ["INTRO", "sections"]

INTRO = (
    "Beck et al.'s model: N inputs of two classes, y = ±1, that differ only along one axis (x₀ = ±μ, μ = 1) and carry "
    "Gaussian noise N(0, σ²) in d further dimensions (`make_two_gaussians`); a logistic regression without intercept "
    "(`LogisticRegression(fit_intercept=False, weight_decay=0)`) on them is exactly their constant-label model with a "
    "bias (b = μw₀), trained by full-batch gradient descent on the mean cross-entropy from zero. **From the paper's "
    "text:** the model, the constant label, λ = d/N and its critical value ½, no regularisation, full-batch gradient "
    "descent, η = 0.1 (their fig. 4), the 95% test-accuracy threshold (fig. 3); sections, propositions, equations and "
    "figures are numbered as in arXiv v2, which we read through quoted passages. **Ours** (the settings of the paper's "
    "main figures and its initialisation could not be confirmed, and it has no public code): N = 1000, σ = 5 "
    "(and σ = 1–5 at λ = 0.45), zero initialisation, 4000 test points (95% read to ±0.0034), five seeds, and the "
    "step budgets. Every run's training set is rebuilt from its config and tested for separability from the "
    "origin (`grokbeyond.theory.origin_margin`, checked against linear programming in the tests). Intervals are "
    "95% intervals over runs (bootstrap, or Student's t for slopes)."
)


def _curves_figure(history, table):
    """Train and test accuracy of seed 0 at every λ."""
    runs = table[table["seed"] == table["seed"].min()].sort_values(["noise_scale", "ratio"])
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    ax_train, ax_test = fig.subplots(1, 2, sharey=True)
    colours = dict(zip(sorted(runs["ratio"].unique()), [f"C{i % 10}" for i in range(runs["ratio"].nunique())]))
    for _, run in runs.iterrows():
        rows = history[history["run_id"] == run["run_id"]].sort_values("step")
        style = "--" if run["separable"] else "-"
        label = f"λ = {run['ratio']:g}" + (" (separable)" if run["separable"] else "")
        for ax, split in ((ax_train, "train"), (ax_test, "test")):
            curve = rows[rows["split"] == split]
            ax.plot(curve["step"].clip(lower=1), curve["accuracy"], style, color=colours[run["ratio"]], label=label)
    for ax, split in ((ax_train, "train"), (ax_test, "test")):
        ax.axhline(ACCURACY, color="grey", lw=0.8)
        ax.set(xscale="log", xlabel="step", ylabel=f"{split} accuracy", title=f"{split.capitalize()} accuracy (seed 0)")
    ax_test.legend(fontsize=7, ncol=2)
    return fig


def _delay_figure(table):
    """The steps to 95% test accuracy on log–log axes against ½ − λ, and the toy model's coordinates."""
    below = table[(table["ratio"] < 0.5) & ~table["separable"]]
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    ax_log, ax_toy = fig.subplots(1, 2)
    reached = below[below["t_test"].notna()]
    censored = below[below["t_test"].isna()]
    ax_log.plot(0.5 - reached["ratio"], reached["t_test"], "o", alpha=0.5, label="steps to 95% test accuracy")
    ax_log.plot(0.5 - reached["ratio"], reached["delay"].clip(lower=1), "x", alpha=0.5, color="C1",
                label="delay Δt (test − train step)")
    if len(censored):
        ax_log.plot(0.5 - censored["ratio"], censored["max_step"], "^", color="C3", label="not reached (budget)")
    medians = reached.groupby("ratio")["t_test"].median()
    ax_log.plot(0.5 - medians.index, medians.to_numpy(), "-", color="k", lw=1, label="median")
    ax_log.set(xscale="log", yscale="log", xlabel="½ − λ", ylabel="steps", title="The delay diverges as λ → ½⁻")
    ax_log.invert_xaxis()
    ax_log.legend(fontsize=8)
    x = -np.log1p(-2 * reached["ratio"])
    ax_toy.plot(x, np.sqrt(np.log(reached["delay_ratio"].clip(lower=1))), "o", alpha=0.5, label="runs")
    grid = np.linspace(0, x.max() * 1.05, 50)
    ax_toy.plot(grid, grid / np.sqrt(2), "--", color="k", label="toy model (app. E): slope 1/√2")
    ax_toy.set(xlabel="−log(1 − 2λ)", ylabel="√log(t_test / t_train)",
               title="Beck et al.'s fig. 9 coordinates")
    ax_toy.legend(fontsize=8)
    return fig


def _separability_figure(table):
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    ax_count, ax_limit = fig.subplots(1, 2)
    n_train = int(table["n_train"].iloc[0])
    grouped = table.groupby("ratio")["separable"].agg(["mean", "size"])
    ax_count.plot(grouped.index, grouped["mean"], "o", label=f"runs (N = {n_train})")
    ratios = np.linspace(max(table["ratio"].min() - 0.05, 0.01), table["ratio"].max() + 0.05, 200)
    ax_count.plot(ratios, separability_probability(np.round(ratios * n_train).astype(int), n_train), "-",
                  color="k", label="Wendel's count")
    ax_count.axvline(0.5, color="grey", lw=0.8)
    ax_count.set(xlabel="λ = d/N", ylabel="fraction separable from the origin", title="Separability (prop. 3.3)")
    ax_count.legend(fontsize=8)
    separable = table[table["separable"]]
    if len(separable):
        ax_limit.plot(separable["limit"], separable["final_test_accuracy"], "o")
        low = min(separable["limit"].min(), separable["final_test_accuracy"].min()) - 0.02
        ax_limit.plot([low, 1], [low, 1], "--", color="k", lw=1, label="y = x")
        ax_limit.legend(fontsize=8)
    ax_limit.set(xlabel="limit Φ(1/(σM)) of the run's margin M", ylabel="final test accuracy",
                 title="Separable training sets (prop. 3.2)")
    return fig


def _noise_figure(table):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    reached = table[table["t_test"].notna()]
    ax.plot(reached["noise_scale"], reached["t_test"], "o", alpha=0.6, label="steps to 95% test accuracy")
    ax.plot(reached["noise_scale"], reached["t_train"], "s", alpha=0.6, label="steps to 95% train accuracy")
    ax.set(xscale="log", yscale="log", xlabel="σ", ylabel="steps",
           title=f"The noise scale at λ = {table['ratio'].iloc[0]:g}")
    ax.legend(fontsize=8)
    return fig


def _das_figure(history, table):
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, (split, runs) in zip(axes, table.groupby("test_split")):
        for i, (_, run) in enumerate(runs.iterrows()):
            rows = history[history["run_id"] == run["run_id"]].sort_values("step")
            for name, style in (("train", "-"), ("test", "--")):
                curve = rows[rows["split"] == name]
                ax.plot(curve["step"].clip(lower=1), curve["accuracy"], style, color=f"C{i}",
                        label=f"seed {run['seed']} {name}" if i < 3 else None)
        ax.set(xscale="log", xlabel="step", ylabel="accuracy", title=f"{split} test split: ζ = "
               + ", ".join(f"{z:.3g}" for z in runs["zeta"]))
        ax.legend(fontsize=7)
    return fig


def _table(table, by):
    summary = table.groupby(by).agg(runs=("run_id", "size"), separable=("separable", "sum"),
                                    t_train=("t_train", "median"), t_test=("t_test", "median"),
                                    delay_ratio=("delay_ratio", "median"),
                                    final_test_accuracy=("final_test_accuracy", "median"),
                                    budget=("max_step", "max"))
    return summary.to_markdown(floatfmt=(".3g", ".0f", ".0f", ".0f", ".0f", ".3g", ".4f", ".0f"))


def sections(ctx) -> list[str]:
    lines = []
    history, results = ctx.by_suite.get(RATIO, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = run_table(history, results)
        fit = delay_fit(table)
        lines += ["## The delay against λ = d/N", "", ctx.save(_curves_figure(history, table), "curves.png"), "",
                  ctx.save(_delay_figure(table), "delay.png"), "",
                  "Per λ (medians over the seeds that reached each threshold; steps; `separable`: training sets "
                  "separable from the origin):", "",
                  _table(table, ["noise_scale", "ratio"]), "",
                  f"Over the {fit['n']} runs that generalised below ½, log Δt on log(½ − λ) has slope "
                  f"{fit['slope']:.2f} [{fit['low']:.2f}, {fit['high']:.2f}], and √log(t_test/t_train) on "
                  f"−log(1 − 2λ) slope {fit['toy_slope']:.2f} [{fit['toy_low']:.2f}, {fit['toy_high']:.2f}] "
                  "(Beck et al.'s one-dimensional toy model: 1/√2 ≈ 0.71, app. E). The divergence is not a power "
                  "law in the toy model (log t grows as log²(1 − 2λ)), so the first slope is a local one.", "",
                  "## Separability from the origin", "", ctx.save(_separability_figure(table), "separability.png"), ""]
    history, results = ctx.by_suite.get(NOISE, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = run_table(history, results)
        lines += ["## The noise scale σ", "", ctx.save(_noise_figure(table), "noise.png"), "",
                  _table(table, ["ratio", "noise_scale"]), ""]
    history, results = ctx.by_suite.get(DAS, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = das_table(history, results)
        config = json.loads(results["config"].iloc[0])
        lines += ["## Das et al.'s falsification test", "",
                  f"Two classes separable through the origin with margin γ = {config['dataset'].get('margin', 1e-3):g} "
                  f"(`make_margin_separable`, d = {config['dataset'].get('n_features', 2)}, N = "
                  f"{config['dataset'].get('n_train', 2000)}), a logistic regression **with a bias**, full-batch gradient "
                  f"descent from zero at lr = {config['model']['lr']:g} on the mean loss (their η = 10⁻² on the summed "
                  f"loss), no regularisation. ζ = T_te/T_tr at ε = 0.01 (their def. 3.4, with the run's best "
                  f"accuracy as the supremum); grokking needs ζ ≳ {ZETA:g}. A seed whose test accuracy has not "
                  "risen within the budget reads ζ ≈ 1.",
                  "", ctx.save(_das_figure(ctx.by_suite[DAS][0], table), "das.png"), "",
                  table.drop(columns="run_id").to_markdown(index=False, floatfmt=".4g"), ""]
    return lines
