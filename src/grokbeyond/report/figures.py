"""Seaborn figures of training trajectories (read histories, never train)."""

from __future__ import annotations

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure

from ..exceptions import InputError

__all__ = ["plot_comparison", "plot_landscape", "plot_sweep", "plot_trajectories", "t_interval"]


def t_interval(confidence_level=95):
    """The band of a mean over few runs: a seaborn ``errorbar`` callable.

    For n values with mean x̄ and standard deviation s, the Student-t confidence
    interval x̄ ± t_{n−1, (1+level)/2} · s/√n, exact for normal values and the usual
    interval over a handful of seeds (a percentile bootstrap of 3–5 values is
    narrower than its level says, and costs most of a page's drawing time);
    a single value has no band.

    Parameters
    ----------
    confidence_level : float, default=95
        In percent.

    Returns
    -------
    callable
        ``values -> (low, high)``, for seaborn's ``errorbar=``.

    Examples
    --------
    >>> low, high = t_interval(95)([1.0, 2.0, 3.0])
    >>> round(low, 3), round(high, 3)
    (-0.484, 4.484)
    """
    from scipy import stats

    quantile = {n: stats.t.ppf(0.5 + confidence_level / 200, n - 1) for n in range(2, 65)}

    def interval(values):
        values = np.asarray(values, dtype=float)
        n, mean = len(values), float(values.mean())
        if n < 2:
            return mean, mean
        t = quantile[n] if n in quantile else stats.t.ppf(0.5 + confidence_level / 200, n - 1)
        half = float(t * values.std(ddof=1) / np.sqrt(n))
        return mean - half, mean + half

    return interval


def _check_columns(frame, needed, name):
    missing = set(needed) - set(frame.columns)
    if missing:
        raise InputError(f"{name} lacks the column(s) {sorted(missing)}.")


def _thin(frame, max_steps):
    """Rows at no more than ``max_steps`` evenly spread distinct steps (first and last kept).

    Bands cost one interval per step; thinning keeps long runs fast to draw.
    """
    steps = np.sort(frame["step"].unique())
    if max_steps is None or len(steps) <= max_steps:
        return frame
    keep = steps[np.unique(np.linspace(0, len(steps) - 1, max_steps).round().astype(int))]
    return frame[frame["step"].isin(keep)]


_SPLIT_PALETTE = {"train": "tab:blue", "test": "tab:orange"}
_TERM_PALETTE = {"data_fit": "tab:green", "complexity": "tab:red", "kl": "tab:purple"}


def plot_trajectories(
    histories, *, metric="accuracy", terms=("data_fit", "complexity"), unit="seed", reference=None,
    xscale="linear", title=None, confidence_level=95, max_steps=400, xlabel="optimisation step",
):
    """Train/test metric and the objective's terms against step, mean and band over runs.

    Left panel: ``metric`` on the train and test splits; right panel: the training
    split's ``terms`` (by default the data-fit and complexity terms, nats per
    datapoint). Lines are the mean over runs (``unit``, e.g. seeds) and bands the
    mean's Student-t confidence interval (:func:`t_interval`). Optional
    ``reference`` curves (e.g. the paper's own code) are drawn thin and dashed, one
    line per reference run.

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
    max_steps : int or None, default=400
        Draw ``histories`` at no more than this many evenly spread steps; ``None``
        draws every step.
    xlabel : str, default="optimisation step"
        Label of the step axis (e.g. "epoch" when ``step`` counts epochs).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a needed column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> histories = pd.DataFrame([
    ...     {"seed": seed, "step": step, "split": split, "data_fit": 1 / (step + 1), "complexity": 0.1 + step / 1000,
    ...      "accuracy": 1.0 if split == "train" or step >= 50 + 10 * seed else 0.5}
    ...     for seed in range(3) for step in range(0, 100, 10) for split in ("train", "test")])
    >>> from grokbeyond.report import plot_trajectories
    >>> fig = plot_trajectories(histories, title="three seeds")  # then fig.savefig("trajectories.png")
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['accuracy', 'nats per datapoint']
    """
    _check_columns(histories, {"step", "split", metric, unit, *terms}, "histories")
    fig = Figure(figsize=(11, 4), layout="constrained")
    ax_metric, ax_terms = fig.subplots(1, 2)
    _draw_trajectories(ax_metric, ax_terms, _thin(histories, max_steps), metric=metric, terms=terms, unit=unit,
                       reference=reference, xscale=xscale, confidence_level=confidence_level, xlabel=xlabel)
    if title:
        fig.suptitle(title)
    return fig


