import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pyarrow.parquet as pq
import pytest

from grokbeyond import load_results
from grokbeyond.harness import (
    expand_suite,
    finished_run_ids,
    load_suite,
    override_suite,
    run_id,
    run_suite,
    run_suites,
    write_run,
)

SUITE = """
name = "tiny"
seeds = [0, 1]
[dataset]
name = "sparse_parity"
n_bits = 6
k = 2
n_train = 40
n_test = 20
[model]
family = "logistic"
max_iter = {max_iter}
eval_every = 5
[grid]
"model.lr" = [0.1, 0.5]
"dataset.n_concealed" = [0, 3]
"""


def write_suite(tmp_path, max_iter=10, text=SUITE):
    path = tmp_path / "suite.toml"
    path.write_text(text.format(max_iter=max_iter))
    return path


def test_grid_expands_to_cells_times_seeds_with_content_ids(tmp_path):
    runs = expand_suite(load_suite(write_suite(tmp_path)))
    assert len(runs) == 2 * 2 * 2
    assert {(r["model"]["lr"], r["dataset"]["n_concealed"], r["seed"]) for r in runs} == {
        (lr, m, s) for lr in (0.1, 0.5) for m in (0, 3) for s in (0, 1)}
    assert len({r["run_id"] for r in runs}) == 8
    # The id is a hash of the content, not of key order or position.
    config = {k: runs[0][k] for k in ("suite", "dataset", "model", "seed")}
    reordered = {"seed": config["seed"], "model": dict(reversed(list(config["model"].items()))),
                 "dataset": config["dataset"], "suite": config["suite"]}
    assert run_id(reordered) == runs[0]["run_id"]
    assert run_id({**config, "seed": 5}) != runs[0]["run_id"]


@pytest.mark.parametrize(
    "replace, message",
    [
        (("sparse_parity", "mnist"), "dataset] name"),
        (("logistic", "svm"), "family"),
        (("seeds = [0, 1]", "seeds = []"), "seeds"),
        (('"model.lr"', '"optimizer.lr"'), "grid key"),
        (("[grid]", "colour = 1\n[grid]"), "colour"),
        (("[grid]", "[grid"), "not valid TOML"),
        (("[grid]", '[[cases]]\n"model.lr" = 0.2\n[grid]'), "both in \\[grid\\] and in a case"),
        (("[grid]", '[[cases]]\n"lr" = 0.2\n[grid]'), "case key"),
        (("seeds = [0, 1]", 'seeds = [0, 1]\ncases = [1]'), "array of tables"),
        (("seeds = [0, 1]", "seeds = [true]"), "seeds must be a non-empty list of non-negative ints"),
        (("seeds = [0, 1]", "seeds = [0, 1]\n[dataset]"), "not valid TOML|dataset"),
        (('name = "tiny"', "name = 3"), "name must be a non-empty string"),
    ],
)
def test_bad_suites_are_named(tmp_path, replace, message):
    path = write_suite(tmp_path, text=SUITE.replace(*replace))
    with pytest.raises(ValueError, match=message):
        load_suite(path)


VALID = {"name": "valid", "seeds": [0], "dataset": {"name": "sparse_parity", "n_bits": 6},
         "model": {"family": "logistic", "max_iter": 2}}
#: (what is replaced, its bad value, a word the message must hold)
BAD_SUITES = [
    *((("name",), value, "name") for value in (3, "", " ", [], {}, True, None)),
    *((("seeds",), value, "seeds") for value in ([], [-1], [1.5], "0", [True], 0, [[0]], {"a": 0}, None)),
    *((("dataset",), value, "dataset") for value in (3, "sparse_parity", [], True)),
    (("dataset",), {}, "dataset] name"),
    (("dataset", "name"), 3, "dataset] name"),
    (("dataset", "name"), "nosuch", "nosuch"),
    (("dataset", "name"), "os:path", "os:path"),
    (("dataset", "nosuchparam"), 1, "nosuchparam"),
    *((("model",), value, "model") for value in (3, "logistic", [], True)),
    (("model",), {}, "model] family"),
    (("model", "family"), 3, "model] family"),
    (("model", "family"), "nosuch", "nosuch"),
    (("model", "family"), "collections:OrderedDict", "TrajectoryEstimator"),
    (("model", "depth"), 3, "depth"),
    *((("grid",), value, "grid") for value in (3, "model.lr", [["model.lr", 1]], True)),
    (("grid",), {"lr": [0.1]}, "'lr'"),
    (("grid",), {"optimizer.lr": [0.1]}, "optimizer.lr"),
    (("grid",), {"model.lr": 0.1}, "model.lr"),
    (("grid",), {"model.lr": []}, "model.lr"),
    (("grid",), {"model.family": ["mlp"]}, "model.family"),
    (("grid",), {"dataset.name": ["digits"]}, "dataset.name"),
    (("grid",), {"model.depth": [1, 2]}, "depth"),
    (("grid",), {"dataset.depth": [1, 2]}, "depth"),
    *((("cases",), value, "cases") for value in (3, "a", [1], [["model.lr"]], {"model.lr": 1})),
    (("cases",), [{"lr": 0.1}], "'lr'"),
    (("cases",), [{"model.depth": 0.1}], "depth"),
    (("cases",), [{"model.family": "mlp"}], "model.family"),
    *((("quick",), value, "quick") for value in (3, "fast", [1])),
    (("quick",), {"max_iter": 2}, "quick"),
    (("colour",), 1, "colour"),
    (("grid", "model.lr"), [0.1], "both in [grid] and in a case"),
]


