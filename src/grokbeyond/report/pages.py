"""A markdown page with the field's figures for a results store (reads runs, never trains)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from ..exceptions import InputError, StoreWarning
from ..grokking import PHASES, fit_exponential_gap, grokking_table
from .figures import _check_columns, plot_sweep, plot_trajectories

__all__ = ["plot_error_complexity", "plot_phase_diagram", "write_store_report"]

_PHASE_CODE = {phase: i for i, phase in enumerate(PHASES)}


def read_store(results_dir):
    """:func:`~grokbeyond.harness.load_results` with the files it skipped, for a page to list.

    Returns
    -------
    histories, runs : pandas.DataFrame
        As ``load_results``.
    skipped : list of str
        One message per file that is not a readable run file (each is still warned
        about as a :class:`~grokbeyond.exceptions.StoreWarning`).
    """
    from ..harness import load_results  # report reads the store; the harness never imports report

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", StoreWarning)
        histories, runs = load_results(results_dir)
    skipped = []
    for warning in caught:
        if issubclass(warning.category, StoreWarning):
            skipped.append(str(warning.message))
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return histories, runs, skipped


def skipped_section(skipped) -> list[str]:
    """A page's lines naming the store's files that could not be read (none: no lines)."""
    if not skipped:
        return []
    return ["## Files skipped", "", f"{len(skipped)} file(s) in the store are not readable run files; any run they "
            "held is missing from this page (a rerun of the sweep redoes it):", "",
            *(f"- {message}" for message in skipped), ""]


def _fmt(value) -> str:
    """A parameter value for a label: 200.0 as 200, other values as they are."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _varying(runs: pd.DataFrame) -> list[str]:
    """Every run attribute but the seed that takes more than one value across runs: the family,
    the dataset, the suite, the case and each dataset.* / model.* parameter (a parameter one
    family has and another lacks counts as differing), so that no cell pools runs that differ."""
    columns = [c for c in ("family", "dataset", "suite", "case") if c in runs]
    columns += [c for c in runs.columns if c.startswith(("dataset.", "model.")) and c not in ("dataset.name",
                                                                                                "model.family")]
    # As text, missing values included (pandas' own astype(str) keeps NaN missing, and nunique drops it).
    return [c for c in columns if runs[c].astype(object).map(str).nunique() > 1]


def _cell_name(row, swept) -> str:
    """A grid cell named by its swept values, e.g. "family=mlp, lr=0.01" (values a run lacks left out)."""
    parts = [f"{c.split('.', 1)[-1]}={_fmt(row[c])}" for c in swept
             if isinstance(row[c], (list, str)) or pd.notna(row[c])]
    return ", ".join(parts)


