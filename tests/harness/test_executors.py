"""Batched execution: compatible runs train as one model and are stored run by run."""

import numpy as np
import pytest
import pandas as pd

from grokbeyond import load_results
from grokbeyond.harness import batch_runs, expand_suite, load_suite, run_suite

SUITE = """
name = "batched"
seeds = [0, 1, 2]
[dataset]
name = "sparse_parity"
n_bits = 6
k = 2
n_train = 40
n_test = 20
[model]
family = "mlp"
hidden_size = 16
batch_size = 8
max_iter = 12
eval_every = 4
[grid]
"model.init_scale" = [0.5, 1.0]
"dataset.n_concealed" = [0, 3]
"model.lr" = [0.1, 0.2]
"""


def _suite(tmp_path, text=SUITE):
    path = tmp_path / "suite.toml"
    path.write_text(text)
    return load_suite(path)


def _sorted(histories):
    return histories.sort_values(["run_id", "step", "split"]).reset_index(drop=True)


def test_runs_batch_by_model_parameters_and_data_shape(tmp_path):
    runs = expand_suite(_suite(tmp_path))
    batches = batch_runs(runs, n_jobs=1)
    # seeds and init_scale (a replicate parameter) batch; lr and n_concealed (a shape) do not
    assert sorted(len(batch) for batch in batches) == [6, 6, 6, 6]
    for batch in batches:
        assert len({(c["model"]["lr"], c["dataset"].get("n_concealed")) for c in batch}) == 1
    assert sorted(len(batch) for batch in batch_runs(runs, n_jobs=2)) == [3] * 8
    assert max(len(batch) for batch in batch_runs(runs, n_jobs=1, max_replicates=4)) == 3
    gp = [dict(c, model={"family": "gp-classifier", "max_iter": 2}) for c in runs[:3]]
    assert [len(batch) for batch in batch_runs(gp)] == [1, 1, 1]  # the GPs do not batch


def test_batched_sweep_stores_each_run_as_the_unbatched_sweep_does(tmp_path):
    suite = _suite(tmp_path)
    batched = run_suite(suite, tmp_path / "batched", progress=False)
    alone = run_suite(suite, tmp_path / "alone", progress=False, batch=False)
    assert batched.n_finished == alone.n_finished == 24
    by_batch, runs_batch = load_results(tmp_path / "batched")
    by_run, runs_alone = load_results(tmp_path / "alone")
    assert set(runs_batch["run_id"]) == set(runs_alone["run_id"])
    pd.testing.assert_frame_equal(_sorted(by_batch), _sorted(by_run), rtol=1e-5, atol=1e-6)
    assert (runs_batch["replicates"] == 6).all() and (runs_alone["replicates"] == 1).all()


def test_a_resumed_sweep_batches_only_the_missing_runs(tmp_path):
    suite = _suite(tmp_path)
    store = tmp_path / "store"
    run_suite(suite, store, progress=False)
    before, _ = load_results(store)
    removed = sorted(store.glob("*.parquet"))[:5]
    for path in removed:
        path.unlink()
    again = run_suite(suite, store, progress=False)
    assert (again.n_skipped, again.n_finished) == (19, 5)
    after, _ = load_results(store)
    pd.testing.assert_frame_equal(_sorted(after), _sorted(before), rtol=1e-5, atol=1e-6)


def test_a_replicate_that_diverges_fails_alone(tmp_path):
    text = """
name = "diverging"
seeds = [0, 1]
[dataset]
name = "decoy_linear"
[model]
family = "linear"
max_iter = 20
eval_every = 5
[grid]
"model.weight_init" = [[0.1, 0.9, 0.9, 0.9], [1e200, 0.0, 0.0, 0.0]]
"""
    summary = run_suite(_suite(tmp_path, text), tmp_path / "store", progress=False)
    assert (summary.n_finished, summary.n_failed) == (2, 2)
    histories, runs = load_results(tmp_path / "store")
    failed = runs[runs["status"] == "failed"]
    assert failed["error"].str.contains("not finite").all()
    assert (runs["replicates"] == 4).all()  # all four trained as one batch
    finished = histories[histories["run_id"].isin(runs.loc[runs["status"] == "finished", "run_id"])]
    assert np.isfinite(finished["objective"]).all() and finished["step"].max() == 20


def test_a_suite_without_a_test_split_runs_on_its_training_set(tmp_path):
    from grokbeyond.harness import load_results, run_suites

    suite = {"name": "no-test", "seeds": [0, 1], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2,
                                                              "n_train": 30, "n_test": 0},
             "model": {"family": "logistic", "max_iter": 4}}
    summary = run_suites([suite], tmp_path, progress=False)
    histories, runs = load_results(tmp_path)
    assert summary.n_finished == 2 and (runs["status"] == "finished").all()
    assert set(histories["split"]) == {"train"} and len(histories) == 2 * 5


def _parity_suite(name, seeds, model, grid=""):
    """The text of a suite on small sparse parity data: ``model`` and ``grid`` are TOML lines."""
    return f'name = "{name}"\nseeds = {seeds}\n{PARITY}[model]{model}{grid}'


PARITY = """[dataset]
name = "sparse_parity"
n_bits = 6
k = 2
n_train = 40
n_test = 20
"""


