"""The store: one schema for every run file, read in one call by the tools researchers use."""

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (pa.compute)
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sklearn.utils import Bunch

from grokbeyond.harness import (
    SCHEMA,
    StoreWarning,
    finished_run_ids,
    load_results,
    make_run,
    migrate_store,
    run_suites,
    write_run,
)

# Two families with different parameters and history columns (the GP records 8 lengthscales and
# a KL, logistic regression a weight norm), on two input sizes (6 and 8 bits).
MIXED = [
    {"name": "mixed-logistic", "seeds": [0], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2,
                                                          "n_train": 30, "n_test": 20},
     "model": {"family": "logistic", "max_iter": 6, "eval_every": 3}},
    {"name": "mixed-gp", "seeds": [0], "dataset": {"name": "sparse_parity", "n_bits": 8, "k": 2, "n_train": 30,
                                                    "n_test": 20},
     "model": {"family": "gp-classifier", "max_iter": 4, "eval_every": 2}},
]


@pytest.fixture(scope="module")
def mixed_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("mixed")
    summary = run_suites(MIXED, store, progress=False)
    assert summary.n_finished == 2
    (store / "report").mkdir()  # what else lives in a store folder: a page, a sweep log
    (store / "report" / "README.md").write_text("# page")
    (store / "sweeps.json").write_text("[]")
    return store


def test_every_run_file_has_the_one_schema(mixed_store):
    files = sorted(mixed_store.glob("*.parquet"))
    assert len(files) == 2
    for file in files:
        assert pq.read_schema(file).remove_metadata().equals(SCHEMA)


def test_the_mixed_store_reads_in_one_call_with_pyarrow_dataset(mixed_store):
    table = ds.dataset(mixed_store, format="parquet", exclude_invalid_files=True).to_table()
    assert table.schema.remove_metadata().equals(SCHEMA)
    frame = table.to_pandas()
    assert set(frame["family"]) == {"logistic", "gp-classifier"}
    gp = frame[frame["family"] == "gp-classifier"]
    assert set(gp.loc[gp["quantity"] == "lengthscale", "index"]) == set(range(8))  # 8 inputs, 8 lengthscales
    assert "kl" in set(gp["quantity"]) and "weight_norm" in set(frame.loc[frame["family"] == "logistic", "quantity"])
    # Parameters are columns' worth of information: every run carries its own.
    lengths = {row["family"]: dict(row["params"])["dataset.n_bits"] for row in frame.drop_duplicates("run_id")
               .to_dict("records")}
    assert lengths == {"logistic": "6", "gp-classifier": "8"}


