"""The miller2023 report: the claims table and one figure set per experiment, from the store alone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ... import __version__
from ...harness import load_results
from ...report import plot_error_complexity, plot_sweep, plot_trajectories
from .claims import claims_table, e5_gaps, e8_fit, suite_results
from .runs import SUITE_NAMES

__all__ = ["write_miller2023_report"]

_TASKS = {"add": "a+b", "sub": "a−b", "div": "a/b", "x2_xy_y2": "a²+ab+b²", "x2_xy_y2_x": "a²+ab+b²+a", "xyx": "a·b·a"}
_DPI = 100
_N_BOOT = 200  # bootstrap resamples per band point: seaborn's 1000 took 95% of the page's 7 minutes


def _save(fig: Figure, report_dir: Path, name: str) -> str:
    fig.savefig(report_dir / name, dpi=_DPI)
    return f"![{name}]({name})"


def _e1(by_suite, report_dir):
    e1, _ = by_suite["miller2023-e1-gp-parity"]
    e1b, _ = by_suite["miller2023-e1b-gp-parity-no-kl"]
    if e1.empty:
        return []
    both = pd.concat([e1.assign(variant="ELBO (E1)"), e1b.assign(variant="no KL term (E1b)")], ignore_index=True)
    fig = plot_sweep(both, "variant", complexity="kl", xscale="symlog", n_boot=_N_BOOT,
                     title="E1: GP classifier, sparse parity k = 3 of 40 bits; mean and 95% CI over seeds")
    return ["## E1, E1b — GP classification of concealed sparse parity", "", _save(fig, report_dir, "e1.png"), ""]


def _e2(by_suite, report_dir):
    history, results = by_suite["miller2023-e2-gp-step"]
    if history.empty:
        return []
    fig = plot_trajectories(history, terms=("data_fit", "complexity"), xscale="symlog", n_boot=_N_BOOT,
                            title="E2: GP classifier on a 1-D step from lengthscale 0.005; mean and 95% CI over seeds")
    table = results[["seed", "t_memorise", "t_generalise", "gap", "phase"]].sort_values("seed")
    return ["## E2 — GP classification of a 1-D step", "", _save(fig, report_dir, "e2.png"), "",
            table.to_markdown(index=False), ""]


def _e3(by_suite, report_dir):
    history, results = by_suite["miller2023-e3-gp-regression"]
    if history.empty:
        return []
    label = history["case"] + ", noise " + history["model.initial_noise"].map("{:.3g}".format)
    fig = plot_sweep(history.assign(start=label), "start", metric="error", xscale="symlog", n_boot=_N_BOOT,
                     title="E3: GP regression, MSE from starts A, B, C and two noise initialisations")
    table = results[["case", "model.initial_noise", "t_memorise", "t_generalise", "gap", "phase"]].sort_values(
        ["model.initial_noise", "case"])
    return ["## E3 — GP regression from a memorising start", "",
            "Grokking read from the MSE: first step with MSE ≤ 0.05 on each split. The landscape of −MLL/N with "
            "these paths is in [`reports/gp-regression`](../gp-regression/README.md).", "",
            _save(fig, report_dir, "e3.png"), "", table.to_markdown(index=False, floatfmt=".3g"), ""]


def _e4_e7(by_suite, report_dir, reference_dir):
    lines = []
    e4, e4_results = by_suite["miller2023-e4-linear-decoy"]
    if not e4.empty:
        fig = plot_trajectories(e4, metric="sign_accuracy", xscale="symlog", n_boot=_N_BOOT,
                                title="E4: linear regression with decoys; mean and 95% CI over 5 seeds")
        lines += ["## E4–E7 — linear regression with decoy features", "", _save(fig, report_dir, "e4.png"), ""]
    e5, _ = by_suite["miller2023-e5-linear-decoy-init"]
    if not e5.empty:
        gaps = e5_gaps(e5)
        fig = Figure(figsize=(6, 4), layout="constrained")
        ax = fig.subplots()
        ax.plot(gaps["alpha"], gaps["gap"].astype(float), "o-", label="grokbeyond (seed-mean curve)")
        path = None if reference_dir is None else Path(reference_dir) / "linreg_init_analysis.csv"
        if path is not None and path.exists():
            ref = pd.read_csv(path)
            ax.plot(ref["init_w0"], ref["grokking_gap_steps"], "kx--", label="paper code")
        ax.set(xscale="log", xlabel="initial weight α on x", ylabel="grokking gap (steps)",
               title="E5–E6: gap against the initial weight")
        ax.legend(fontsize=8)
        lines += [_save(fig, report_dir, "e5_gap_vs_alpha.png"), ""]
    e7, _ = by_suite["miller2023-e7-linear-decoy-no-prior"]
    if not e7.empty:
        fig = plot_trajectories(e7, metric="sign_accuracy", terms=("weight_0", "weight_1", "weight_2", "weight_3"),
                                xscale="symlog", n_boot=_N_BOOT,
                                title="E7: without the complexity term; weight 0 is on x, weights 1–3 on the decoys "
                                      "x², x³, sin(100x)")
        lines += [_save(fig, report_dir, "e7.png"), ""]
    return lines


def _e8(by_suite, report_dir):
    frames, fits, lines, tests = [], [], [], []
    for suite, label, figure in (
            ("miller2023-e8-mlp-concealment", "with replacement (paper)", "e8_with_replacement.png"),
            ("miller2023-e8-mlp-concealment-leak-free", "leak-free (disjoint pairs)", "e8_leak_free.png")):
        history, results = by_suite[suite]
        if results.empty:
            continue
        frames.append(results.assign(sampling=label))
        tests.append(history[history["split"] == "test"])
        fit = e8_fit(results)
        fits.append((label, fit))
        add = history[history["dataset.operation"] == "add"]
        fig = plot_sweep(add, "dataset.n_concealed", xlabel="epoch", xscale="symlog", complexity_scale="log",
                         n_boot=_N_BOOT, title=f"E8, {label}: a+b mod 7; colour: concealed bits m; mean and 95% CI over seeds")
        lines += [_save(fig, report_dir, figure), ""]
    if not frames:
        return []
    results = pd.concat(frames, ignore_index=True)
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    shown = results.dropna(subset=["gap"]).assign(gap=lambda f: f["gap"].astype(float).clip(lower=1))
    # Jitter from a seeded generator (seaborn's stripplot draws it from numpy's global RNG, so the figure
    # would change from one report to the next).
    jitter = np.random.default_rng(0).uniform(-0.8, 0.8, len(shown))
    sns.scatterplot(data=shown.assign(m=shown["dataset.n_concealed"] + jitter), x="m", y="gap", hue="sampling",
                    alpha=0.6, linewidth=0, ax=ax)
    m = np.linspace(results["dataset.n_concealed"].min(), results["dataset.n_concealed"].max(), 50)
    for label, fit in fits:
        if not isinstance(fit, str):
            ax.plot(m, fit.scale * np.exp(fit.rate * m), "--",
                    label=f"{label}: {fit.scale:.3g}·e^({fit.rate:.3g}·m), r = {fit.pearson_r:.2f}")
    ax.set(yscale="log", xlabel="concealed bits m", ylabel="grokking gap (epochs; ≤ 0 drawn at 1)",
           title="E8: gap against concealment, every task and seed")
    if ax.get_legend_handles_labels()[0]:  # nothing to label when no run generalised
        ax.legend(fontsize=7)
    test = pd.concat(tests)
    final = (test.sort_values("step").groupby("run_id").tail(1).merge(results[["run_id", "sampling"]], on="run_id"))
    finals = final.groupby("sampling")["accuracy"].agg(runs="size", median="median", min="min", max="max")
    table = results.assign(task=results["dataset.operation"].map(_TASKS)).groupby(
        ["sampling", "dataset.n_concealed"]).agg(
        runs=("run_id", "size"), grok=("phase", lambda p: f"{(p == 'grokking').mean():.0%}"),
        censored=("generalisation_censored", "sum"),
        median_gap=("gap", lambda g: pd.to_numeric(g).median())).reset_index()
    return ["## E8 — concealment makes an MLP grok, and the leak-free twin", "",
            "The paper draws 800 (a, b) pairs with replacement from the 49, so every test pair also occurs in "
            "training; the leak-free twin splits the 49 distinct pairs 34 / 15 and keeps the step budget.", "",
            _save(fig, report_dir, "e8_gap_vs_m.png"), "", *lines,
            "Test accuracy at the last epoch (chance 1/7 = 0.143):", "",
            finals.reset_index().to_markdown(index=False, floatfmt=".3f"), "",
            table.to_markdown(index=False, floatfmt=".4g"), ""]


def _e11(by_suite, report_dir):
    history, results = by_suite["miller2023-e11-bnn-init-scale"]
    if history.empty:
        return []
    fig = plot_sweep(history, "model.init_scale", xlabel="epoch", xscale="symlog", complexity_scale="log",
                     n_boot=_N_BOOT,
                     title="E11: Bayesian MLP on parity; colour: initial scale σ; mean and 95% CI over seeds")
    table = results.groupby("model.init_scale").agg(
        runs=("run_id", "size"), grok=("phase", lambda p: f"{(p == 'grokking').mean():.0%}"),
        median_t_memorise=("t_memorise", "median"), median_t_generalise=("t_generalise", "median"),
        median_gap=("gap", lambda g: pd.to_numeric(g).median())).reset_index()
    return ["## E11 — a Bayesian neural network's gap against its initial scale", "",
            _save(fig, report_dir, "e11.png"), "", table.to_markdown(index=False, floatfmt=".4g"), ""]


def _error_complexity(by_suite, report_dir):
    picks = (("miller2023-e1-gp-parity", "E1, seed 42", lambda r: r["seed"] == 42),
             ("miller2023-e4-linear-decoy", "E4, seed 0", lambda r: r["seed"] == 0),
             ("miller2023-e8-mlp-concealment", "E8, a+b, m = 40, seed 0",
              lambda r: (r["dataset.operation"] == "add") & (r["dataset.n_concealed"] == r["dataset.n_concealed"].max())
              & (r["seed"] == 0)),
             ("miller2023-e11-bnn-init-scale", "E11, σ = 1, seed 0",
              lambda r: (r["model.init_scale"] == r["model.init_scale"].max()) & (r["seed"] == 0)))
    histories_shown, rows = [], []
    for suite, label, pick in picks:
        history, results = by_suite[suite]
        if results.empty or not pick(results).any():
            continue
        row = results[pick(results)].iloc[0]
        rows.append({"run_id": row["run_id"], "t_generalise": row["t_generalise"], "run": label})
        histories_shown.append(history[history["run_id"] == row["run_id"]])
    if not rows:
        return []
    fig = plot_error_complexity(pd.concat(histories_shown), pd.DataFrame(rows), label="run")
    return ["## Error–complexity trajectories", "",
            "Complexity against data fit on the training split, coloured by step (epochs for E8 and E11); the star "
            "marks the step the test metric passes its threshold.", "",
            _save(fig, report_dir, "error_complexity.png"), ""]


def write_miller2023_report(results_dir, *, report_dir=None, reference_dir=None):
    """Write the claims table, figures and ``README.md`` from a miller2023 store (trains nothing).

    Parameters
    ----------
    results_dir : path-like
        The store written by :func:`~grokbeyond.reproduce.miller2023.run_miller2023`.
    report_dir : path-like or None, default=None
        Where the page and figures go; ``None`` is ``<results_dir>/report``.
    reference_dir : path-like or None, default=None
        ``shared/reference``; the paper code's E5 gaps are drawn when present.

    Returns
    -------
    dict
        ``results_dir``, ``report_dir`` and ``claims`` (a DataFrame, also written as
        ``claims.csv``).

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` is not a store.
    ValueError
        If the store holds no runs.
    """
    results_dir = Path(results_dir)
    histories, runs = load_results(results_dir)
    if runs.empty:
        raise ValueError(f"{results_dir} holds no runs.")
    report_dir = Path(report_dir) if report_dir is not None else results_dir / "report"
    report_dir.mkdir(parents=True, exist_ok=True)
    by_suite = {name: suite_results(histories, runs, name) for name in SUITE_NAMES}
    claims = claims_table(histories, runs, by_suite=by_suite)
    claims.to_csv(report_dir / "claims.csv", index=False)
    log = results_dir / "sweeps.json"
    sweeps = json.loads(log.read_text()) if log.exists() else []
    quick = any(s.get("quick") for s in sweeps)
    failed = runs[runs["status"] != "finished"]
    sweep_text = "; ".join(
        f"{s['wall_time_s'] / 60:.1f} min with {s['n_jobs']} worker(s) for {s.get('n_finished', '?')} runs"
        + (f" from {s['started']}" if s.get("started") else "") for s in sweeps)
    lines = [
        "# Miller, O'Neill & Bui (2023), *Grokking Beyond Neural Networks* — reproduced" + (" (quick)" if quick else ""),
        "",
        f"Written by `grokbeyond reproduce miller2023{' --quick' if quick else ''}` from grokbeyond {__version__}: "
        f"{len(runs)} runs of {runs['suite'].nunique()} suites ({len(failed)} failed), "
        + (f"sweeps: {sweep_text}. " if sweeps else "")
        + "Every number below is computed from the stored runs; the suites are the TOML files in "
        "`src/grokbeyond/reproduce/miller2023/suites/`, with the settings and seeds of the paper's code "
        "(`shared/reference/README.md`).",
        "",
        "Intervals are 95%: percentile bootstrap over seeds for medians and over settings for Spearman's ρ, the t "
        "interval of a fitted slope, Fisher's interval of Pearson's r. A gap is the first test crossing minus the "
        "first train crossing of the threshold (strictly above 0.95 as in the paper's code, except E2's 20 test "
        "points, ≥ 0.95); a run that never crosses is censored, never given the budget.",
        "",
        *(["A quick run checks the whole pipeline in minutes; its seeds, settings and budgets are too small for "
            "several criteria (fits over a few runs, gaps longer than the shortened runs). Read the claims from the "
            "full run, `reports/miller2023/` in the repository.", ""] if quick else []),
        "## Claims",
        "",
        claims.to_markdown(index=False),
        "",
    ]
    if not failed.empty:
        lines += ["## Failed runs", "", failed[["suite", "run_id", "seed", "error"]].to_markdown(index=False), ""]
    lines += [*_e1(by_suite, report_dir), *_e2(by_suite, report_dir), *_e3(by_suite, report_dir),
              *_e4_e7(by_suite, report_dir, reference_dir), *_e8(by_suite, report_dir), *_e11(by_suite, report_dir),
              *_error_complexity(by_suite, report_dir)]
    (report_dir / "README.md").write_text("\n".join(lines))
    return {"results_dir": results_dir, "report_dir": report_dir, "claims": claims}