def _term_colours(terms) -> dict:
    """The objective's terms in their fixed colours; any other column in the next free colour."""
    spare = iter(c for c in sns.color_palette("colorblind", 10) if c not in _TERM_PALETTE.values())
    return {t: _TERM_PALETTE[t] if t in _TERM_PALETTE else next(spare) for t in terms}


def _draw_trajectories(ax_metric, ax_terms, histories, *, metric, terms, unit, reference, xscale, confidence_level,
                       xlabel):
    """Draw one run set's metric panel and terms panel (see :func:`plot_trajectories`)."""
    data = histories.assign(split=histories["split"].astype(str))
    sns.lineplot(
        data=data, x="step", y=metric, hue="split", palette=_SPLIT_PALETTE, hue_order=["train", "test"],
        errorbar=t_interval(confidence_level), ax=ax_metric,
    )
    train = data[data["split"] == "train"]
    melted = train.melt(id_vars=["step", unit], value_vars=list(terms), var_name="term", value_name="nats")
    sns.lineplot(
        data=melted, x="step", y="nats", hue="term", palette=_term_colours(terms),
        errorbar=t_interval(confidence_level), ax=ax_terms,
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
    terms_label = "nats per datapoint" if set(terms) <= set(_TERM_PALETTE) else "value"
    for ax, ylabel in ((ax_metric, metric), (ax_terms, terms_label)):
        _set_step_axis(ax, xscale, xlabel)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7)


def _set_step_axis(ax, xscale, xlabel):
    ax.set_xscale(xscale)
    if xscale == "symlog":  # steps are never negative
        ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)