@pytest.mark.parametrize("where, value, word", BAD_SUITES,
                         ids=[f"{'.'.join(w)}={v!r}" for w, v, _ in BAD_SUITES])
def test_every_malformed_suite_is_an_input_error_naming_the_key(where, value, word):
    import copy

    from grokbeyond.exceptions import InputError
    from grokbeyond.harness import check_suite

    suite = copy.deepcopy(VALID)
    if word.startswith("both in"):
        suite["cases"] = [{"model.lr": 0.2}]
    target = suite
    for key in where[:-1]:
        target = target.setdefault(key, {})
    target[where[-1]] = value
    with pytest.raises(InputError) as caught:
        check_suite(suite)
    assert word in str(caught.value)
    check_suite(copy.deepcopy(VALID))  # the valid suite stays valid


CASES = """
[[cases]]
label = "small"
"dataset.n_train" = 30
"model.weight_decay" = 0.001
[[cases]]
"dataset.n_train" = 50
"""


def test_cases_go_together_and_cross_the_grid(tmp_path):
    runs = expand_suite(load_suite(write_suite(tmp_path, text=SUITE + CASES)))
    assert len(runs) == 2 * 2 * 2 * 2  # grid cells x cases x seeds
    assert {(r.get("case"), r["dataset"]["n_train"]) for r in runs} == {("small", 30), (None, 50)}
    assert all(("weight_decay" in r["model"]) == (r.get("case") == "small") for r in runs)
    assert len({r["run_id"] for r in runs}) == 16


