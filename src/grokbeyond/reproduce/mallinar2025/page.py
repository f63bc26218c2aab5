"""The mallinar2025 page: curves per iteration beside the authors' code, progress measures,
and the learned feature matrix.

The curves and tables are drawn from the store. The heat maps of the metric M need the
matrix itself, which a history does not hold: they come from a refit of one stored run
(an RFM is deterministic), checked against that run's stored history on the page.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ...grokking import grokking_table
from ...harness import make_run
from ...report import plot_sweep, t_interval
from ..miller2023 import reference as miller_reference
from . import reference as ref
from .claims import CHANCE, DETECTION, MOD7, ONSET, OPERATIONS, PARITY, SUITE, concealment_fit, progress_table

__all__ = ["INTRO", "sections"]

INTRO = (
    "One RFM iteration is one step: solve the interpolating kernel regression with the current metric M, record, "
    "then replace M by the square root of the centred AGOP of the fitted predictor (the authors' code, "
    "`nmallinar/rfm-grokking`, as `shared/reference/README.md` describes it). The seed draws the train/test split "
    "of the 61² pairs. Intervals are 95%: percentile bootstrap over seeds for medians; bands are the mean's t "
    "interval over seeds. Dashed lines are the authors' code run on a machine like ours (seeds 0 and 1, their own "
    "splits). The progress measures are the paper's (sec. 3): circulant deviation of the bottom-left 61 × 61 block "
    "of M and AGOP alignment (cosine similarity) with the final M; the authors' code computes neither."
)

_SPLITS = {"train": "tab:blue", "test": "tab:orange"}
_MEASURES = {"circulant_deviation": ("circulant deviation", "tab:red"),
             "agop_alignment": ("AGOP alignment with the final M", "tab:purple"),
             "accuracy": ("test accuracy", "tab:orange")}


def _band(ax, data, y, colour, label):
    sns.lineplot(data=data, x="step", y=y, errorbar=t_interval(95), color=colour, label=label, ax=ax)


def _curves(history, paper):
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    (ax_acc, ax_loss), (ax_progress, ax_terms) = fig.subplots(2, 2)
    ax_train_loss = ax_loss.twinx()
    for split, colour in _SPLITS.items():
        rows = history[history["split"] == split]
        _band(ax_acc, rows, "accuracy", colour, f"{split} (grokbeyond)")
        loss_ax = ax_loss if split == "test" else ax_train_loss
        _band(loss_ax, rows, "loss", colour, f"{split} MSE (grokbeyond)")
        if paper is not None:
            for source, theirs in paper[paper["split"] == split].groupby("source"):
                ax_acc.plot(theirs["step"], theirs["accuracy"], "--", lw=0.8, color=colour, alpha=0.7,
                            label=f"{split} ({source})")
                loss_ax.plot(theirs["step"], theirs["loss"], "--", lw=0.8, color=colour, alpha=0.7,
                             label=f"{split} ({source})")
    ax_acc.set(ylabel="accuracy", title="Accuracy")
    ax_loss.set(ylabel="test MSE (all n × p outputs)", title="Loss: test (left axis), train (right, log scale)")
    ax_train_loss.set(yscale="log", ylim=(1e-30, 1e-15), ylabel="train MSE")
    test = history[history["split"] == "test"]
    for column, (label, colour) in _MEASURES.items():
        _band(ax_progress, test, column, colour, label)
    ax_progress.axhline(CHANCE, color="grey", lw=0.5, ls=":")
    ax_progress.set(ylabel="value", title="Progress measures lead test accuracy")
    train = history[history["split"] == "train"]
    _band(ax_terms, train, "complexity", "tab:red", "complexity ‖f‖²_H / n (left axis)")
    ax_trace = ax_terms.twinx()
    _band(ax_trace, train, "trace_M", "tab:green", "trace M (right axis)")
    ax_terms.set(ylabel="squared RKHS norm per datapoint", title="Complexity of the interpolant, and trace M")
    ax_trace.set_ylabel("trace M")
    for left, right in ((ax_loss, ax_train_loss), (ax_terms, ax_trace)):
        handles = [h for ax in (left, right) for h in ax.get_legend_handles_labels()[0]]
        labels = [t for ax in (left, right) for t in ax.get_legend_handles_labels()[1]]
        right.get_legend().remove()
        left.legend(handles, labels, fontsize=7, loc="center right")
    for ax in (ax_acc, ax_loss, ax_progress, ax_terms):
        ax.set_xlabel("RFM iteration")
    for ax in (ax_acc, ax_progress):
        ax.legend(fontsize=7)
    fig.suptitle("RFM on a + b mod p: mean and 95% CI over seeds; dashed: the authors' code (p = 61)")
    return fig


def _heat_maps(ctx, history):
    """Refit the stored run of the first seed; heat maps of M without its diagonal."""
    runs = ctx.runs[ctx.runs["run_id"].isin(history["run_id"])].sort_values("seed")
    config = {**json.loads(runs["config"].iloc[0]), "run_id": runs["run_id"].iloc[0]}  # the stored run's own
    data, estimator = make_run(config)
    estimator.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    stored = history[history["run_id"] == config["run_id"]].sort_values(["step", "split"])
    refit = estimator.history_.sort_values(["step", "split"])
    difference = float(np.max(np.abs(stored["accuracy"].to_numpy() - refit["accuracy"].to_numpy())))
    is_test = stored["split"].astype(str).to_numpy() == "test"
    loss_rel = float(np.max(np.abs(stored["loss"].to_numpy()[is_test] / refit["loss"].to_numpy()[is_test] - 1)))
    train_abs = float(np.max(np.abs(stored["loss"].to_numpy()[~is_test] - refit["loss"].to_numpy()[~is_test])))
    steps = refit["step"].unique()
    test = refit[refit["split"] == "test"].set_index("step")["accuracy"]
    chosen = [s for s in (0, 5, 10, 15, 20) if s in steps] + [int(steps.max())]
    fig = Figure(figsize=(3.2 * len(chosen), 3.4), layout="constrained")
    p = int(config["dataset"]["p"])
    for ax, step in zip(fig.subplots(1, len(chosen)), chosen):
        M = estimator.metrics_[list(steps).index(step)].copy()
        np.fill_diagonal(M, np.nan)
        limit = np.nanmax(np.abs(M)) or 1.0
        ax.imshow(M, cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.axhline(p - 0.5, color="k", lw=0.5)
        ax.axvline(p - 0.5, color="k", lw=0.5)
        ax.set(title=f"iteration {step}: test acc. {test[step]:.2f}", xticks=[], yticks=[])
    fig.suptitle(f"M without its diagonal, seed {config['seed']} (inputs a: first {p}, b: last {p}); the bottom-left "
                 "block becomes circulant")
    return [ctx.save(fig, "rfm_feature_matrix.png"), "",
            f"The heat maps come from a refit of the stored run of seed {config['seed']} (run `{config['run_id']}`); "
            f"the refit's recorded accuracies differ from the stored ones by at most {difference:.1g}, its test MSEs "
            f"by at most {loss_rel:.1g} relative and its train MSEs (rounding, ≈ 1e-25) by at most {train_abs:.1g}.",
            ""]


_RKHS = "squared RKHS norm per datapoint"


def _jitter_note(ctx, history, results) -> str:
    """How often the interpolating solve needed jitter, and where the training fit broke."""
    runs = ctx.runs.set_index("run_id").loc[results["run_id"]]
    iterations = int(history["step"].max()) + 1
    train = history[history["split"] == "train"]
    broken = train[train["accuracy"] < 1.0]
    text = (f"The kernel matrix was singular (repeated inputs, or inputs that the learned metric no longer tells "
            f"apart) in {int((runs['n_warnings'] > 0).sum())} of {len(runs)} runs: linear_operator added jitter "
            f"to its diagonal (from 1e-8, ×10 per retry, a run warning per retry), a median of "
            f"{runs['n_warnings'].median():.0f} warnings per run of {iterations} solves.")
    if broken.empty:
        return text + " Train accuracy stayed 1.0 at every iteration of every run."
    cells = broken.groupby("run_id")["step"].apply(list)
    where = "; ".join(f"seed {int(history.loc[history['run_id'] == run, 'seed'].iloc[0])}, iterations {steps}"
                      for run, steps in cells.items())
    return text + f" The jittered interpolation fell below train accuracy 1.0 in {len(cells)} run(s): {where}."


def _mod7(ctx):
    history, results = ctx.by_suite.get(MOD7, (pd.DataFrame(), pd.DataFrame()))
    if results.empty:
        return []
    add = history[history["dataset.operation"] == "add"]
    lines = ["### E8's concealed mod-7 tasks", "",
             "Miller et al.'s E8 data (800 pairs drawn with replacement, 600 / 200, so test pairs are seen in "
             "training and generalising means ignoring the m appended random bits), under the RFM at the authors' "
             "defaults. The gap is the first iteration with test accuracy > 0.95 (train accuracy is 1.0 from "
             "iteration 0).", "",
             ctx.save(plot_sweep(add.assign(m=add["dataset.n_concealed"].astype(int)), "m", xlabel="RFM iteration",
                                 complexity_unit=_RKHS, complexity_scale="log",
                                 title="RFM on a+b mod 7 with m concealed bits; mean and 95% CI over seeds"),
                      "rfm_concealment_mod7_add.png"), "", _jitter_note(ctx, history, results), ""]
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    shown = results.dropna(subset=["gap"]).assign(gap=lambda f: f["gap"].astype(float).clip(lower=1))
    jitter = np.random.default_rng(0).uniform(-0.8, 0.8, len(shown))  # seeded: the figure is reproducible
    ax.plot(shown["dataset.n_concealed"] + jitter, shown["gap"], "o", alpha=0.5, label="RFM runs (iterations)")
    fit = concealment_fit(results)
    m = np.linspace(0, results["dataset.n_concealed"].max(), 50)
    if not isinstance(fit, str):
        ax.plot(m, fit.scale * np.exp(fit.rate * m), "--", label=f"RFM fit {fit.scale:.3g}·e^({fit.rate:.3g}·m)")
    mlp = miller_reference.e8_curves(ctx.reference_dir)
    if mlp is not None:
        detect = {k: v for k, v in DETECTION[MOD7].items()}
        theirs = grokking_table(mlp, by="dataset.n_concealed", **detect).dropna(subset=["gap"])
        ax.plot(theirs["dataset.n_concealed"], theirs["gap"].astype(float).clip(lower=1), "kx", ms=9,
                label="MLP, Miller et al.'s code, a+b, seed 0 (epochs)")
    ax.set(yscale="log", xlabel="concealed bits m", ylabel="grokking gap (≤ 1 drawn at 1)",
           title="Grokking gap against concealed bits: RFM (iterations), MLP (epochs)")
    ax.legend(fontsize=7)
    table = (results.assign(gap=results["gap"].astype(float), m=results["dataset.n_concealed"].astype(int))
             .pivot_table(index="dataset.operation", columns="m", values="gap", aggfunc="median", dropna=False))
    return lines + [ctx.save(fig, "rfm_concealment_gap.png"), "",
                    "Median gap (iterations) over seeds per task and m (empty: never > 0.95):", "",
                    table.to_markdown(floatfmt=".0f"), ""]


def _parity(ctx):
    history, results = ctx.by_suite.get(PARITY, (pd.DataFrame(), pd.DataFrame()))
    if results.empty:
        return []
    table = results.assign(n_bits=results["dataset.n_bits"].astype(int)).groupby("n_bits").agg(
        runs=("run_id", "size"), generalised=("t_generalise", lambda t: int(t.notna().sum())),
        median_iteration=("t_generalise", lambda t: pd.to_numeric(t).median()),
        final_test_accuracy=("run_id", lambda ids: history[history["run_id"].isin(ids) & (history["split"] == "test")
                                                           & (history["step"] == history["step"].max())]
                             ["accuracy"].mean()))
    return ["### Concealed sparse parity", "",
            "Miller et al.'s E1 task (the parity of the first 3 of n_bits uniform bits; 1000 train, 100 test), "
            "where their GP groks at 40 bits, under the RFM with the number of bits swept.", "",
            ctx.save(plot_sweep(history.assign(n_bits=history["dataset.n_bits"].astype(int)), "n_bits",
                                xlabel="RFM iteration", complexity_unit=_RKHS, complexity_scale="log",
                                title="RFM on sparse parity, k = 3 of n_bits; mean and 95% CI over seeds"),
                     "rfm_concealed_parity.png"), "", _jitter_note(ctx, history, results), "",
            "First iteration with test accuracy > 0.95, per width (median over the runs that reach it):", "",
            table.to_markdown(floatfmt=".3g"), ""]


def _operations(ctx):
    history, results = ctx.by_suite.get(OPERATIONS, (pd.DataFrame(), pd.DataFrame()))
    if results.empty:
        return []
    add, add_results = ctx.by_suite.get(SUITE, (pd.DataFrame(), pd.DataFrame()))
    both = pd.concat([add, history], ignore_index=True)
    both = both.assign(operation=both["dataset.operation"].map({"add": "a + b", "sub": "a − b", "mul": "a · b",
                                                                 "div": "a / b"}))
    table = (pd.concat([add_results, results], ignore_index=True)
             .groupby("dataset.operation")["t_generalise"]
             .agg(runs="size", median="median", low="min", high="max"))
    return ["## The other operations", "",
            ctx.save(plot_sweep(both, "operation", xlabel="RFM iteration", complexity_unit=_RKHS,
                                title="RFM on the four operations mod 61; mean and 95% CI over seeds"),
                     "rfm_operations.png"), "",
            "First iteration with test accuracy ≥ 0.95, per operation (over seeds):", "",
            table.to_markdown(floatfmt=".0f"), ""]


def sections(ctx) -> list[str]:
    lines = _paper(ctx) + _operations(ctx)
    beyond = _parity(ctx) + _mod7(ctx)
    if beyond:
        lines += ["## Beyond the paper (ours): concealment and the RFM", "",
                  "Not in Mallinar et al.: Miller et al.'s (2023) concealment tasks under the same RFM, to ask "
                  "whether concealed dimensions delay a kernel machine's feature learning as they delay the MLP's "
                  "and the GP's.", "", *beyond]
    if (ctx.report_dir / "comparison" / "README.md").exists():
        lines += ["## Every classifier family on one modular task (ours)", "",
                  "[`comparison/`](comparison/README.md): the RFM beside the GP classifier, the MLP, the Bayesian MLP "
                  "and logistic regression on a + b mod 17 (70% of the pairs for training), written by "
                  "`grokbeyond compare` at its default budgets (`grokbeyond._compare.BUDGETS`).", ""]
    return lines


def _paper(ctx) -> list[str]:
    history, results = ctx.by_suite.get(SUITE, (pd.DataFrame(), pd.DataFrame()))
    if history.empty:
        return []
    paper = ref.rfm_curves(ctx.reference_dir)
    lines = ["## RFM on modular addition, p = 61", "", ctx.save(_curves(history, paper), "rfm_add.png"), ""]
    progress = progress_table(history).sort_values("seed")
    table = progress[["seed", "last_chance", "onset", "t_circulant", "t_alignment", "t_accuracy", "t_loss",
                      "lead_circulant", "lead_alignment", "loss_fall_before_onset"]]
    table = table.merge(results[["run_id", "t_generalise"]].assign(seed=results["seed"]).drop(columns="run_id"),
                        on="seed")
    lines += [f"Landmarks per seed, in iterations: *last_chance*, the last before test accuracy exceeds {CHANCE}; "
              f"*onset*, the first with test accuracy ≥ {ONSET}; *t_…*, the first at which a curve has covered half "
              "of its change (circulant deviation from iteration 1, its first non-zero block); *t_generalise*, the "
              "first with test accuracy ≥ 0.95; *lead_…* = t_accuracy − t_…; *loss_fall_before_onset*, the fraction "
              "of the test MSE's fall that comes before the onset.", "",
              table.to_markdown(index=False, floatfmt=".3g"), ""]
    if paper is not None:
        wall = paper.drop_duplicates(["source", "step"]).groupby("source")["wall_s"].agg(["sum", "mean"])
        lines += ["The authors' code took " + ", ".join(f"{row['sum']:.0f} s ({row['mean']:.2f} s per iteration, "
                                                         f"{source})" for source, row in wall.iterrows())
                  + " on one thread of a machine like ours.", ""]
    lines += ["## The learned feature matrix", ""] + _heat_maps(ctx, history)
    return lines