def plot_comparison(histories, by="family", *, metric="accuracy", terms=("data_fit", "complexity"), unit="seed",
                    xscale="symlog", title=None, confidence_level=95, max_steps=300, xlabel="optimisation step"):
    """Several model families side by side: one row of panels per family.

    Each row is :func:`plot_trajectories` for one value of ``by``: the train and test
    ``metric`` (left) and the training split's data-fit and complexity terms (right),
    mean and confidence band over ``unit``. Step axes are per row, since families
    train for different numbers of steps.

    Parameters
    ----------
    histories : pandas.DataFrame
        Tidy histories with ``step``, ``split``, ``metric``, ``terms``, ``by`` and
        ``unit`` columns.
    by : str, default="family"
        Column naming the row (e.g. the model family).
    metric, terms, unit, xscale, confidence_level, max_steps, xlabel
        As in :func:`plot_trajectories` (``xscale`` defaults to ``"symlog"`` here).
    title : str or None, default=None

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a needed column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> histories = pd.DataFrame([
    ...     {"seed": seed, "step": step, "split": split, "data_fit": 1 / (step + 1), "complexity": 0.1 + step / 1000,
    ...      "accuracy": 1.0 if split == "train" or step >= 50 + 10 * seed else 0.5}
    ...     for seed in range(2) for step in range(0, 100, 10) for split in ("train", "test")])
    >>> from grokbeyond.report import plot_comparison
    >>> fig = plot_comparison(pd.concat([histories.assign(family="gp"), histories.assign(family="mlp")]))
    >>> [ax.get_title() for ax in fig.axes[::2]]
    ['gp: accuracy', 'mlp: accuracy']
    """
    _check_columns(histories, {"step", "split", metric, by, unit, *terms}, "histories")
    groups = list(histories.groupby(by, sort=False, observed=True))
    fig = Figure(figsize=(11, 3.2 * len(groups)), layout="constrained")
    axes = fig.subplots(len(groups), 2, squeeze=False)
    for (name, runs), (ax_metric, ax_terms) in zip(groups, axes):
        _draw_trajectories(ax_metric, ax_terms, _thin(runs, max_steps), metric=metric, terms=terms, unit=unit,
                           reference=None, xscale=xscale, confidence_level=confidence_level, xlabel=xlabel)
        ax_metric.set_title(f"{name}: {metric}", fontsize=10)
        ax_terms.set_title(f"{name}: objective terms (train)", fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


def plot_sweep(histories, by, *, metric="accuracy", complexity="complexity", unit="seed", xscale="linear",
               complexity_scale="linear", title=None, confidence_level=95, max_steps=300, xlabel="optimisation step",
               complexity_unit="nats per datapoint"):
    """Trajectories of a sweep: one line per value of ``by``, mean and band over ``unit``.

    Three panels against step: ``metric`` on the train split, ``metric`` on the test
    split, and the ``complexity`` term (train split), each coloured by ``by`` (e.g.
    the initial scale σ or the number of concealed dimensions m), so a reader sees
    how the memorisation and generalisation times and the complexity move with it.

    Parameters
    ----------
    histories : pandas.DataFrame
        Tidy histories with ``step``, ``split``, ``metric``, ``complexity``, ``by`` and
        ``unit`` columns.
    by : str
        The swept column (hue).
    metric : str, default="accuracy"
    complexity : str, default="complexity"
        Column of the third panel (nats per training datapoint).
    unit : str, default="seed"
        Column identifying a run within a sweep value.
    xscale, complexity_scale : {"linear", "log", "symlog"}, default="linear"
        Scales of the step axis and of the complexity axis.
    title : str or None, default=None
    confidence_level : float, default=95
        Of the bands (:func:`t_interval`), in percent.
    max_steps : int or None, default=300
        As in :func:`plot_trajectories`.
    xlabel : str, default="optimisation step"
    complexity_unit : str, default="nats per datapoint"
        The unit in the third panel's title (an RFM's complexity is a squared RKHS
        norm per datapoint).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        If a needed column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> histories = pd.DataFrame([
    ...     {"seed": seed, "step": step, "split": split, "data_fit": 1 / (step + 1), "complexity": 0.1 + step / 1000,
    ...      "accuracy": 1.0 if split == "train" or step >= 50 + 10 * seed else 0.5}
    ...     for seed in range(2) for step in range(0, 100, 10) for split in ("train", "test")])
    >>> from grokbeyond.report import plot_sweep
    >>> fig = plot_sweep(pd.concat([histories.assign(m=m) for m in (0, 10)]), "m")  # one line per m
    >>> [ax.get_title() for ax in fig.axes]
    ['train accuracy', 'test accuracy', 'train complexity (nats per datapoint)']
    """
    _check_columns(histories, {"step", "split", metric, complexity, by, unit}, "histories")
    data = _thin(histories, max_steps).assign(split=lambda f: f["split"].astype(str))
    fig = Figure(figsize=(15, 4), layout="constrained")
    axes = fig.subplots(1, 3)
    palette = sns.color_palette("viridis", n_colors=data[by].nunique())
    panels = (("train", metric), ("test", metric), ("train", complexity))
    for ax, (split, column) in zip(axes, panels):
        sns.lineplot(data=data[data["split"] == split], x="step", y=column, hue=by, palette=palette,
                     errorbar=t_interval(confidence_level), ax=ax)
        _set_step_axis(ax, xscale, xlabel)
        ax.set(ylabel=f"{split} {column}",
               title=f"{split} {column}" + (f" ({complexity_unit})" if column == complexity else ""))
    axes[2].set_yscale(complexity_scale)
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

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from grokbeyond.report import plot_landscape
    >>> a, b = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(-2, 2, 9))
    >>> landscape = pd.DataFrame({"log_lengthscale": a.ravel(), "log_outputscale": b.ravel(),
    ...                           "data_fit": np.exp(-a.ravel()), "complexity": b.ravel() ** 2})
    >>> landscape["objective"] = landscape["data_fit"] + landscape["complexity"]
    >>> path = pd.DataFrame({"run": 0, "step": [0, 1, 2], "log_lengthscale": [-1.5, 0.0, 1.0],
    ...                      "log_outputscale": [1.5, 0.5, 0.0]})
    >>> fig = plot_landscape(landscape, x="log_lengthscale", y="log_outputscale", paths=path)
    >>> [ax.get_title() for ax in fig.axes[:3]]  # then three colour bars
    ['objective', 'data_fit', 'complexity']
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
