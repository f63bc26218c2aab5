import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from grokbeyond.report import plot_comparison, plot_sweep, plot_trajectories


def histories(n_seeds=3, n_steps=20):
    rows = []
    for seed in range(n_seeds):
        for step in range(n_steps):
            for split in ("train", "test"):
                rows.append({"seed": seed, "step": step, "split": split,
                             "accuracy": 1.0 if split == "train" or step > 10 else 0.5,
                             "data_fit": 1 / (step + 1), "complexity": 0.1 * np.exp(-step / 5)})
    return pd.DataFrame(rows)


def test_figure_has_metric_and_term_panels_with_reference(tmp_path):
    reference = histories(1).assign(source="paper code")
    fig = plot_trajectories(histories(), reference=reference, title="t", xscale="symlog")
    assert isinstance(fig, Figure)
    ax_metric, ax_terms = fig.axes[:2]
    assert ax_metric.get_ylabel() == "accuracy" and ax_terms.get_ylabel() == "nats per datapoint"
    labels = [t.get_text() for t in ax_metric.get_legend().get_texts()]
    assert {"train", "test", "train (paper code)", "test (paper code)"} <= set(labels)
    term_labels = {t.get_text() for t in ax_terms.get_legend().get_texts()}
    assert {"data_fit", "complexity"} <= term_labels
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10_000


def test_missing_column_is_a_clear_error():
    with pytest.raises(ValueError, match="complexity"):
        plot_trajectories(histories().drop(columns="complexity"))


def test_long_runs_are_thinned_but_keep_their_ends():
    fig = plot_trajectories(histories(n_seeds=2, n_steps=1000), max_steps=50)
    line = fig.axes[0].get_lines()[0]
    steps = line.get_xdata()
    assert len(steps) <= 50 and steps[0] == 0 and steps[-1] == 999


def test_comparison_has_a_row_per_family_and_sweep_a_line_per_value():
    runs = pd.concat([histories().assign(family=f) for f in ("gp", "mlp", "bnn")])
    fig = plot_comparison(runs, "family")
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[::2]] == ["gp: accuracy", "mlp: accuracy", "bnn: accuracy"]
    assert fig.axes[0].get_xlim()[0] == 0  # symlog step axis starts at step 0
    sweep = pd.concat([histories().assign(m=m) for m in (0, 10, 20)])
    fig = plot_sweep(sweep, "m")
    assert len(fig.axes) == 3
    assert {t.get_text() for t in fig.axes[1].get_legend().get_texts()} == {"0", "10", "20"}
    with pytest.raises(ValueError, match="'m'"):
        plot_sweep(histories(), "m")