# ---- faults: concurrent sweeps, a killed sweep, a store that cannot be written ------------------------
QUICK = _parity_suite("concurrent", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], """
family = "logistic"
max_iter = 30
eval_every = 10
""", """
[grid]
"model.lr" = [0.5, -1.0]  # -1 fails every run of its half: failed runs are done once too
""")


def test_concurrent_sweeps_on_one_store_do_each_run_once(tmp_path, monkeypatch):
    import threading

    from grokbeyond.harness import executors

    writes, write_run = [], executors.write_run

    def counted(results_dir, run_id, history, meta):
        writes.append(run_id)
        return write_run(results_dir, run_id, history, meta)

    monkeypatch.setattr(executors, "write_run", counted)
    suite, store = _suite(tmp_path, QUICK), tmp_path / "store"
    summaries = [None] * 3
    start = threading.Barrier(3)

    def sweep(i):
        start.wait()
        summaries[i] = run_suite(suite, store, progress=False, batch=False)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(writes) == sorted({config["run_id"] for config in expand_suite(suite)})  # each run written once
    assert sum(s.n_finished for s in summaries) == 10 and sum(s.n_failed for s in summaries) == 10
    assert all(s.n_finished + s.n_failed + s.n_skipped + s.n_elsewhere == 20 for s in summaries)
    assert load_results(store)[1]["status"].value_counts().to_dict() == {"finished": 10, "failed": 10}


SLOW = _parity_suite("killed", [0, 1, 2, 3], """
family = "mlp"
hidden_size = 8
batch_size = 8
max_iter = 100000000
eval_every = 1000000
""")


def test_a_killed_sweep_leaves_no_worker_no_claim_and_no_damaged_file(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    import warnings

    import psutil

    from grokbeyond.harness import claim_runs

    path, store = tmp_path / "suite.toml", tmp_path / "store"
    path.write_text(SLOW)
    ids = [config["run_id"] for config in expand_suite(load_suite(path))]
    sweep = subprocess.Popen([sys.executable, "-c", "from grokbeyond.cli import app; app()", "run", str(path),
                              "--results-dir", str(store), "--n-jobs", "2", "--no-batch"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until both workers train (hold a claim)
            time.sleep(0.5)
            if store.is_dir():
                with claim_runs(store, ids) as free:
                    if len(free) == len(ids) - 2:
                        break
        else:
            raise AssertionError("the sweep's workers never claimed their runs")
        workers = psutil.Process(sweep.pid).children(recursive=True)
        os.kill(sweep.pid, signal.SIGKILL)
        sweep.wait()
        gone, alive = psutil.wait_procs(workers, timeout=5)
        assert alive == []  # no orphan trains on (or writes) after its sweep is killed
    finally:
        if sweep.poll() is None:
            sweep.kill()
    with claim_runs(store, ids) as free:
        assert free == ids  # the killed sweep's claims went with it
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a damaged run file would warn
        assert len(load_results(store)[1]) == 0


CHECKPOINTED = _parity_suite("checkpointed", [0, 1], """
family = "mlp"
hidden_size = 8
batch_size = 16
max_iter = 40
eval_every = 5
""")


@pytest.mark.parametrize("batch", [True, False])
def test_a_killed_checkpointed_sweep_resumes_from_its_checkpoint_and_records_the_same(tmp_path, monkeypatch, batch):
    from grokbeyond.harness import _checkpoints

    suite = _suite(tmp_path, CHECKPOINTED)
    run_suite(suite, tmp_path / "whole", progress=False, batch=batch)

    class Killed(BaseException):  # SIGKILL's stand-in: nothing catches it
        pass

    saves, save = [], _checkpoints._save

    def killed_after_two(results_dir, run_id, estimator):
        save(results_dir, run_id, estimator)
        saves.append(estimator.n_iter_)
        if len(saves) == 2 * (2 if batch else 1):
            raise Killed

    monkeypatch.setattr(_checkpoints, "_save", killed_after_two)
    store = tmp_path / "store"
    with pytest.raises(Killed):
        run_suite(suite, store, progress=False, batch=batch, checkpoint_every=10)
    assert sorted(p.name for p in (store / ".checkpoints").glob("*.pkl")) != []
    monkeypatch.undo()
    from grokbeyond import models

    starts, fit_batched = [], models.fit_batched

    def watched(estimators, datasets):
        starts.append(getattr(estimators[0], "n_iter_", 0))
        return fit_batched(estimators, datasets)

    monkeypatch.setattr(models, "fit_batched", watched)
    summary = run_suite(suite, store, progress=False, batch=batch, checkpoint_every=10)
    assert summary.n_finished == 2 and starts[0] == 20  # resumed at the checkpoint, not at step 0
    assert list((store / ".checkpoints").glob("*.pkl")) == []
    pd.testing.assert_frame_equal(_sorted(load_results(store)[0]), _sorted(load_results(tmp_path / "whole")[0]))


def test_a_checkpoint_interval_is_checked_before_anything_runs(tmp_path):
    from grokbeyond.exceptions import InputError

    with pytest.raises(InputError, match="checkpoint_every"):
        run_suite(_suite(tmp_path, CHECKPOINTED), tmp_path / "store", progress=False, checkpoint_every=0)
    assert not (tmp_path / "store").exists()
