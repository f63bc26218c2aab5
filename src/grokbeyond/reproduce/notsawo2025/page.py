"""The notsawo2025 page: recovery and training errors against the step beside the authors'
code, and the delay law over the (α, β) grid. Drawn from the store (errors from the recorded
weights, see ``claims.recovery_curves``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ...theory import fit_delay_slope
from .._claims import format_range
from . import reference as ref
from .claims import GRID, MEMORISED, REFERENCE, recovery_curves, recovery_table

__all__ = ["INTRO", "sections"]

INTRO = (
    "Sparse recovery of a* (n = 100, s = 5) from N = 30 Gaussian measurements by constant-step subgradient descent "
    "on ½‖Xa − y‖² + (β₂/2)‖a‖² + β₁‖a‖₁ from a(0) = 10·1, as the authors' code runs it (`shared/reference/README.md`); "
    "our `LinearRegression` with `noise_variance = 2/N`, `prior_variance = 2/(β₂N)`, `l1_penalty = β₁`, `lr = α` "
    "takes the same steps. Errors are relative: training ‖Xa − y‖/‖y‖, recovery ‖a − a*‖/‖a*‖, computed from each "
    f"run's recorded weights. Memorised: training error below {MEMORISED:g}× its final value; recovered: the first "
    "step after which the recovery error stays within ±10% of its median over the run's last quarter (the code's "
    "t2 is ±5% of the final value; at large α, β the subgradient's chatter moves that value by ±5% itself). "
    "Intervals are 95%: bootstrap over runs for medians, t for the fitted slope."
)


def _reference_figure(ctx, history, results):
    curves = recovery_curves(history, results).merge(results[["run_id", "case", "seed"]], on="run_id")
    paper = ref.recovery_curves(ctx.reference_dir)
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    axes = fig.subplots(1, 2)
    cases = sorted(curves["case"].unique())
    colours = dict(zip(cases, sns.color_palette("colorblind", len(cases))))
    for ax, column, title in ((axes[0], "train_error", "training error ‖Xa − y‖/‖y‖"),
                              (axes[1], "recovery_error", "recovery error ‖a − a*‖/‖a*‖")):
        for (case, seed), rows in curves.groupby(["case", "seed"]):
            ax.plot(rows["step"].clip(lower=1), rows[column], color=colours[case], lw=1, alpha=0.8,
                    label=f"{case} (grokbeyond)" if seed == curves["seed"].min() else None)
        if paper is not None:
            for source, rows in paper[paper["case"].isin(cases)].groupby("source"):
                case = rows["case"].iloc[0]
                ax.plot(rows["step"].clip(lower=1), rows[column], "--", color=colours[case], lw=1.2,
                        label=source)
        ax.set(xscale="log", yscale="log", xlabel="step", title=title)
        ax.legend(fontsize=7)
    fig.suptitle("ℓ1 memorises, then recovers; ℓ2 memorises and stays at its minimum-norm solution "
                 "(one line per seed; dashed: the authors' code, seed 0)")
    return fig


def _delay_figure(table):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    product = table["lr"] * table["l1_penalty"]
    for alpha, rows in table.groupby("lr"):
        ax.plot(rows["lr"] * rows["l1_penalty"], rows["delay"], "o", alpha=0.7, label=f"α = {alpha:g}")
    grid = np.geomspace(product.min(), product.max(), 50)
    c = float(np.median(table["delay_alpha_beta"]))
    ax.plot(grid, c / grid, "k--", label=f"Δt = {c:.2f}/(αβ)")
    ax.set(xscale="log", yscale="log", xlabel="αβ", ylabel="Δt (steps)", title="The delay law: Δt against αβ")
    ax.legend(fontsize=7)
    return fig


def sections(ctx) -> list[str]:
    lines = []
    history, results = ctx.by_suite.get(REFERENCE, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = recovery_table(history, results)
        lines += ["## ℓ1 against ℓ2 at the reference setting", "", ctx.save(_reference_figure(ctx, history, results),
                                                                           "reference.png"), "",
                  table.drop(columns=["run_id", "lr"]).to_markdown(index=False, floatfmt=".3g"), ""]
    history, results = ctx.by_suite.get(GRID, (pd.DataFrame(), pd.DataFrame()))
    if not results.empty:
        table = recovery_table(history, results)
        summary = table.groupby(["lr", "l1_penalty"]).agg(
            runs=("run_id", "size"), delay=("delay", "median"), delay_alpha_beta=("delay_alpha_beta", "median"),
            final_recovery_error=("final_recovery_error", "median"))
        largest = table["l1_penalty"].max()
        rest = table[table["l1_penalty"] < largest].dropna(subset=["delay"])
        enough = len(rest) >= 3 and (rest["lr"] * rest["l1_penalty"]).nunique() >= 2
        slope, low, high = fit_delay_slope(rest["lr"], rest["l1_penalty"], rest["delay"])[:3] if enough else (
            np.nan, np.nan, np.nan)
        by_beta = table.groupby("l1_penalty")["delay_alpha_beta"].median()
        by_alpha = table.groupby("lr")["delay_alpha_beta"].median()
        lines += ["## The delay law over the (α, β) grid", "", ctx.save(_delay_figure(table), "delay_law.png"), "",
                  "Medians over seeds:", "", summary.to_markdown(floatfmt=".3g"), "",
                  f"Without the largest penalty (β = {largest:g}) the slope is {slope:.4f} [{low:.4f}, {high:.4f}]. "
                  "Median Δt·α·β by β: "
                  + ", ".join(f"{v:.2f} at {b:g}" for b, v in by_beta.items()) + "; by α: "
                  + ", ".join(f"{v:.2f} at {a:g}" for a, v in by_alpha.items())
                  + f". Memorisation ({format_range(table['t_memorise'], '{:.0f}')} steps) and recovery are read on the suite's "
                  f"evaluation grid, `eval_every = {results['model.eval_every'].iloc[0]}`.", ""]
    return lines
