"""
A suite, its store and its report
=================================

Everything grokbeyond runs goes through the harness: a *suite* names a dataset, a model
family, a grid over their parameters and the seeds; every grid cell × seed is one run,
stored as it finishes in a *store* (one parquet file per run) that resumes after any
interruption; a *page* is written from the store, never by training.

This suite is Miller et al.'s linear regression with decoy features (2023, experiment
E4): two training points, inputs ``[x, x², x³, sin(100x)]``, target ``0.3x``, gradient
descent from weights that favour the decoys. The training error falls at once, the test
error only once the Gaussian prior (the complexity term) has moved the weight onto ``x``.
The grid crosses the learning rate with the prior variance, which set how long that takes.
"""

# %%
# The suite file
# --------------
# A suite is a TOML file (see :doc:`/user_guide/suites`); it is written here into a
# temporary folder, where the store and the page will go too.
import tempfile
from pathlib import Path

workdir = tempfile.TemporaryDirectory()
folder = Path(workdir.name)
(folder / "decoy.toml").write_text('''
name = "decoy-lr-prior"
seeds = [0, 1]

[dataset]
name = "decoy_linear"

[model]
family = "linear"
noise_variance = 0.002
weight_init = [0.0005, 0.9, 0.9, 0.9]
max_iter = 3000
eval_every = 10

[grid]
"model.lr" = [0.0005, 0.001, 0.002]
"model.prior_variance" = [0.25, 1.0]
''')

# %%
# Loading and expanding it
# ------------------------
# :func:`~grokbeyond.harness.load_suite` reads and checks the file;
# :func:`~grokbeyond.harness.expand_suite` lists its runs lazily (3 × 2 grid cells × 2
# seeds), each a config whose hash is its run id.
from grokbeyond.harness import expand_suite, load_suite

suite = load_suite(folder / "decoy.toml")
runs = expand_suite(suite)
len(runs), runs[0]["model"]

# %%
# Running it into a store
# -----------------------
# :func:`~grokbeyond.harness.run_suite` runs what the store does not hold yet (here, in
# this process; ``n_jobs=2`` would use two worker processes). The two seeds of each
# grid cell train as one batched model, each stored as its own run.
from grokbeyond.harness import run_suite

store = folder / "store"
run_suite(suite, store, progress=False)

# %%
# Rerunning finds every run stored and trains nothing: a killed sweep's rerun does only
# what is left.
run_suite(suite, store, progress=False)

# %%
# Reading the store
# -----------------
# :func:`~grokbeyond.load_results` gives the histories in ``history_``'s layout, one row
# per run, step and split, and a table of runs with every parameter as a column.
from grokbeyond import load_results

histories, run_table = load_results(store)
run_table[["run_id", "seed", "model.lr", "model.prior_variance", "status"]].head()

# %%
# Writing the report
# ------------------
# :func:`~grokbeyond.report.write_store_report` detects grokking in every run and writes a
# markdown page with its figures: trajectories with bands over the seeds (one line per
# grid cell), a phase diagram over the two swept parameters, error–complexity
# trajectories and a table per cell. It returns the per-run results. (``grokbeyond
# report --results-dir STORE`` does the same on the command line.)
from grokbeyond.report import write_store_report

report_dir = folder / "report"
results = write_store_report(store, report_dir, metric="sign_accuracy", phase_axes=("model.lr", "model.prior_variance"))
columns = ["model.lr", "model.prior_variance", "seed", "t_memorise", "t_generalise", "gap", "phase"]
results[columns].sort_values(columns[:3], ignore_index=True)

# %%
# The page's files, and the start of its markdown:
print(sorted(p.name for p in report_dir.iterdir()))
print("\n".join((report_dir / "README.md").read_text().splitlines()[:12]))

# %%
# Two of its figures, as written:
import matplotlib.pyplot as plt

for name in ["trajectories.png", "phase_diagram.png"]:
    image = plt.imread(report_dir / name)
    fig, ax = plt.subplots(figsize=(10, 10 * image.shape[0] / image.shape[1]), layout="constrained")
    ax.imshow(image)
    ax.set_axis_off()
plt.show()

# %%
workdir.cleanup()
