"""The levi2023 page: measured runs beside the exact solution and the Marchenko–Pastur limit,
the grokking time against λ, ε, weight decay and d_out. The theory curves are computed from
each run's stored config (``claims.exact_curve``); nothing trains."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ...theory import levi_grokking_time, marchenko_pastur_trajectory, threshold_accuracy
from .claims import (ACCURACY, BAND, OUTPUT, RATIO, THRESHOLD, WEIGHT_DECAY, exact_curve, grokking_times,
                     marchenko_pastur_times, smoothness_table)

__all__ = ["INTRO", "sections"]

INTRO = (
    "A linear student S learns a linear teacher T (both d_in × d_out, entries N(0, 1/(2 d_in d_out)), app. A) from "
    "N = d_in/λ inputs x ~ N(0, I) by full-batch gradient descent with η = 0.01 on torch's mean squared error "
    "(`LinearRegression` with `noise_variance = d_out`; weight decay γ is `prior_variance = 2/(γN)`). A point is "
    "correct when its squared error per output is below ε (`threshold_accuracy`); a split is learnt at "
    f"{ACCURACY:.0%} accuracy and the grokking time is the gap between the training and the test step "
    "(sec. 3.1.3). Each run is set beside the **exact solution** on its own training design "
    "(`grokbeyond.theory.linear_gd_trajectory`: its training accuracy is the run's, step for step; its test "
    "accuracy is the expected one, which the run's finite test set reads with binomial noise) and the "
    "**Marchenko–Pastur limit** of large d_in at the run's λ, d_out and initial loss "
    "(`marchenko_pastur_trajectory`), and, for one output without weight decay, **eq. 12** "
    "(`levi_grokking_time`, the limit ε → 0). The paper's d_in = 1000 is run everywhere except the output "
    "dimension (d_in = 200, so that d_out = 700 costs minutes). Intervals are 95% bootstrap intervals over runs."
)

_STYLE = {"measured": "-", "exact": "--", "Marchenko–Pastur": ":"}


def _seed_runs(results, seed):
    runs = results[results["seed"] == seed]
    return runs if not runs.empty else results[results["seed"] == results["seed"].min()]


def _curves_figure(history, results, cases):
    """Accuracies and losses of one seed at a few ratios: measured, exact, Marchenko–Pastur."""
    runs = _seed_runs(results, 0)
    runs = runs[runs["case"].isin(cases)] if runs["case"].isin(cases).any() else runs.head(3)
    runs = runs.sort_values("case")
    fig = Figure(figsize=(13, 4.2 * len(runs)), layout="constrained")
    axes = fig.subplots(len(runs), 2, squeeze=False)
    for (ax_acc, ax_loss), (_, run) in zip(axes, runs.iterrows()):
        rows = history[history["run_id"] == run["run_id"]]
        steps = np.unique(np.r_[0, np.geomspace(1, rows["step"].max(), 150).round()].astype(int))
        curve, problem = exact_curve(run["config"])
        exact = curve(steps)
        config = json.loads(run["config"])
        ratio = problem["teacher"].shape[0] / problem["data"].X_train.shape[0]
        limit = marchenko_pastur_trajectory(ratio, lr=config["model"]["lr"], max_iter=int(steps[-1]), steps=steps,
                                            initial_loss=problem["initial_loss"], epsilon=config["model"]["epsilon"])
        limit["train_accuracy"] = threshold_accuracy(limit["train_loss"].to_numpy(), config["model"]["epsilon"])
        for split, colour in (("train", "C0"), ("test", "C1")):
            measured = rows[rows["split"] == split]
            ax_acc.plot(measured["step"].clip(lower=1), measured["threshold_accuracy"], color=colour,
                        label=f"{split}, measured")
            ax_loss.plot(measured["step"].clip(lower=1), measured["error"], color=colour, label=f"{split}, measured")
            for name, frame in (("exact", exact), ("Marchenko–Pastur", limit)):
                ax_acc.plot(frame["step"].clip(lower=1), frame[f"{split}_accuracy"], _STYLE[name], color=colour,
                            lw=1.2, label=f"{split}, {name}")
                ax_loss.plot(frame["step"].clip(lower=1), frame[f"{split}_loss"], _STYLE[name], color=colour,
                             lw=1.2, label=f"{split}, {name}")
        ax_loss.axhline(config["model"]["epsilon"] / 4, color="grey", lw=0.8, label="ε/4 (95% accuracy)")
        ax_acc.set(xscale="log", xlabel="step", ylabel="accuracy (squared error < ε)",
                   title=f"λ = {ratio:.2g}: accuracy (seed {run['seed']})")
        ax_loss.set(xscale="log", yscale="log", xlabel="step", ylabel="MSE per output",
                    title=f"λ = {ratio:.2g}: losses (test: the run's test set; theory: x ~ N(0, I))")
        ax_acc.legend(fontsize=7)
        ax_loss.legend(fontsize=7)
    return fig


def _ratio_figure(table, lr):
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.subplots()
    below = table[table["ratio"] < 1]
    ax.plot(below["ratio"], below["gap"], "o", alpha=0.6, label="measured (one point per run)")
    ax.plot(below["ratio"], below["exact_gap"], "x", color="k", label="exact solution on the run's design")
    grid = np.linspace(0.05, min(0.92, below["ratio"].max() + 0.02), 30)
    epsilon, initial = float(below["epsilon"].iloc[0]), float(below["initial_test_loss"].median())
    limit = [marchenko_pastur_times(float(r), lr, 1, epsilon, 200_000, initial) for r in grid]
    ax.plot(grid, [t["mp_t_test"] - t["mp_t_train"] for t in limit], ":", color="C2",
            label=f"Marchenko–Pastur (median L₀ = {initial:.3f})")
    ax.plot(grid, levi_grokking_time(grid, lr), "--", color="C3", label="eq. 12 (ε → 0)")
    ax.set(yscale="log", xlabel="λ = d_in / N", ylabel="grokking time (steps)",
           title=f"Grokking time against λ (d_in = {below['n_features'].iloc[0]:.0f}, η = {lr:g}, ε = {epsilon:g})")
    ax.legend(fontsize=8)
    return fig


def _threshold_figure(table):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["epsilon"], table["gap"], "o", alpha=0.6, label="measured")
    mp = table.groupby("epsilon")["mp_gap"].median()
    ax.plot(mp.index, mp.to_numpy(), ":", color="C2", marker=".", label="Marchenko–Pastur (median L₀)")
    ax.axhline(table["eq12_gap"].iloc[0], color="C3", ls="--", label="eq. 12 (ε → 0)")
    ax.set(xscale="log", xlabel="ε", ylabel="grokking time (steps)",
           title=f"One trajectory per seed, read at several ε (λ = {table['ratio'].iloc[0]:.2g})")
    ax.legend(fontsize=8)
    return fig


def _weight_decay_figure(history, results):
    runs = _seed_runs(results, 0).copy()
    runs["gamma"] = [exact_curve(config)[1]["weight_decay"] for config in runs["config"]]
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    colours = dict(zip(sorted(runs["gamma"]), sns.color_palette("viridis", len(runs))))
    for _, run in runs.sort_values("gamma").iterrows():
        rows = history[(history["run_id"] == run["run_id"]) & (history["split"] == "test")]
        steps = np.unique(np.r_[0, np.geomspace(1, rows["step"].max(), 150).round()].astype(int))
        exact = exact_curve(run["config"])[0](steps, train_accuracy=False)
        colour = colours[run["gamma"]]
        ax_loss.plot(rows["step"].clip(lower=1), rows["error"], color=colour, label=f"γ = {run['gamma']:g}")
        ax_loss.plot(exact["step"].clip(lower=1), exact["test_loss"], "--", color=colour, lw=1)
        ax_acc.plot(rows["step"].clip(lower=1), rows["threshold_accuracy"], color=colour, label=f"γ = {run['gamma']:g}")
        ax_acc.plot(exact["step"].clip(lower=1), exact["test_accuracy"], "--", color=colour, lw=1)
    epsilon = json.loads(runs["config"].iloc[0])["model"]["epsilon"]
    ax_loss.axhline(epsilon / 4, color="grey", lw=0.8, label="ε/4")
    ax_loss.set(xscale="log", yscale="log", xlabel="step", ylabel="test MSE", title="Test loss (dashed: exact)")
    ax_acc.axhline(ACCURACY, color="grey", lw=0.8)
    ax_acc.set(xscale="log", xlabel="step", ylabel="test accuracy", title="Test accuracy (dashed: exact, expected)")
    ax_loss.legend(fontsize=8)
    return fig


def _output_figure(table):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(table["n_outputs"], table["gap"], "o", alpha=0.6, label="measured (d_in = 200)")
    limit = table.groupby("n_outputs")["mp_gap"].median()
    exact = table.groupby("n_outputs")["exact_gap"].median()
    ax.plot(exact.index, exact.to_numpy(), "x--", color="k", label="exact solution (median)")
    ax.plot(limit.index, limit.to_numpy(), ":", marker=".", color="C2",
            label="Marchenko–Pastur, isotropic accuracy (eq. 13)")
    ax.set(xscale="log", yscale="log", xlabel="d_out", ylabel="grokking time (steps)",
           title=f"Grokking time against d_out (λ = {table['ratio'].iloc[0]:.2g})")
    ax.legend(fontsize=8)
    return fig


def _summary(table, by):
    columns = ["t_train", "exact_t_train", "mp_t_train", "t_test", "exact_t_test", "mp_t_test", "gap", "mp_gap"]
    columns += ["eq12_gap"] if table["eq12_gap"].notna().any() else []
    summary = table.groupby(by)[columns].median()
    summary.insert(0, "runs", table.groupby(by).size())
    # λ, ε and γ keep their digits; the steps are whole (tabulate reads numeric strings as numbers, so per column).
    return summary.to_markdown(floatfmt=(".3g",) + (".0f",) * summary.shape[1])


def sections(ctx) -> list[str]:
    lines = []
    history, results = ctx.by_suite.get(RATIO, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = grokking_times(results)
        cases = [c for c in ("lambda 0.1", "lambda 0.5", "lambda 0.9", "lambda 1.5") if c in set(results["case"])]
        smooth = smoothness_table(history, results)
        lines += ["## The exact solution and the large-d limit", "",
                  "Solid: the run; dashed: the exact solution on its design; dotted: Marchenko–Pastur at its λ and "
                  f"initial loss. The test step is expected within ±{BAND:g} binomial standard deviations of the "
                  "exact expected accuracy's 95% step.", "",
                  ctx.save(_curves_figure(history, results, cases), "curves.png"), "",
                  "## The grokking time against λ", "",
                  ctx.save(_ratio_figure(table, json.loads(results["config"].iloc[0])["model"]["lr"]), "ratio.png"), "",
                  "Medians over seeds (steps):", "", _summary(table, "ratio"), ""]
        if not smooth.empty:
            lines += ["The test loss through the accuracy's climb (`loss_at_95`: the test MSE at the 95% step over "
                      "ε/3.84, where a Gaussian error's expected accuracy is 95%; `rate_ratio`: its log-rate from 5% "
                      "to 95% test accuracy over that of the as long window before):", "",
                      smooth.merge(table[["run_id", "ratio", "seed"]], on="run_id").drop(columns="run_id")
                      .sort_values(["ratio", "seed"]).to_markdown(index=False, floatfmt=".3g"), ""]
    history, results = ctx.by_suite.get(THRESHOLD, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = grokking_times(results)
        lines += ["## The threshold ε alone", "", ctx.save(_threshold_figure(table), "threshold.png"), "",
                  _summary(table, "epsilon"), ""]
    history, results = ctx.by_suite.get(WEIGHT_DECAY, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = grokking_times(results)
        lines += ["## Weight decay", "", ctx.save(_weight_decay_figure(history, results), "weight_decay.png"), "",
                  "Medians over seeds (the Marchenko–Pastur limit is computed without weight decay only):", "",
                  _summary(table, "weight_decay"), "",
                  "Final test loss, exact: " + ", ".join(
                      f"{g:.0e}: {v:.2g}" for g, v in table.groupby("weight_decay")["exact_final_test_loss"].median().items())
                  + f" (ε/4 = {table['epsilon'].iloc[0] / 4:g}).", ""]
    history, results = ctx.by_suite.get(OUTPUT, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = grokking_times(results)
        figure = ctx.save(_output_figure(table), "output_dimension.png") if table["gap"].notna().any() else \
            f"(no run reached {ACCURACY:.0%} on both splits)"
        lines += ["## The output dimension", "", figure, "",
                  "For d_out > 1 the exact solution's expected test accuracy is that of the error N(0, DᵀD) "
                  "(a weighted sum of χ²₁, Imhof 1961); the Marchenko–Pastur limit's is the paper's isotropic "
                  "approximation (eq. 13), which puts the test step early. d_in = 200 here: the finite-size "
                  "spectrum also moves the training steps from the limit's.", "", _summary(table, "n_outputs"), ""]
    return lines