def test_a_grid_expands_lazily_in_the_nesting_order(tmp_path):
    import itertools
    import tracemalloc

    suite = load_suite(write_suite(tmp_path, text=SUITE + CASES))
    runs = expand_suite(suite)
    keys = list(suite["grid"])
    expected = []  # the documented order: grid cells (last key fastest), then cases, then seeds
    for values in itertools.product(*(suite["grid"][k] for k in keys)):
        for case in suite["cases"]:
            for seed in suite["seeds"]:
                expected.append((*values, case.get("label"), case["dataset.n_train"], seed))
    assert [(r["model"]["lr"], r["dataset"]["n_concealed"], r.get("case"), r["dataset"]["n_train"], r["seed"])
            for r in runs] == expected
    assert runs[-1] == list(runs)[-1] and runs[3:5] == list(runs)[3:5]
    with pytest.raises(IndexError):
        runs[len(runs)]

    huge = override_suite(suite, grid={f"model.{k}": list(range(1, 101)) for k in ("max_iter", "eval_every")}
                          | {"model.lr": [0.1 * i for i in range(1, 101)], "dataset.n_bits": list(range(6, 106))},
                          seeds=list(range(10)))
    huge_runs = expand_suite(huge)
    assert len(huge_runs) == 100 ** 4 * 2 * 2 * 10  # 4·10⁹ runs, none made yet
    tracemalloc.start()
    count = sum(1 for _, config in zip(range(5_000), huge_runs) if config["seed"] == 0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 500 and peak < 1_000_000  # a list of 5,000 configs would hold ~10 MB
    assert huge_runs[-1]["model"]["max_iter"] == 100 and huge_runs[-1]["seed"] == 9


def test_a_sweep_scheduled_in_chunks_stores_what_one_chunk_does(tmp_path, monkeypatch):
    from grokbeyond.harness import scheduling

    suite = load_suite(write_suite(tmp_path))
    whole = run_suite(suite, tmp_path / "whole", progress=False)
    monkeypatch.setattr(scheduling, "_CHUNK", 3)
    chunked = run_suite(suite, tmp_path / "chunked", progress=False)
    assert whole == chunked and chunked.n_finished == 8
    pd.testing.assert_frame_equal(load_results(tmp_path / "whole")[0], load_results(tmp_path / "chunked")[0])


def test_override_suite_replaces_settings_and_keeps_the_original(tmp_path):
    suite = load_suite(write_suite(tmp_path))
    small = override_suite(suite, name="small", seeds=[3], settings={"model.lr": 0.2},
                           grid={"dataset.n_concealed": [5]})
    runs = expand_suite(small)
    assert [(r["seed"], r["model"]["lr"], r["dataset"]["n_concealed"]) for r in runs] == [(3, 0.2, 5)]
    assert suite["grid"]["model.lr"] == [0.1, 0.5] and suite["seeds"] == [0, 1]
    with pytest.raises(ValueError, match="unknown parameter"):
        override_suite(suite, settings={"model.colour": 1})
    with pytest.raises(ValueError, match="names must differ"):
        run_suites([suite, suite], tmp_path / "store")


def test_store_round_trip_and_resume(tmp_path):
    suite = load_suite(write_suite(tmp_path))
    store = tmp_path / "store"
    first = run_suite(suite, store, progress=False)
    assert (first.n_runs, first.n_skipped, first.n_finished, first.n_failed) == (8, 0, 8, 0)
    histories, runs = load_results(store)
    assert len(runs) == 8 and (runs["status"] == "finished").all()
    assert set(histories["run_id"]) == set(runs["run_id"])
    assert {"model.lr", "dataset.n_concealed", "seed", "wall_time_s", "versions"} <= set(runs.columns)
    assert '"torch"' in runs["versions"].iloc[0]
    concealed = runs.loc[runs["dataset.n_concealed"] == 3, "run_id"].iloc[0]
    assert histories.loc[histories["run_id"] == concealed, "step"].max() == 10
    again = run_suite(suite, store, progress=False)
    assert (again.n_skipped, again.n_finished) == (8, 0)


def test_a_failing_run_is_stored_with_its_traceback_and_the_others_finish(tmp_path):
    text = SUITE.replace('"model.lr" = [0.1, 0.5]', '"model.lr" = [0.1, -1.0]')
    summary = run_suite(load_suite(write_suite(tmp_path, text=text)), tmp_path / "store", progress=False)
    assert (summary.n_finished, summary.n_failed) == (4, 4)
    _, runs = load_results(tmp_path / "store")
    failed = runs[runs["status"] == "failed"]
    assert (failed["model.lr"] == -1.0).all()
    assert failed["error"].str.contains("lr").all() and failed["traceback"].str.contains("Traceback").all()
    assert len(finished_run_ids(tmp_path / "store")) == 4  # failed runs are retried on a rerun


def test_warnings_of_a_run_are_stored_with_it(tmp_path, monkeypatch):
    import warnings

    from grokbeyond.harness import executors

    class Warns:
        def fit(self, X, y, eval_set):
            warnings.warn("negative variance", RuntimeWarning)
            warnings.warn("negative variance", RuntimeWarning)
            self.history_ = pd.DataFrame({"step": [0], "split": ["train"], "accuracy": [1.0]})
            return self

    data = type("Data", (), {"X_train": None, "y_train": None, "X_test": None, "y_test": None})
    monkeypatch.setattr(executors, "make_run", lambda config, **_: (data, Warns()))
    config = {"suite": "s", "dataset": {"name": "x"}, "model": {"family": "y"}, "seed": 0, "run_id": "w"}
    assert executors.execute_run(config, tmp_path) == "finished"
    _, runs = load_results(tmp_path)
    assert runs.loc[0, "n_warnings"] == 2 and runs.loc[0, "warnings"] == "RuntimeWarning: negative variance"


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path):
    history = pd.DataFrame({"step": [0, 1], "split": ["train", "train"], "accuracy": [0.5, 1.0]})
    path = write_run(tmp_path, "abc", history, {"status": "finished", "config": {"seed": 0}})
    assert [p.name for p in tmp_path.iterdir()] == ["abc.parquet"]
    assert pq.read_table(path).num_rows == 2


