"""Reproduction of Miller, O'Neill & Bui (2023), experiment E3: GP regression landscapes and trajectories.

Settings (paper sec. 3.2; their code's GP-regression landscape experiment): noisy sine,
100 points split 50/50 (seed 42); :class:`~grokbeyond.models.GPRegressor` with
lengthscale and outputscale log-parameterised; Adam lr 4e-2, 3000 steps on −MLL/N from
three initialisations (log ℓ, log σ_f²): A = (−6, −4), B = (−6, 4), C = (0, 2). The
paper states a noise variance initialised at 0.01; the curves its code produced match a
noise initialised at gpytorch's default softplus(0) ≈ 0.693 instead, so both are run.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from .. import __version__
from ..datasets import make_noisy_sine
from ..grokking import grokking_table
from ..models import GPRegressor, mll_landscape
from ._common import report_paths
from ..report import plot_landscape

__all__ = ["GPRegressionConfig", "infer_reference_noise", "run_gp_regression", "write_gp_regression_report"]

_STATED, _AS_RUN = "stated: 0.01", "gpytorch default: 0.693"
_MSE_THRESHOLD = 0.05


@dataclass(frozen=True)
class GPRegressionConfig:
    """Settings of experiment E3 (defaults are the paper's).

    Attributes
    ----------
    seed : int
        Seed of ``make_noisy_sine``.
    max_iter : int
        Adam steps per run.
    lr : float
        Adam learning rate.
    inits : tuple of (str, float, float)
        ``(label, log ℓ, log σ_f²)`` of each run.
    grid_size : int
        Points per axis of the landscape (log ℓ in [−7, 4], log σ_f² in [−5, 5]).
    landscape_noise : float
        Fixed noise variance of the landscape.
    """

    seed: int = 42
    max_iter: int = 3000
    lr: float = 4e-2
    inits: tuple = (("A", -6.0, -4.0), ("B", -6.0, 4.0), ("C", 0.0, 2.0))
    grid_size: int = 100
    landscape_noise: float = 0.01

    @classmethod
    def quick(cls) -> "GPRegressionConfig":
        """300 steps and a 40 × 40 grid: seconds."""
        return cls(max_iter=300, grid_size=40)


def infer_reference_noise(reference_dir) -> float | None:
    """The noise variance the paper code's landscape grid was computed with.

    At the grid's smallest lengthscale the kernel matrix is ``σ_f² I`` to machine
    precision for distinct inputs, so the complexity term is ``½ log(σ_f² + σ²)``
    whatever the data; inverting it at the smallest outputscale gives σ².

    Parameters
    ----------
    reference_dir : path-like or None
        Folder holding ``gpr_landscape_grid.csv``.

    Returns
    -------
    float or None
        The inferred σ², or None if the file is missing.
    """
    path = None if reference_dir is None else Path(reference_dir) / "gpr_landscape_grid.csv"
    if path is None or not path.exists():
        return None
    grid = pd.read_csv(path)
    corner = grid[grid["log_lengthscale"] == grid["log_lengthscale"].min()]
    corner = corner.loc[corner["log_outputscale"].idxmin()]
    return float(math.exp(2 * corner["complexity_over_n"]) - math.exp(corner["log_outputscale"]))


def _load_reference(reference_dir) -> pd.DataFrame | None:
    path = None if reference_dir is None else Path(reference_dir) / "gpr_landscape_trajectories.csv"
    if path is None or not path.exists():
        return None
    raw = pd.read_csv(path)
    common = {"init": raw["init_label"], "step": raw["step"], "log_lengthscale": raw["log_lengthscale"],
              "log_outputscale": raw["log_outputscale"], "data_fit": raw["datafit_over_n"],
              "complexity": raw["complexity_over_n"], "source": "paper code"}
    return pd.concat([pd.DataFrame({**common, "split": "train", "error": raw["train_mse"]}),
                      pd.DataFrame({**common, "split": "test", "error": raw["val_mse"]})], ignore_index=True)


def run_gp_regression(config=None, *, results_dir="grokbeyond-results", report_dir=None, reference_dir=None,
                      verbose=True):
    """Run experiment E3 (both noise initialisations) and its landscape, then write the report.

    Parameters
    ----------
    config : GPRegressionConfig or None, default=None
        Settings; ``None`` is the paper's experiment.
    results_dir : path-like, default="grokbeyond-results"
        ``gp-regression/`` below it receives ``histories.parquet`` (columns ``init``
        and ``noise_init`` name a run), ``landscape.parquet``, ``runs.parquet`` and
        ``config.json``.
    report_dir : path-like or None, default=None
        Where the report goes; ``None`` is ``<results_dir>/gp-regression/report``.
    reference_dir : path-like or None, default=None
        The paper code's curves; the comparison is skipped when missing.
    verbose : bool, default=True
        Print a line per run.

    Returns
    -------
    dict
        ``results_dir``, ``report_dir``.
    """
    config = config or GPRegressionConfig()
    results_dir = Path(results_dir) / "gp-regression"
    results_dir.mkdir(parents=True, exist_ok=True)
    data = make_noisy_sine(random_state=config.seed)
    histories, runs = [], []
    for noise_label, noise in ((_STATED, 0.01), (_AS_RUN, None)):
        for label, log_l, log_s in config.inits:
            model = GPRegressor(max_iter=config.max_iter, lr=config.lr, initial_lengthscale=math.exp(log_l),
                                initial_outputscale=math.exp(log_s), initial_noise=noise,
                                hyperparameter_transform="exp", random_state=config.seed)
            start = time.perf_counter()
            model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
            wall = time.perf_counter() - start
            histories.append(model.history_.assign(init=label, noise_init=noise_label))
            runs.append({"init": label, "noise_init": noise_label, "wall_time_s": wall})
            if verbose:
                print(f"E3 init {label}, noise {noise_label}: {wall:.1f} s", flush=True)
    pd.concat(histories, ignore_index=True).to_parquet(results_dir / "histories.parquet", index=False)
    pd.DataFrame(runs).to_parquet(results_dir / "runs.parquet", index=False)
    axis_l = np.linspace(-7, 4, config.grid_size)
    axis_s = np.linspace(-5, 5, config.grid_size)
    landscape = mll_landscape(data.X_train, data.y_train, axis_l, axis_s, noise=config.landscape_noise)
    landscape.to_parquet(results_dir / "landscape.parquet", index=False)
    (results_dir / "config.json").write_text(json.dumps({"config": asdict(config)}, indent=2))
    return write_gp_regression_report(results_dir, report_dir=report_dir, reference_dir=reference_dir)


def _with_logs(histories: pd.DataFrame) -> pd.DataFrame:
    return histories.assign(log_lengthscale=np.log(histories["lengthscale_0"]),
                            log_outputscale=np.log(histories["outputscale"]))


def _trajectory_figure(ours: pd.DataFrame, reference: pd.DataFrame | None) -> Figure:
    frames = [ours.assign(source="grokbeyond, noise " + ours["noise_init"])]
    if reference is not None:
        frames.append(reference)
    data = pd.concat(frames, ignore_index=True)
    data = data.assign(split=data["split"].astype(str), step=data["step"] + 1)
    inits = sorted(data["init"].unique())
    fig = Figure(figsize=(5 * len(inits), 4), layout="constrained")
    for ax, init in zip(fig.subplots(1, len(inits), squeeze=False)[0], inits):
        sns.lineplot(data=data[data["init"] == init], x="step", y="error", hue="split", style="source",
                     hue_order=["train", "test"], errorbar=None, ax=ax)
        ax.set(xscale="log", yscale="log", title=f"init {init}", xlabel="optimisation step + 1",
               ylabel="mean squared error")
        ax.legend(fontsize=6)
    fig.suptitle("E3: GP regression on the noisy sine, train and test MSE")
    return fig


def write_gp_regression_report(results_dir, *, report_dir=None, reference_dir=None):
    """Write E3's figures and markdown report from stored results (trains nothing).

    Parameters
    ----------
    results_dir : path-like
        The ``gp-regression`` folder written by :func:`run_gp_regression`.
    report_dir : path-like or None, default=None
        Where ``README.md`` and the figures go; ``None`` is ``<results_dir>/report``.
    reference_dir : path-like or None, default=None
        The paper code's curves.

    Returns
    -------
    dict
        ``results_dir``, ``report_dir``.

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` lacks the stored results.
    """
    results_dir, report_dir = report_paths(results_dir, report_dir)
    histories = _with_logs(pd.read_parquet(results_dir / "histories.parquet"))
    landscape = pd.read_parquet(results_dir / "landscape.parquet")
    runs = pd.read_parquet(results_dir / "runs.parquet")
    config = GPRegressionConfig(**{k: tuple(map(tuple, v)) if k == "inits" else v
                                   for k, v in json.loads((results_dir / "config.json").read_text())["config"].items()})
    reference = _load_reference(reference_dir)
    reference_noise = infer_reference_noise(reference_dir)

    _trajectory_figure(histories, reference).savefig(report_dir / "trajectories.png", dpi=110)
    stated = histories[(histories["noise_init"] == _STATED) & (histories["split"] == "train")]
    plot_landscape(landscape, x="log_lengthscale", y="log_outputscale", paths=stated, path_label="init",
                   title=f"E3 landscape (noise {config.landscape_noise}, mean 0) with the paths of the runs "
                         "whose noise starts at 0.01").savefig(report_dir / "landscape.png", dpi=110)

    table = grokking_table(histories, by=["noise_init", "init"], metric="error", threshold=_MSE_THRESHOLD,
                           min_delay=10)
    rows = []
    for (noise_init, init), run in histories.groupby(["noise_init", "init"], sort=True):
        rows.append(_summary_row(f"grokbeyond, noise {noise_init}", init, run, table, noise_init))
    if reference is not None:
        reference = reference.assign(noise_init="paper code")
        ref_table = grokking_table(reference, by=["noise_init", "init"], metric="error", threshold=_MSE_THRESHOLD,
                                   min_delay=10)
        for init, run in reference.groupby("init", sort=True):
            rows.append(_summary_row("paper code", init, run, ref_table, "paper code"))
    summary = pd.DataFrame(rows)

    lines = [
        "# E3 — GP regression: an interpolating initialisation generalises late",
        "",
        "Reproduction of Miller, O'Neill & Bui (2023), *Grokking Beyond Neural Networks*, sec. 3.2, written by "
        f"`grokbeyond reproduce gp-regression` from grokbeyond {__version__}. Every number below comes from that run.",
        "",
        "## Settings",
        "",
        f"- Data: `make_noisy_sine(n_samples=100, noise=0.1, random_state={config.seed})`, 50 train / 50 test.",
        "- Model: `GPRegressor` — constant mean, `ScaleKernel(RBFKernel)`, Gaussian likelihood; lengthscale and "
        "outputscale log-parameterised (`hyperparameter_transform=\"exp\"`); noise learned.",
        f"- Training: Adam lr {config.lr}, {config.max_iter} steps on −MLL/N from (log ℓ, log σ_f²) = "
        + ", ".join(f"{label} ({log_l:g}, {log_s:g})" for label, log_l, log_s in config.inits)
        + "; noise initialised at 0.01 (as the paper states) and at gpytorch's default 0.693.",
        f"- Wall time: {runs['wall_time_s'].sum():.0f} s for {len(runs)} runs.",
        f"- Grokking read from the MSE: `detect_grokking(history, metric=\"error\", threshold={_MSE_THRESHOLD})`.",
        "",
        "![trajectories](trajectories.png)",
        "",
        "![landscape](landscape.png)",
        "",
        "## Runs",
        "",
        summary.to_markdown(index=False, floatfmt=".4g"),
        "",
        "## Which noise the paper's code ran with",
        "",
    ]
    if reference_noise is None:
        lines += ["The reference files were not found; no inference was made.", ""]
    else:
        lines += [
            f"The paper code's landscape grid gives σ² = {reference_noise:.3f} when its complexity term at the "
            "smallest lengthscale and outputscale is inverted (there K = σ_f² I, so the term is "
            "½ log(σ_f² + σ²) for any data): gpytorch's default noise softplus(0) = 0.693, not the stated 0.01. "
            "Its trajectories start where a noise of 0.693 puts them — compare each init's first-step complexity "
            "in the table. With noise 0.693 a small outputscale (init A) leaves the posterior mean near the "
            "constant, so train and test MSE both start near the targets' variance and fall together; with 0.01 "
            "init A already fits part of the training data at step 0. Init B interpolates the training data "
            "either way (σ_f² = e⁴ dwarfs the noise) and generalises only once the lengthscale has grown.",
            "",
            "The runs of each source end at one optimum, but ours and the paper code's differ (final MSE and "
            "hyperparameters in the table). The data draws differ — ours come from `make_noisy_sine`, theirs "
            "from torch's RNG — and this run does not separate that from any other cause.",
            "",
        ]
    (report_dir / "README.md").write_text("\n".join(lines))
    return {"results_dir": results_dir, "report_dir": report_dir}


def _summary_row(source, init, run, table, noise_init) -> dict:
    result = table[(table["init"] == init) & (table["noise_init"] == noise_init)].iloc[0]
    train = run[run["split"] == "train"].sort_values("step")
    test = run[run["split"] == "test"].sort_values("step")
    return {
        "run": source, "init": init,
        "complexity at step 0": train["complexity"].iloc[0],
        "train MSE 0": train["error"].iloc[0], "test MSE 0": test["error"].iloc[0],
        "train ≤ 0.05": result["t_memorise"], "test ≤ 0.05": result["t_generalise"], "phase": result["phase"],
        "final train MSE": train["error"].iloc[-1], "final test MSE": test["error"].iloc[-1],
        "final log ℓ": train["log_lengthscale"].iloc[-1], "final log σ_f²": train["log_outputscale"].iloc[-1],
    }
