"""Seaborn figures of training trajectories (read histories, never train)."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

__all__ = ["plot_landscape", "plot_trajectories"]

def _check_columns(frame, needed, name):
    missing = set(needed) - set(frame.columns)
    if missing:
        raise ValueError(f"{name} lacks the column(s) {sorted(missing)}.")


_SPLIT_PALETTE = {"train": "tab:blue", "test": "tab:orange"}
_TERM_PALETTE = {"data_fit": "tab:green", "complexity": "tab:red", "kl": "tab:purple"}


def plot_trajectories(
    histories, *, metric="accuracy", terms=("data_fit", "complexity"), unit="seed", reference=None,
    xscale="linear", title=None, confidence_level=95,
):
    """Train/test metric and the objective's terms against step, mean and band over runs.

    Left panel: ``metric`` on the train and test splits; right panel: the training
    split's ``terms`` (by default the data-fit and complexity terms, nats per
    datapoint). Lines are the mean over runs (``unit``, e.g. seeds) and bands
    seaborn's bootstrap confidence interval of the mean (seeded, so the figure is
    reproducible). Optional ``reference`` curves (e.g. the paper's own code) are
    drawn thin and dashed, one line per reference run.

    Parameters
    ----------
    histories : pandas.DataFrame
        Tidy histories of several runs: ``step``, ``split``, ``metric``, ``terms``
        and the ``unit`` column.
    metric : str, default="accuracy"
        Column of the left panel.
    terms : sequence of str, default=("data_fit", "complexity")
        Columns of the right panel (train split).
    unit : str, default="seed"
        Column identifying a run.
    reference : pandas.DataFrame or None, default=None
        Reference histories in the same layout, with a ``source`` column naming
        each reference run.
    xscale : {"linear", "log", "symlog"}, default="linear"
        Scale of the step axis (``"symlog"`` keeps step 0 visible).
    title : str or None, default=None
        Figure title.
    confidence_level : float, default=95
        Confidence level of the bands, in percent.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a needed column is missing.
    """
    _check_columns(histories, {"step", "split", metric, unit, *terms}, "histories")
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_metric, ax_terms = fig.subplots(1, 2)
    data = histories.assign(split=histories["split"].astype(str))
    sns.lineplot(
        data=data, x="step", y=metric, hue="split", palette=_SPLIT_PALETTE, hue_order=["train", "test"],
        errorbar=("ci", confidence_level), seed=0, ax=ax_metric,
    )
    train = data[data["split"] == "train"]
    melted = train.melt(id_vars=["step", unit], value_vars=list(terms), var_name="term", value_name="nats")
    sns.lineplot(
        data=melted, x="step", y="nats", hue="term", palette={t: _TERM_PALETTE.get(t) for t in terms},
        errorbar=("ci", confidence_level), seed=0, ax=ax_terms,
    )
    if reference is not None:
        ref = reference.assign(split=reference["split"].astype(str))
        for (source, split), rows in ref.groupby(["source", "split"], sort=True):
            ax_metric.plot(rows["step"], rows[metric], ls="--", lw=0.8, color=_SPLIT_PALETTE.get(split, "grey"),
                           alpha=0.7, label=f"{split} ({source})")
        ref_train = ref[ref["split"] == "train"]
        for source, rows in ref_train.groupby("source", sort=True):
            for term in terms:
                ax_terms.plot(rows["step"], rows[term], ls="--", lw=0.8, color=_TERM_PALETTE.get(term, "grey"),
                              alpha=0.7, label=f"{term} ({source})")
    for ax, ylabel in ((ax_metric, metric), (ax_terms, "nats per datapoint")):
        ax.set_xscale(xscale)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("optimisation step")
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def plot_landscape(landscape, *, x, y, values=("objective", "data_fit", "complexity"), paths=None, path_label="run",
                   title=None):
    """Filled contours of a loss landscape, one panel per term, with optimisation paths.

    Parameters
    ----------
    landscape : pandas.DataFrame
        A grid in long form: columns ``x``, ``y`` and ``values`` (e.g. from
        :func:`~grokbeyond.models.mll_landscape`).
    x, y : str
        Grid coordinates, e.g. ``"log_lengthscale"`` and ``"log_outputscale"``.
    values : sequence of str, default=("objective", "data_fit", "complexity")
        Columns drawn, one panel each (nats per datapoint).
    paths : pandas.DataFrame or None, default=None
        Trajectories with columns ``x``, ``y``, ``step`` and ``path_label``, drawn as
        lines from a circle (start) to a cross (end) on every panel.
    path_label : str, default="run"
        Column naming each path.
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a needed column is missing.
    """
    _check_columns(landscape, {x, y, *values}, "landscape")
    if paths is not None:
        _check_columns(paths, {x, y, "step", path_label}, "paths")
    fig = Figure(figsize=(5 * len(values), 4.2), layout="constrained")
    axes = fig.subplots(1, len(values), squeeze=False)[0]
    colours = sns.color_palette("bright", n_colors=max(1, 0 if paths is None else paths[path_label].nunique()))
    for ax, value in zip(axes, values):
        grid = landscape.pivot(index=y, columns=x, values=value)
        contour = ax.contourf(grid.columns, grid.index, grid.to_numpy(), levels=30, cmap="viridis")
        fig.colorbar(contour, ax=ax, label=f"{value} (nats per datapoint)")
        if paths is not None:
            for colour, (label, path) in zip(colours, paths.sort_values("step").groupby(path_label, sort=True)):
                ax.plot(path[x], path[y], color=colour, lw=1.5, label=str(label))
                ax.plot(path[x].iloc[0], path[y].iloc[0], "o", color=colour)
                ax.plot(path[x].iloc[-1], path[y].iloc[-1], "x", color="white", ms=8)
            ax.legend(fontsize=7)
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(value)
    if title:
        fig.suptitle(title)
    return fig