def plot_phase_diagram(results: pd.DataFrame, x: str, y: str, *, title=None):
    """Phase per grid cell (majority over seeds), annotated with the fraction of seeds that grok.

    Parameters
    ----------
    results : pandas.DataFrame
        One row per run: the columns ``x`` and ``y`` and ``phase`` (from
        :func:`~grokbeyond.grokking.grokking_table`).
    x, y : str
        The two swept parameters (e.g. ``"dataset.n_train"`` and ``"model.weight_decay"``).
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.report import plot_phase_diagram
    >>> results = pd.DataFrame({"dataset.n_concealed": [0, 0, 10, 10] * 2, "model.lr": [0.1] * 4 + [0.5] * 4,
    ...                         "phase": ["comprehension"] * 2 + ["grokking", "memorisation"]
    ...                                  + ["comprehension", "grokking"] + ["grokking"] * 2})
    >>> fig = plot_phase_diagram(results, "dataset.n_concealed", "model.lr")
    >>> [text.get_text() for text in fig.axes[0].texts]  # per cell, bottom row (lr = 0.1) first
    ['0% grok', '50% grok', '50% grok', '100% grok']
    """
    _check_columns(results, {x, y, "phase"}, "results")
    cells = results.groupby([y, x], sort=True).agg(
        phase=("phase", lambda p: p.value_counts().idxmax()),
        grokking=("phase", lambda p: (p == "grokking").mean()),
    ).reset_index()
    codes = cells.pivot(index=y, columns=x, values="phase").map(_PHASE_CODE.get)
    fractions = cells.pivot(index=y, columns=x, values="grokking")
    fig = Figure(figsize=(1.6 * codes.shape[1] + 3, 1.0 * codes.shape[0] + 2), layout="constrained")
    ax = fig.subplots()
    palette = sns.color_palette("Set2", n_colors=len(PHASES))
    sns.heatmap(codes.astype(float), cmap=palette, vmin=-0.5, vmax=len(PHASES) - 0.5, cbar=False, ax=ax,
                annot=fractions.map(lambda f: f"{f:.0%} grok"), fmt="", linewidths=0.5)
    ax.legend(handles=[ax.scatter([], [], color=palette[i], marker="s", label=p) for p, i in _PHASE_CODE.items()],
              title="phase (majority of seeds)", fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set(xlabel=x, ylabel=y, title=title or "phase diagram")
    ax.invert_yaxis()
    return fig


def plot_error_complexity(histories: pd.DataFrame, results: pd.DataFrame, *, label: str = "run_id", max_panels=6):
    """Complexity against data fit along each run (train split), coloured by step, grokking step marked.

    Parameters
    ----------
    histories : pandas.DataFrame
        Tidy histories with ``run_id``, ``step``, ``split``, ``data_fit``, ``complexity``.
    results : pandas.DataFrame
        One row per run: ``run_id``, ``t_generalise`` and the ``label`` column.
    label : str, default="run_id"
        Column naming each panel.
    max_panels : int, default=6
        Panels drawn (the first runs of ``results``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> from grokbeyond.grokking import grokking_table
    >>> from grokbeyond.report import plot_error_complexity
    >>> histories = pd.DataFrame([
    ...     {"run_id": f"run-{seed}", "step": step, "split": split, "data_fit": 1 / (step + 1),
    ...      "complexity": 0.1 + step / 1000, "accuracy": 1.0 if split == "train" or step >= 50 + 10 * seed else 0.5}
    ...     for seed in range(2) for step in range(0, 100, 10) for split in ("train", "test")])
    >>> results = grokking_table(histories, by="run_id")  # t_generalise: 50 and 60, marked by a star
    >>> fig = plot_error_complexity(histories, results)
    >>> [ax.get_title() for ax in fig.axes[:2]]  # then two colour bars
    ['run-0', 'run-1']
    """
    shown = results.head(max_panels)
    fig = Figure(figsize=(4.2 * len(shown), 3.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(shown)))
    for ax, row in zip(axes, shown.itertuples()):
        run = histories[(histories["run_id"] == row.run_id) & (histories["split"] == "train")].sort_values("step")
        points = ax.scatter(run["data_fit"], run["complexity"], c=run["step"], cmap="viridis", s=8)
        ax.plot(run["data_fit"], run["complexity"], color="grey", lw=0.5, alpha=0.6)
        if pd.notna(row.t_generalise):
            at = run[run["step"] == row.t_generalise]
            ax.plot(at["data_fit"], at["complexity"], "r*", ms=14, label=f"test ≥ threshold (step {row.t_generalise:g})")
            ax.legend(fontsize=7)
        ax.set(xlabel="data fit (nats per datapoint)", ylabel="complexity (nats per datapoint)", xscale="log",
               title=str(getattr(row, label)))
        fig.colorbar(points, ax=ax, label="step")
    return fig


def _gap_section(results, swept, gap_against, out_dir) -> list[str]:
    """The gap against one swept parameter, one series and one exponential fit per combination
    of the other swept parameters (so that, say, two families are never fitted together)."""
    others = [c for c in swept if c != gap_against]
    groups = (results.assign(series=results.apply(lambda r: _cell_name(r, others), axis=1) if others else "all runs")
              .groupby("series", sort=True))
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    text, drawn = [], 0
    for (series, group), colour in zip(groups, sns.color_palette("colorblind", groups.ngroups)):
        gaps = group.dropna(subset=["gap"]).astype({"gap": float})
        drawn += len(gaps)
        ax.scatter(gaps[gap_against], gaps["gap"].clip(lower=1), alpha=0.6, color=colour, label=series)
        try:
            fit = fit_exponential_gap(group[gap_against], group["gap"])
        except ValueError as err:
            text.append(f"- {series}: not fitted: {err}")
            continue
        x = np.linspace(group[gap_against].min(), group[gap_against].max(), 50)
        ax.plot(x, fit.scale * np.exp(fit.rate * x), "--", color=colour,
                label=f"{fit.scale:.3g}·e^({fit.rate:.3g}·x), r = {fit.pearson_r:.2f}")
        text.append(f"- {series}: gap ≈ {fit.scale:.3g}·e^({fit.rate:.3g}·x), rate 95% CI [{fit.rate_ci[0]:.3g}, "
                    f"{fit.rate_ci[1]:.3g}], Pearson r = {fit.pearson_r:.3f} over {fit.n_points} runs "
                    f"({fit.n_censored} censored, left out).")
    ax.set(yscale="log" if drawn else "linear", xlabel=gap_against, ylabel="grokking gap (steps; ≤ 0 drawn at 1)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.savefig(out_dir / "gap.png", dpi=100)
    return [f"## Gap against `{gap_against}`", "", "![gap](gap.png)", "",
            f"ln gap fitted on x = `{gap_against}`" + (f", separately for each {', '.join(others)}" if others else "")
            + ":", "", *text, ""]


def write_store_report(results_dir, out_dir, *, metric="accuracy", threshold=0.95, min_delay=10, phase_axes=None,
                       gap_against=None):
    """Write the figures and a markdown page for a results store.

    Every run is read from the store (:func:`~grokbeyond.harness.load_results`) and
    passed through :func:`~grokbeyond.grokking.detect_grokking`. The page has, as the
    store allows:

    - trajectories with 95% bands over seeds, one line per grid cell (``plot_sweep``);
    - the grokking gap against a swept parameter (``gap_against``; by default the
      number of concealed dimensions when it varies) with the exponential fit of ln gap
      and Pearson r (Miller et al. 2023, fig. 4);
    - a phase diagram over two swept parameters (``phase_axes``; phase per cell,
      fraction of seeds that grok);
    - error–complexity trajectories (complexity against data fit, coloured by step,
      the generalisation step marked), one run per grid cell;
    - a table per grid cell: phases, median gap, censored seeds.

    Parameters
    ----------
    results_dir : path-like
        The store.
    out_dir : path-like
        Where ``README.md`` and the figures go.
    metric, threshold, min_delay
        Passed to ``detect_grokking``.
    phase_axes : pair of str or None, default=None
        The swept parameters on the phase diagram's x and y axes, e.g.
        ``("dataset.n_concealed", "model.init_scale")``; ``None``: the first two swept.
    gap_against : str or None, default=None
        The swept parameter the gap is plotted and fitted against; ``None``:
        ``dataset.n_concealed`` if swept, else no such figure.

    Returns
    -------
    pandas.DataFrame
        One row per run: its grid parameters and grokking result.

    Raises
    ------
    FileNotFoundError
        If ``results_dir`` is not a store.
    ValueError
        If the store holds no finished run, or ``phase_axes`` / ``gap_against`` name a
        parameter the store does not sweep.

    Examples
    --------
    >>> import os, tempfile
    >>> from grokbeyond.harness import run_suite
    >>> from grokbeyond.report import write_store_report
    >>> suite = {"name": "tiny", "seeds": [0, 1], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2},
    ...          "model": {"family": "logistic", "max_iter": 20, "eval_every": 10}}
    >>> store, page = tempfile.TemporaryDirectory(), tempfile.TemporaryDirectory()
    >>> _ = run_suite(suite, store.name, progress=False)
    >>> results = write_store_report(store.name, page.name)
    >>> results[["seed", "t_memorise", "t_generalise", "phase"]].shape
    (2, 4)
    >>> sorted(os.listdir(page.name))
    ['README.md', 'error_complexity.png', 'grokking.csv', 'trajectories.png']
    >>> store.cleanup(), page.cleanup()
    (None, None)
    """
    histories, runs, skipped = read_store(results_dir)
    finished = runs[runs["status"] == "finished"]
    if finished.empty:
        raise InputError(f"{results_dir} holds no finished run.")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    histories = histories[histories["run_id"].isin(finished["run_id"])]
    swept = _varying(finished)
    if "suite" in swept and len(swept) > 1:  # a suite per family (a comparison): the suite adds nothing
        rest = [c for c in swept if c != "suite"]
        label = finished.apply(lambda r: _cell_name(r, rest), axis=1)  # text: missing values are not dropped
        if finished.groupby(label)["suite"].nunique().eq(1).all():
            swept = rest
    for name in [*(phase_axes or ()), *([gap_against] if gap_against else [])]:
        if name not in swept:
            raise InputError(f"{name!r} is not swept in {results_dir}; swept: {swept}.")
    if phase_axes is not None and len(phase_axes) != 2:
        raise InputError(f"phase_axes takes two parameters; got {list(phase_axes)}.")
    if gap_against is None and "dataset.n_concealed" in swept:
        gap_against = "dataset.n_concealed"
    if swept:  # a grid cell is named by its swept parameters, e.g. "lr=0.01, n_train=200"
        finished = finished.assign(cell=finished[swept].apply(lambda r: _cell_name(r, swept), axis=1))
    else:
        finished = finished.assign(cell="all")
    results = grokking_table(histories, by="run_id", metric=metric, threshold=threshold, min_delay=min_delay)
    results = finished[["run_id", "seed", "cell", *swept]].merge(results, on="run_id")
    lines = [f"# Results store `{results_dir}`", "",
             f"{len(runs)} runs ({len(finished)} finished, {len(runs) - len(finished)} failed); swept: "
             f"{', '.join(swept) or 'nothing'}; grokking on `{metric}` ≥ {threshold}, gap ≥ {min_delay} steps.", ""]

    merged = histories.merge(finished[["run_id", "seed", "cell"]], on="run_id")
    fig = plot_sweep(merged, "cell", metric=metric, xscale="symlog") if swept else plot_trajectories(
        merged, metric=metric, xscale="symlog")
    fig.savefig(out_dir / "trajectories.png", dpi=100)
    lines += ["## Trajectories", "", "![trajectories](trajectories.png)", ""]

    if gap_against is not None:
        lines += _gap_section(results, swept, gap_against, out_dir)

    params = [c for c in swept if c.startswith(("dataset.", "model."))]
    if phase_axes is None and len(params) >= 2:
        phase_axes = params[:2]
    if phase_axes is not None:
        lines += ["## Phase diagram", ""]
        others = [c for c in swept if c not in phase_axes]
        key = (results.apply(lambda r: _cell_name(r, others), axis=1) if others
               else pd.Series("all", index=results.index))
        panels = results.groupby(key, sort=True)
        for i, (series, group) in enumerate(panels):
            name = "phase_diagram.png" if panels.ngroups == 1 else f"phase_diagram_{i}.png"
            fig = plot_phase_diagram(group, *phase_axes, title=None if series == "all" else series)
            fig.savefig(out_dir / name, dpi=100)
            lines += [f"![phases]({name})", ""]

    first = results.sort_values(["cell", "seed"]).groupby("cell", sort=True).head(1)
    fig = plot_error_complexity(histories, first, label="cell")
    fig.savefig(out_dir / "error_complexity.png", dpi=100)
    lines += ["## Error–complexity trajectories (first seed of each cell)", "",
              "![error-complexity](error_complexity.png)", ""]

    table = results.groupby("cell", sort=True).agg(
        seeds=("seed", "size"), phases=("phase", lambda p: ", ".join(f"{n} {k}" for k, n in p.value_counts().items())),
        median_gap=("gap", lambda g: pd.to_numeric(g).median()),
        censored=("generalisation_censored", "sum")).reset_index()
    lines += ["## Per grid cell", "", table.to_markdown(index=False, floatfmt=".4g"), ""]
    lines += skipped_section(skipped)
    (out_dir / "README.md").write_text("\n".join(lines))
    results.to_csv(out_dir / "grokking.csv", index=False)
    return results