def test_the_mixed_store_reads_in_one_call_with_duckdb(mixed_store):
    duckdb = pytest.importorskip("duckdb")
    glob = str(mixed_store / "*.parquet")
    columns = [row[0] for row in duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet('{glob}')").fetchall()]
    assert columns == SCHEMA.names  # no column lost, whichever file DuckDB reads first
    counts = dict(duckdb.sql(f"SELECT family, count(DISTINCT quantity) FROM read_parquet('{glob}') "
                             "GROUP BY family").fetchall())
    assert counts["gp-classifier"] > counts["logistic"] > 5
    lr = duckdb.sql(f"SELECT DISTINCT params['model.max_iter'] FROM read_parquet('{glob}') "
                    "WHERE family = 'logistic'").fetchall()
    assert lr == [("6",)]
    total = duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall()[0][0]
    assert total == sum(pq.read_metadata(f).num_rows for f in mixed_store.glob("*.parquet"))


def test_the_mixed_store_reads_in_one_call_with_polars(mixed_store):
    polars = pytest.importorskip("polars")
    frame = polars.scan_parquet(str(mixed_store / "*.parquet")).collect()
    assert frame.columns == SCHEMA.names and frame["run_id"].n_unique() == 2


def test_load_results_gives_back_each_runs_history(mixed_store):
    histories, runs = load_results(mixed_store)
    assert set(runs["family"]) == {"logistic", "gp-classifier"} and set(runs["dataset"]) == {"sparse_parity"}
    assert {"seed", "suite", "case", "dataset.n_bits", "model.max_iter"} <= set(runs.columns)
    config = json.loads(runs.loc[runs["family"] == "logistic", "config"].iloc[0])
    data, estimator = make_run({**config, "run_id": "x"})
    expected = estimator.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test)).history_
    run_id = runs.loc[runs["family"] == "logistic", "run_id"].iloc[0]
    stored = histories[histories["run_id"] == run_id].dropna(axis=1, how="all").drop(columns="run_id")
    assert list(stored.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(stored.reset_index(drop=True), expected, check_categorical=False,
                                  check_dtype=False)


def test_a_run_that_recorded_nothing_keeps_its_identity(tmp_path):
    meta = {"config": {"suite": "s", "dataset": {"name": "d", "n": 1}, "model": {"family": "f"}, "seed": 3},
            "status": "failed", "error": "boom"}
    write_run(tmp_path, "abc", pd.DataFrame(), meta)
    table = pq.read_table(tmp_path / "abc.parquet")
    assert table.num_rows == 1 and table["step"][0].as_py() is None and table["seed"][0].as_py() == 3
    histories, runs = load_results(tmp_path)
    assert histories.empty and runs["status"].tolist() == ["failed"] and runs["error"].tolist() == ["boom"]


def _write_version_1(store, run_id, history, meta):
    """A run file as the first store format wrote it: the wide history, metadata without a version."""
    table = pa.Table.from_pandas(history, preserve_index=False)
    table = table.replace_schema_metadata({b"grokbeyond.run": json.dumps({**meta, "run_id": run_id}).encode()})
    pq.write_table(table, store / f"{run_id}.parquet")


def test_an_old_store_is_named_and_migrated_without_loss(tmp_path):
    history = pd.DataFrame({"step": [0, 0, 5, 5], "split": pd.Categorical(["train", "test"] * 2),
                            "objective": [1.0, 1.5, 0.5, 0.7], "accuracy": [0.5, 0.5, 1.0, 0.9],
                            "lengthscale_0": [0.7, 0.7, 0.3, 0.3], "lengthscale_1": [0.7, 0.7, 2.0, 2.0]})
    meta = {"config": {"suite": "old", "dataset": {"name": "sparse_parity", "n_bits": 2}, "model": {"family": "gp"},
                       "seed": 0}, "status": "finished", "wall_time_s": 1.0}
    _write_version_1(tmp_path, "r1", history, meta)
    for read in (load_results, finished_run_ids):
        with pytest.raises(ValueError, match=r"r1\.parquet.*store format 1.*grokbeyond migrate"):
            read(tmp_path)
    assert migrate_store(tmp_path) == 1
    assert migrate_store(tmp_path) == 0  # idempotent
    histories, runs = load_results(tmp_path)
    assert finished_run_ids(tmp_path) == {"r1"} and runs["wall_time_s"].tolist() == [1.0]
    pd.testing.assert_frame_equal(histories.drop(columns="run_id"), history, check_dtype=False,
                                  check_categorical=False)


def test_a_run_whose_rows_are_damaged_is_not_finished_and_is_rerun(tmp_path):
    store = tmp_path / "store"
    run_suites(MIXED[:1], store, progress=False)
    (run_file,) = store.glob("*.parquet")
    histories, _ = load_results(store)
    data = bytearray(run_file.read_bytes())
    data[8:len(data) // 2] = bytes(len(data) // 2 - 8)  # the pages zeroed, the footer (metadata) intact
    run_file.write_bytes(bytes(data))
    with pytest.warns(StoreWarning, match=run_file.name):
        assert finished_run_ids(store) == set()
    with pytest.warns(StoreWarning, match=run_file.name):
        assert run_suites(MIXED[:1], store, progress=False).n_finished == 1
    pd.testing.assert_frame_equal(load_results(store)[0], histories)


def test_unreadable_files_are_named_and_skipped_and_a_resume_reruns_their_runs(tmp_path):
    store = tmp_path / "store"
    run_suites(MIXED[:1], store, progress=False)
    (run_file,) = store.glob("*.parquet")
    histories, runs = load_results(store)
    pq.write_table(pa.table({"x": [1]}), store / "foreign.parquet")  # another program's parquet
    (store / "empty.parquet").write_bytes(b"")
    run_file.write_bytes(run_file.read_bytes()[:100])  # a write cut short, under the run's own name
    with pytest.warns(StoreWarning) as caught:
        assert len(load_results(store)[1]) == 0 and finished_run_ids(store) == set()
    named = " ".join(str(w.message) for w in caught)
    assert all(name in named for name in ("foreign.parquet", "empty.parquet", run_file.name))
    with pytest.warns(StoreWarning):
        summary = run_suites(MIXED[:1], store, progress=False)  # the resume reruns the truncated run
    assert summary.n_finished == 1
    with pytest.warns(StoreWarning) as caught:  # the rerun replaced the truncated file; the others stay
        again_histories, again_runs = load_results(store)
    assert len(caught) == 2 and run_file.name not in " ".join(str(w.message) for w in caught)
    pd.testing.assert_frame_equal(again_histories, histories)
    assert again_runs["run_id"].tolist() == runs["run_id"].tolist()


def test_pages_list_the_files_they_skipped(tmp_path):
    from grokbeyond.report import write_comparison_report, write_store_report

    store = tmp_path / "store"
    run_suites(MIXED[:1], store, progress=False)
    (store / "empty.parquet").write_bytes(b"")
    with pytest.warns(StoreWarning, match="empty.parquet"):
        write_store_report(store, tmp_path / "page")
    with pytest.warns(StoreWarning, match="empty.parquet"):
        write_comparison_report(store, report_dir=tmp_path / "comparison")
    for page in (tmp_path / "page", tmp_path / "comparison"):
        text = (page / "README.md").read_text()
        assert "## Files skipped" in text and "empty.parquet" in text


def test_non_numeric_history_columns_are_refused(tmp_path):
    bad = pd.DataFrame({"step": [0], "split": ["train"], "note": ["x"]})
    with pytest.raises(ValueError, match="note"):
        write_run(tmp_path, "bad", bad, {"config": {}})
    assert not list(tmp_path.glob("*.parquet"))


def test_long_rows_are_row_major_per_step_and_quantity(tmp_path):
    history = pd.DataFrame({"step": [0, 1], "split": ["train", "train"], "a": [1.0, 2.0], "b_0": [3.0, 4.0],
                            "b_1": [5.0, np.nan]})
    write_run(tmp_path, "r", history, {"config": {"seed": 0}})
    table = pq.read_table(tmp_path / "r.parquet", columns=["step", "quantity", "index", "value"]).to_pylist()
    assert [list(row.values()) for row in table[:3]] == [[0, "a", None, 1.0], [0, "b", 0, 3.0], [0, "b", 1, 5.0]]
    assert np.isnan(table[-1]["value"])


def test_a_file_with_rows_missing_still_reads(tmp_path):
    history = pd.DataFrame({"step": [0, 0, 1, 1], "split": ["train", "test"] * 2, "a": [1.0, 2.0, 3.0, 4.0],
                            "b": [5.0, 6.0, 7.0, 8.0]})
    path = write_run(tmp_path, "r", history, {"config": {"seed": 0}})
    table = pq.read_table(path)
    kept = table.filter(pa.compute.invert(pa.compute.and_(pa.compute.equal(table["quantity"], "b"),
                                                          pa.compute.equal(table["step"], 1))))
    pq.write_table(kept, path)  # a hand-edited file: step 1 lost its "b" rows
    histories, _ = load_results(tmp_path)
    assert histories["a"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert histories["b"].tolist()[:2] == [5.0, 6.0] and histories["b"].isna().tolist()[2:] == [True, True]


def test_two_rows_for_one_step_and_split_are_refused_not_averaged(tmp_path):
    replicated = pd.DataFrame({"step": [0, 0], "split": ["train", "train"], "replicate": [0, 1], "a": [1.0, 2.0]})
    with pytest.raises(ValueError, match="one row per step and split"):
        write_run(tmp_path, "r", replicated, {"config": {}})


def test_a_run_failing_before_step_0_is_stored_as_failed(tmp_path):
    from grokbeyond.models import NumericalError

    from grokbeyond.harness import executors

    class FailsAtOnce:
        def fit(self, X, y, eval_set):
            raise NumericalError("the objective is nan", step=0,
                                 history=pd.DataFrame(columns=["step", "split", "objective"]))

    data = Bunch(X_train=None, y_train=None, X_test=None, y_test=None)
    config = {"suite": "s", "dataset": {"name": "x"}, "model": {"family": "y"}, "seed": 0, "run_id": "f"}
    original = executors.make_run
    executors.make_run = lambda config, **_: (data, FailsAtOnce())
    try:
        assert executors.execute_run(config, tmp_path) == "failed"
    finally:
        executors.make_run = original
    _, runs = load_results(tmp_path)
    assert runs["status"].tolist() == ["failed"] and "objective is nan" in runs["error"].iloc[0]


def test_a_copied_run_file_is_one_run_and_migration_passes_unreadable_files_by(tmp_path):
    store = tmp_path / "store"
    run_suites(MIXED[:1], store, progress=False)
    (run_file,) = store.glob("*.parquet")
    (store / f"{run_file.stem} (conflicted copy).parquet").write_bytes(run_file.read_bytes())
    with pytest.warns(StoreWarning, match="already read from"):
        histories, runs = load_results(store)
    assert len(runs) == 1 and histories["run_id"].nunique() == 1
    (store / "empty.parquet").write_bytes(b"")
    with pytest.warns(StoreWarning, match="empty.parquet"):
        assert migrate_store(store) == 0


# ---- write errors: the sweep ends with the path named, nothing partial is left ---------------------------
def _one_run_suite():
    return {"name": "write", "seeds": [0, 1], "dataset": {"name": "sparse_parity", "n_bits": 6, "k": 2,
                                                          "n_train": 30, "n_test": 20},
            "model": {"family": "logistic", "max_iter": 4, "eval_every": 2}}


def test_a_store_path_that_is_a_file_ends_the_sweep_before_any_run(tmp_path):
    from grokbeyond.exceptions import StoreWriteError
    from grokbeyond.harness import check_writable

    path = tmp_path / "results"
    path.write_text("not a folder")
    with pytest.raises(StoreWriteError, match="results") as caught:
        run_suites([_one_run_suite()], path, progress=False)
    assert caught.value.filename == str(path) and path.read_text() == "not a folder"
    with pytest.raises(StoreWriteError):
        check_writable(path / "inner")


@pytest.mark.parametrize("errno_name", ["ENOSPC", "EROFS", "EACCES"])
def test_a_full_or_read_only_disk_ends_the_sweep_naming_the_file_and_keeps_what_was_stored(
        tmp_path, monkeypatch, errno_name):
    import errno
    import os

    from grokbeyond.exceptions import StoreWriteError
    from grokbeyond.harness import store

    store_dir, written = tmp_path / "store", []
    real = pq.write_table

    def fail_on_second(table, where, **kwargs):
        if written:  # the second run's file: the disk is full / read-only now
            with open(where, "wb") as handle:
                handle.write(b"PAR1 partial")
            raise OSError(getattr(errno, errno_name), os.strerror(getattr(errno, errno_name)))
        written.append(where)
        return real(table, where, **kwargs)

    monkeypatch.setattr(store.pq, "write_table", fail_on_second)
    with pytest.raises(StoreWriteError, match="cannot write to the results store") as caught:
        run_suites([_one_run_suite()], store_dir, progress=False, batch=False)
    assert caught.value.filename.endswith(".parquet") and str(store_dir) in caught.value.filename
    monkeypatch.undo()
    assert sorted(p.name for p in store_dir.iterdir() if not p.name.startswith(".locks")) == [
        sorted(p.name for p in store_dir.glob("*.parquet"))[0]]  # one run stored, no partial or temporary file
    assert len(finished_run_ids(store_dir)) == 1
    assert run_suites([_one_run_suite()], store_dir, progress=False).n_finished == 1  # the rerun does the rest


@pytest.mark.skipif(__import__("os").geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_store_is_refused_before_any_run(tmp_path):
    from grokbeyond.exceptions import StoreWriteError

    store_dir = tmp_path / "store"
    store_dir.mkdir()
    store_dir.chmod(0o555)
    try:
        with pytest.raises(StoreWriteError, match="store"):
            run_suites([_one_run_suite()], store_dir, progress=False)
    finally:
        store_dir.chmod(0o755)


def test_a_complete_store_that_cannot_be_written_still_resumes(tmp_path, monkeypatch):
    import errno

    from grokbeyond.harness import _claims

    store_dir = tmp_path / "store"
    run_suites([_one_run_suite()], store_dir, progress=False)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(_claims.tempfile, "TemporaryFile", read_only)  # an archived, read-only store
    summary = run_suites([_one_run_suite()], store_dir, progress=False)
    assert summary.n_skipped == 2 and summary.n_finished == 0


def test_a_worker_claims_at_most_max_claimed_runs_at_once(tmp_path, monkeypatch):
    # One open lock file per claimed run: a 600-run batch ran out of file handles under a
    # 512-file limit. With the cap at 8, a batch of 40 would make claim_runs raise.
    from grokbeyond.harness import _claims, scheduling

    monkeypatch.setattr(_claims, "MAX_CLAIMED", 8)
    monkeypatch.setattr(scheduling, "MAX_CLAIMED", 8)
    summary = run_suites([_one_run_suite() | {"seeds": list(range(40))}], tmp_path / "store", progress=False)
    assert summary.n_finished == 40
    with pytest.raises(ValueError, match="at most 8"):
        with _claims.claim_runs(tmp_path / "store", [str(i) for i in range(9)]):
            pass


def test_claims_are_exclusive_across_holders_and_skip_finished_runs(tmp_path):
    from grokbeyond.harness import claim_runs

    write_run(tmp_path, "done", pd.DataFrame({"step": [0], "split": ["train"], "loss": [1.0]}),
              {"status": "finished", "config": {}})
    write_run(tmp_path, "failed", pd.DataFrame(), {"status": "failed", "config": {}})
    with claim_runs(tmp_path, ["a", "done", "failed"]) as first:
        assert first == ["a", "failed"]  # a finished run is not claimed; a failed one is retried
        with claim_runs(tmp_path, ["a", "b"]) as second:
            assert second == ["b"]
    with claim_runs(tmp_path, ["a", "b"]) as again:
        assert again == ["a", "b"]  # released at the end of the block
