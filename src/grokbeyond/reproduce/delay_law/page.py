"""The delay-law page: per family, Δt against lr × decay on log–log axes and the norm prediction on
held-out runs; one overlay of every family on normalised axes. Nothing trains."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .claims import FAMILIES, NEURAL_MAPE, delay_table, family_fit

__all__ = ["INTRO", "sections"]

INTRO = (
    "Each family trains on a task where it groks, over a 4 × 4 log grid of learning rate × the **decay coefficient** "
    "of its complexity term (the factor 1 − lr·decay by which one step of that term alone shrinks the parameters: "
    "weight decay for the logistic and MLP families, γ = 2/(s²N) for the linear model's Gaussian prior, 1/(N s²) for "
    "the Bayesian MLP's KL/N on its means, and β for ℓ1, which shrinks by a constant lr·β instead), several seeds, "
    "each cell with its own step budget. Δt is the number of steps between memorisation and generalisation (the "
    "thresholds are in the table). Two laws are checked per family: the slope of log Δt on log(lr·decay), −1 by "
    "Notsawo, Dumas & Rabusseau (2025, arXiv 2506.05718, sec. 3), with its 95% t interval; and the prediction at "
    "memorisation Δt ≈ log(‖θ_mem‖²/V★)/(2κ·lr·decay) of Khanh et al. (2026, arXiv 2605.18845), κ and V★ "
    "fitted on "
    "half of the grid (a checkerboard of cells) and its mean absolute percentage error (MAPE) measured on the other "
    f"half, beside their transformer figure of {NEURAL_MAPE:.1%}. The same with each run's own final ‖θ‖² as V★ "
    "(their earlier arXiv 2603.13331) is reported too; it is not a prediction, the final norm being known only at the "
    "end; nor is the baseline without the norm, Δt = c/(lr·decay) with c fitted on the same half, which tells what "
    "the norm adds. θ is every parameter the complexity term acts on (the intercepts are not)."
)


def _family_figure(family, table, fit):
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    ax_law, ax_pred = fig.subplots(1, 2)
    used = table.dropna(subset=["delay"])
    for i, (lr, rows) in enumerate(used.groupby("lr")):
        ax_law.plot(rows["rate"], rows["delay"], "o", alpha=0.6, color=f"C{i}", label=f"lr = {lr:g}")
    missing = table[table["delay"].isna()]
    if len(missing):
        ax_law.plot(missing["rate"], np.full(len(missing), used["delay"].max() if len(used) else 1), "x",
                    color="grey", label=f"no delay measured ({len(missing)})")
    if fit["slope"] is not None:
        grid = np.geomspace(table["rate"].min(), table["rate"].max(), 50)
        slope = fit["slope"]
        ax_law.plot(grid, np.exp(slope.intercept) * grid**slope.slope, "-", color="k",
                    label=f"fit: slope {slope.slope:.2f} [{slope.low:.2f}, {slope.high:.2f}]")
        middle = np.exp(np.mean(np.log(used["rate"])))
        ax_law.plot(grid, np.exp(slope.intercept) * middle**slope.slope * middle / grid, ":", color="k",
                    label="slope −1")
    ax_law.set(xscale="log", yscale="log", xlabel="lr · decay (per step)", ylabel="Δt (steps)",
               title=f"{family.label}: Δt against lr · decay")
    ax_law.legend(fontsize=7)
    held_out = used[~used["calibration"]].set_index("run_id")
    predicted = fit["predicted"]
    if len(predicted):
        measured = held_out.loc[predicted.index, "delay"]
        ax_pred.plot(measured, predicted, "o", alpha=0.6)
        limits = np.array([min(measured.min(), predicted.min()), max(measured.max(), predicted.max())])
        ax_pred.plot(limits, limits, "-", color="k", lw=1, label="exact")
        ax_pred.fill_between(limits, limits * (1 - NEURAL_MAPE), limits * (1 + NEURAL_MAPE), color="grey", alpha=0.2,
                             label=f"±{NEURAL_MAPE:.1%}")
        ax_pred.set(xscale="log", yscale="log")
        ax_pred.legend(fontsize=7)
    ax_pred.set(xlabel="measured Δt (held-out runs)", ylabel="predicted from ‖θ_mem‖²",
                title=f"MAPE {fit['mape']:.1%} (κ = {fit['kappa']:.3g}, V★ = {fit['target']:.3g})")
    return fig


def _overlay_figure(tables):
    fig = Figure(figsize=(7.5, 5.5), layout="constrained")
    ax = fig.subplots()
    for i, (family, table) in enumerate(tables):
        used = table.dropna(subset=["delay"])
        if used.empty:
            continue
        rate, delay = np.log(used["rate"]), np.log(used["delay"])
        ax.plot(np.exp(rate - rate.mean()), np.exp(delay - delay.mean()), "o", alpha=0.5, color=f"C{i}",
                label=family.label)
    grid = np.geomspace(1 / 12, 12, 50)
    ax.plot(grid, 1 / grid, "-", color="k", lw=1, label="Δt ∝ 1/(lr · decay)")
    ax.set(xscale="log", yscale="log", xlabel="lr · decay / its geometric mean (per family)",
           ylabel="Δt / its geometric mean (per family)", title="Every family on normalised axes")
    ax.legend(fontsize=8)
    return fig


def sections(ctx) -> list[str]:
    lines, tables, rows = [], [], []
    for family in FAMILIES:
        history, results = ctx.by_suite.get(family.suite, (pd.DataFrame(), pd.DataFrame()))
        if results.empty:
            continue
        table = delay_table(family.suite, history, results)
        fit = family_fit(table)
        tables.append((family, table))
        slope = fit["slope"]
        rows.append({"family": family.label, "runs": fit["runs"], "with a delay": fit["measured"],
                     "slope": f"{slope.slope:.3f} [{slope.low:.3f}, {slope.high:.3f}]" if slope else "n/a",
                     "R²": f"{slope.r_squared:.2f}" if slope else "n/a",
                     "exponents (lr, decay)": f"{fit['lr_exponent']:.2f}, {fit['decay_exponent']:.2f}",
                     "Δt·lr·decay": f"{np.exp(slope.intercept):.3g}" if slope else "n/a",
                     "κ": f"{fit['kappa']:.3g}", "V★": f"{fit['target']:.3g}",
                     "MAPE (held out)": f"{fit['mape']:.1%} ({fit['n_held_out']})",
                     "MAPE, c/(lr·decay)": f"{fit['mape_law']:.1%}",
                     "MAPE, own final ‖θ‖²": f"{fit['mape_final']:.1%}"})
        by_cell = table.groupby(["lr", "decay"]).agg(runs=("run_id", "size"), t_memorise=("t_memorise", "median"),
                                                     delay=("delay", "median"), norm_sq_mem=("norm_sq_mem", "median"),
                                                     norm_sq_final=("norm_sq_final", "median"))
        lines += [f"## {family.label} (`{family.suite}`)", "",
                  f"Decay coefficient: {family.decay_name}. Memorised and generalised: {family.memorised}.", "",
                  ctx.save(_family_figure(family, table, fit), f"{family.suite}.png"), "",
                  "Medians over seeds per cell (steps; squared norms):", "",
                  by_cell.to_markdown(floatfmt=".3g"), ""]
    if not rows:
        return lines
    summary = ["## Across families", "", ctx.save(_overlay_figure(tables), "overlay.png"), "",
               pd.DataFrame(rows).to_markdown(index=False), ""]
    return summary + lines