def test_killed_sweep_loses_no_finished_run_and_resumes(tmp_path):
    suite = write_suite(tmp_path, max_iter=800)
    store = tmp_path / "store"
    command = [sys.executable, "-m", "grokbeyond.cli", "run", str(suite), "--results-dir", str(store)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(store.glob("*.parquet"))) < 2:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    stored = {p.stem for p in store.glob("*.parquet")}
    assert 2 <= len(stored) < 8, "the sweep should have been killed part-way"
    _, runs = load_results(store)  # every stored file is complete and readable
    assert (runs["status"] == "finished").all()
    for leftover in store.glob(".*.tmp"):
        leftover.unlink()  # an interrupted write leaves only an ignored temporary
    resumed = run_suite(load_suite(suite), store, progress=False)
    assert resumed.n_skipped == len(stored) and resumed.n_finished == 8 - len(stored)
    assert len(load_results(store)[1]) == 8


def test_joblib_and_a_dask_local_cluster_give_identical_results(tmp_path):
    pytest.importorskip("distributed")
    suite = load_suite(write_suite(tmp_path))
    run_suite(suite, tmp_path / "joblib", n_jobs=2, progress=False)
    summary = run_suite(suite, tmp_path / "dask", n_jobs=2, scheduler="local", progress=False)
    assert summary.n_finished == 8
    by_joblib, runs_joblib = load_results(tmp_path / "joblib")
    by_dask, runs_dask = load_results(tmp_path / "dask")
    assert set(runs_joblib["run_id"]) == set(runs_dask["run_id"])
    pd.testing.assert_frame_equal(by_joblib.sort_values(["run_id", "step", "split"]).reset_index(drop=True),
                                  by_dask.sort_values(["run_id", "step", "split"]).reset_index(drop=True))


def test_report_of_a_store_draws_every_figure_type(tmp_path):
    from typer.testing import CliRunner

    from grokbeyond.cli import app

    store = tmp_path / "store"
    run_suite(load_suite(write_suite(tmp_path, max_iter=40)), store, progress=False)
    result = CliRunner().invoke(app, ["report", "--results-dir", str(store), "--report-dir", str(tmp_path / "page")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "page" / "README.md").read_text()
    for section, figure in (("## Trajectories", "trajectories.png"), ("## Gap against `dataset.n_concealed`",
                                                                     "gap.png"),
                            ("## Phase diagram", "phase_diagram.png"),
                            ("## Error–complexity", "error_complexity.png")):
        assert section in page and (tmp_path / "page" / figure).stat().st_size > 5_000
    assert "lr=0.1, n_concealed=3" in page or "n_concealed=3, lr=0.1" in page
    swapped = CliRunner().invoke(app, ["report", "--results-dir", str(store), "--report-dir", str(tmp_path / "swapped"), "--phase-axes",
                                       "dataset.n_concealed,model.lr", "--gap-against", "model.lr"])
    assert swapped.exit_code == 0, swapped.output
    assert "## Gap against `model.lr`" in (tmp_path / "swapped" / "README.md").read_text()
    wrong = CliRunner().invoke(app, ["report", "--results-dir", str(store), "--report-dir", str(tmp_path / "y"),
                                     "--phase-axes", "model.k,x"])
    assert wrong.exit_code != 0 and "not swept" in wrong.output
    empty = CliRunner().invoke(app, ["report", "--results-dir", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "no results store" in empty.output


def test_a_report_never_pools_two_families(tmp_path):
    """Two families on the same grid: every cell, line and fit is one family's."""
    from grokbeyond.report import write_store_report

    logistic = load_suite(write_suite(tmp_path, max_iter=10))
    mlp = {**logistic, "name": "tiny-mlp", "model": {**logistic["model"], "family": "mlp", "hidden_size": 4}}
    store = tmp_path / "store"
    run_suites([logistic, mlp], store, progress=False)
    results = write_store_report(store, tmp_path / "page")
    assert results.groupby("cell")["run_id"].size().eq(2).all()  # two seeds per cell, never four
    by_cell = results.groupby("cell")["run_id"].apply(set)
    _, runs = load_results(store)
    family = runs.set_index("run_id")["family"]
    assert all(len({family[r] for r in ids}) == 1 for ids in by_cell)
    assert {c.split(",")[0] for c in results["cell"]} == {"family=logistic", "family=mlp"}
    page = (tmp_path / "page" / "README.md").read_text()
    assert "separately for each family" in page and page.count("- family=") >= 4  # one gap fit per family and lr
