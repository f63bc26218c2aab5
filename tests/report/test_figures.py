import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from grokbeyond.report import plot_trajectories


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
