"""The results store: one parquet file per run, written atomically, every file with one schema.

Every run file ``<run_id>.parquet`` is a *long* table with the same columns, whatever
the family, the dataset or the input size, so that the whole store reads in one call
with pyarrow, DuckDB or polars (``read_parquet('store/*.parquet')``):

=========== ============== ==================================================================
run_id      string         the run's content hash (:func:`~grokbeyond.harness.run_id`)
suite       string         the suite's name
case        string         the case's label, or null
family      string         ``[model] family``
dataset     string         ``[dataset] name``
seed        int64          the run's seed (data, concealment and model)
status      string         ``"finished"`` or ``"failed"``
params      map<str, str>  every dataset and model parameter, ``"dataset.n_train" -> "1000"``
                           (strings as they are, other values as JSON)
step        int64          optimisation steps before the row's evaluation
split       string         ``"train"`` or ``"test"``
quantity    string         a ``history_`` column: ``accuracy``, ``data_fit``, ``lengthscale``…
index       int32          the position within a per-dimension quantity (``lengthscale_3``
                           is ``quantity="lengthscale", index=3``); null for a scalar
value       float64        its value
=========== ============== ==================================================================

A run that recorded nothing (it failed before step 0) has one row whose ``step``,
``split``, ``quantity`` and ``value`` are null. The file's metadata (key
``grokbeyond.run``) holds the run's full config, status, wall time, package versions,
warnings, error and traceback. :func:`load_results` is the easy path back to one tidy
``history_``-shaped frame and one row per run.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..exceptions import InputError, StoreWarning, StoreWriteError

__all__ = ["SCHEMA", "STORE_VERSION", "StoreWarning", "finished_run_ids", "load_results", "migrate_store", "write_run"]

#: The version of the file layout; files of version 1 (wide, per-run columns) are migrated
#: by :func:`migrate_store`.
STORE_VERSION = 2

#: The schema of every run file.
SCHEMA = pa.schema([
    ("run_id", pa.string()), ("suite", pa.string()), ("case", pa.string()), ("family", pa.string()),
    ("dataset", pa.string()), ("seed", pa.int64()), ("status", pa.string()),
    ("params", pa.map_(pa.string(), pa.string())),
    ("step", pa.int64()), ("split", pa.string()), ("quantity", pa.string()), ("index", pa.int32()),
    ("value", pa.float64()),
])

_META_KEY = b"grokbeyond.run"
_INDEXED = re.compile(r"^(?P<quantity>.+)_(?P<index>\d+)$")
_ID_COLUMNS = ("step", "split")


def _param_text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _flat_params(config: dict, *, names: bool = False) -> dict:
    """``{"dataset.X": value, "model.Y": value}`` of a run's config (with ``dataset.name`` and
    ``model.family`` when ``names``)."""
    return {f"{section}.{key}": value for section in ("dataset", "model")
            for key, value in config.get(section, {}).items() if names or key not in ("name", "family")}


def _long_table(history: pd.DataFrame, meta: dict, run_id: str) -> pa.Table:
    """A run's wide ``history_`` as the store's long table."""
    config = meta.get("config", {})
    columns = [c for c in history.columns if c not in _ID_COLUMNS]
    if len(history):  # an empty history (a run that failed before step 0) may have untyped columns
        missing = [c for c in _ID_COLUMNS if c not in history]
        if missing:
            raise ValueError(f"a history must have the columns {list(_ID_COLUMNS)}; {missing} missing.")
        wrong = [c for c in columns if not (pd.api.types.is_numeric_dtype(history[c])
                                            or pd.api.types.is_bool_dtype(history[c]))]
        if wrong:
            raise ValueError(f"history columns must be numeric to be stored; {wrong} are not.")
        if history.duplicated(list(_ID_COLUMNS)).any():
            raise ValueError("a history has one row per step and split; store each replicate of a batched fit "
                             "as its own run.")
    names = [_INDEXED.match(c) for c in columns]
    quantity = np.array([m["quantity"] if m else c for m, c in zip(names, columns)], dtype=object)
    index = np.array([int(m["index"]) if m else -1 for m in names], dtype=np.int64)
    n, k = len(history), len(columns)
    if n == 0 or k == 0:  # nothing recorded: one row keeps the run's identity visible
        n_rows, step, split, quantities, indices, values = 1, [None], [None], [None], [None], [None]
    else:
        n_rows = n * k
        step = np.repeat(history["step"].to_numpy(dtype=np.int64), k)
        split = np.repeat(history["split"].astype(str).to_numpy(dtype=object), k)
        quantities = np.tile(quantity, n)
        tiled = np.tile(index, n)
        indices = pa.array(tiled, type=pa.int32(), mask=tiled < 0)
        values = history[columns].to_numpy(dtype=np.float64).ravel()  # row-major: row r, column c at r * k + c
    params = _flat_params(config)
    keys = np.array(list(params), dtype=object)
    items = np.array([_param_text(v) for v in params.values()], dtype=object)
    params_array = pa.MapArray.from_arrays(pa.array(np.arange(n_rows + 1, dtype=np.int32) * len(keys)),
                                           pa.array(np.tile(keys, n_rows), type=pa.string()),
                                           pa.array(np.tile(items, n_rows), type=pa.string()))
    constant = {"run_id": run_id, "suite": config.get("suite"), "case": config.get("case"),
                "family": config.get("model", {}).get("family"), "dataset": config.get("dataset", {}).get("name"),
                "seed": config.get("seed"), "status": meta.get("status")}
    arrays = [pa.repeat(pa.scalar(constant[name], type=SCHEMA.field(name).type), n_rows)
              for name in ("run_id", "suite", "case", "family", "dataset", "seed", "status")]
    arrays += [params_array, pa.array(step, type=pa.int64()), pa.array(split, type=pa.string()),
               pa.array(quantities, type=pa.string()), pa.array(indices, type=pa.int32()),
               pa.array(values, type=pa.float64())]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def write_run(results_dir, run_id: str, history: pd.DataFrame, meta: dict) -> Path:
    """Store one run as ``<run_id>.parquet`` in the store's one schema (:data:`SCHEMA`).

    The file is written to a temporary name in the same folder and renamed over the
    final name (``os.replace``, atomic on POSIX), so a reader or a killed writer never
    sees a partial file.

    Parameters
    ----------
    results_dir : path-like
        The store (created if missing).
    run_id : str
        The run's content hash (:func:`~grokbeyond.harness.run_id`).
    history : pandas.DataFrame
        The run's ``history_`` (wide, as an estimator records it; may be empty for a
        run that failed before step 0). Columns ``name_0, name_1, …`` are stored as one
        per-dimension quantity ``name``.
    meta : dict
        JSON-serialisable metadata: ``config`` (``suite``, ``dataset``, ``model``,
        ``seed``, ``case``), status, wall time, versions, error, traceback.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If the history lacks ``step`` / ``split``, has a non-numeric column, or has more
        than one row per step and split (a batched fit's replicates are stored as runs
        of their own).
    StoreWriteError
        If the file cannot be written (read-only store, full disk, a store path that is
        a file); the message names the file. Nothing partial is left behind.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from grokbeyond.harness import load_results, write_run
    >>> history = pd.DataFrame({"step": [0, 0, 10, 10], "split": ["train", "test"] * 2,
    ...                         "accuracy": [0.5, 0.5, 1.0, 0.75]})
    >>> meta = {"config": {"suite": "demo", "seed": 0, "dataset": {"name": "sparse_parity", "n_bits": 6},
    ...                    "model": {"family": "logistic"}}, "status": "finished"}
    >>> store = tempfile.TemporaryDirectory()
    >>> write_run(store.name, "0123456789abcdef", history, meta).name
    '0123456789abcdef.parquet'
    >>> histories, runs = load_results(store.name)
    >>> histories["accuracy"].tolist()
    [0.5, 0.5, 1.0, 0.75]
    >>> runs[["suite", "seed", "status", "dataset.n_bits"]].to_dict("records")
    [{'suite': 'demo', 'seed': 0, 'status': 'finished', 'dataset.n_bits': 6}]
    >>> store.cleanup()
    """
    results_dir = Path(results_dir)
    table = _long_table(history.reset_index(drop=True), meta, run_id)
    metadata = {_META_KEY: json.dumps({**meta, "run_id": run_id, "store_version": STORE_VERSION}).encode()}
    table = table.replace_schema_metadata(metadata)
    final = results_dir / f"{run_id}.parquet"
    return write_atomically(final, lambda temporary: pq.write_table(table, temporary))


def write_atomically(path: Path, write) -> Path:
    """Call ``write(temporary)`` on a temporary file in ``path``'s folder (created if
    missing), then rename it over ``path`` (``os.replace``, atomic on POSIX): a reader or
    a killed writer never sees a partial file. An ``OSError`` (read-only, full disk, a
    path that is a file: the store's fault, not a run's) is raised as
    :class:`~grokbeyond.exceptions.StoreWriteError` naming ``path``; no temporary file
    is left behind."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
        os.close(handle)
        write(temporary)
        os.replace(temporary, path)
    except OSError as err:
        raise _write_error(path, err) from err
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)
    return path


def _write_error(path: Path, err: OSError) -> StoreWriteError:
    reason = err.strerror or str(err)
    return StoreWriteError(err.errno, f"cannot write to the results store ({reason})", str(path))


def _read_meta(path: Path) -> dict:
    metadata = pq.read_schema(path).metadata or {}
    if _META_KEY not in metadata:
        raise ValueError(f"{path} is not a grokbeyond run file (no {_META_KEY.decode()!r} metadata).")
    return json.loads(metadata[_META_KEY])


def _read_current_meta(path: Path) -> dict:
    """A run file's metadata, refusing files of an older store format with the fix named."""
    return _check_version(path, _read_meta(path))


def _check_version(path: Path, meta: dict) -> dict:
    if meta.get("store_version", 1) != STORE_VERSION:
        raise InputError(
            f"{path} is in store format {meta.get('store_version', 1)} (one wide table per run, schemas differing "
            f"between runs); this grokbeyond reads format {STORE_VERSION}. Convert the store once with "
            f"'grokbeyond migrate --results-dir {path.parent}' (or grokbeyond.harness.migrate_store); nothing is "
            "lost.")
    return meta


def _run_files(results_dir: Path):
    return sorted(results_dir.glob("*.parquet"))


_ROW_COLUMNS = ["step", "split", "quantity", "index", "value"]


def _stored_runs(results_dir: Path):
    """``(path, metadata, rows)`` of every readable run file of the current format, in name order.

    A file whose metadata or rows cannot be read (truncated, empty, a damaged page,
    another program's parquet) is named in a warning and skipped by every reader alike:
    it never stops a sweep, a resume or a report, and a resumed sweep reruns (and
    overwrites) a run whose file it is. A file of an older store format raises, naming
    the fix; a file the system refuses to read (permissions) raises as it is.
    """
    for path in _run_files(results_dir):
        read = _read_run_file(path, stacklevel=4)
        if read is not None:
            yield path, *read


def _read_run_file(path: Path, *, stacklevel: int = 3):
    """``(metadata, rows)`` of one run file (see :func:`_stored_runs`), or None (warned) if unreadable."""
    try:
        meta = _read_meta(path)
        rows = pq.read_table(path, columns=_ROW_COLUMNS) if meta.get("store_version", 1) == STORE_VERSION else None
    except PermissionError:
        raise
    except (OSError, ValueError, KeyError, pa.ArrowException) as err:
        warnings.warn(f"{path} is not a readable grokbeyond run file and is skipped ({type(err).__name__}: "
                      f"{err}); move it out of the store or delete it.", StoreWarning, stacklevel=stacklevel)
        return None
    return _check_version(path, meta), rows


def finished_run_ids(results_dir) -> set[str]:
    """Ids of the runs stored with ``status == "finished"`` (failed runs are retried).

    Parameters
    ----------
    results_dir : path-like
        The store; a missing folder holds no run.

    Returns
    -------
    set of str

    Raises
    ------
    ValueError
        If a file is in an older store format (see :func:`migrate_store`).

    Warns
    -----
    StoreWarning
        For each file that is not a readable run file (it is skipped).

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from grokbeyond.harness import finished_run_ids, write_run
    >>> store = tempfile.TemporaryDirectory()
    >>> _ = write_run(store.name, "aaaaaaaaaaaaaaaa", pd.DataFrame(), {"status": "finished"})
    >>> _ = write_run(store.name, "bbbbbbbbbbbbbbbb", pd.DataFrame(), {"status": "failed"})
    >>> finished_run_ids(store.name)  # the failed run is not among them: a rerun retries it
    {'aaaaaaaaaaaaaaaa'}
    >>> store.cleanup()
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return set()
    return {path.stem for path, meta, _ in _stored_runs(results_dir) if meta.get("status") == "finished"}


def _run_history(table: pa.Table) -> pd.DataFrame:
    """One run's long rows back in ``history_``'s layout (one row per step and split).

    Files written by :func:`write_run` hold, for every (step, split), the same quantities in
    the same order, so the rows reshape into the wide frame directly; anything else (a file
    a user filtered or wrote by hand) is pivoted.
    """
    table = table.filter(pc.is_valid(table["quantity"]))
    if table.num_rows == 0:
        return pd.DataFrame(columns=["step", "split"])
    quantity = table["quantity"].to_numpy(zero_copy_only=False).astype(object)
    index = table["index"].to_numpy(zero_copy_only=False)
    has_index = ~pd.isna(index)
    names = quantity.copy()
    names[has_index] = [f"{q}_{int(i)}" for q, i in zip(quantity[has_index], index[has_index])]
    step = table["step"].to_numpy()
    split = table["split"].to_numpy(zero_copy_only=False).astype(object)
    value = table["value"].to_numpy(zero_copy_only=False).astype(np.float64)
    k = int(np.argmax((step != step[0]) | (split != split[0]))) or len(step)  # quantities per (step, split)
    if (len(step) % k == 0 and len(set(names[:k])) == k
            and np.array_equal(names, np.tile(names[:k], len(step) // k))):
        wide = pd.DataFrame(value.reshape(-1, k), columns=list(names[:k]))
        wide.insert(0, "split", split[::k])
        wide.insert(0, "step", step[::k])
    else:
        long = pd.DataFrame({"step": step, "split": split, "name": names, "value": value})
        order = list(dict.fromkeys(names))
        rows = list(dict.fromkeys(zip(step, split)))  # the recorded order of the rows
        wide = long.pivot(index=["step", "split"], columns="name", values="value")  # raises on duplicates
        wide = wide.reindex(pd.MultiIndex.from_tuples(rows, names=["step", "split"])).reset_index()
        wide = wide[["step", "split", *order]]
        wide.columns.name = None
    return wide


def load_results(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read a results store.

    Parameters
    ----------
    path : path-like
        A folder of run files written by :func:`write_run` (temporary files of
        interrupted writes are ignored).

    Returns
    -------
    histories : pandas.DataFrame
        Every run's history in ``history_``'s layout (per-dimension quantities as
        ``name_0, name_1, …``), with a ``run_id`` column.
    runs : pandas.DataFrame
        One row per run: ``run_id``, ``suite``, ``case`` (the case label or None),
        ``family``, ``dataset``, ``seed``, ``status``, ``wall_time_s`` (a batched run's
        share of its batch's time), ``replicates`` (the size of the batched model it
        trained in; 1: alone), ``n_warnings`` and
        the distinct ``warnings`` (joined by " | "), ``error``, ``traceback``,
        ``versions``, ``config`` (JSON) and each dataset and model parameter flattened
        as ``dataset.X`` / ``model.X`` columns (with their types).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder.
    ValueError
        If a file is in an older store format (see :func:`migrate_store`); the message
        names the file and the fix.

    Warns
    -----
    StoreWarning
        For each file that is not a readable grokbeyond run file (truncated, empty,
        another program's parquet): named and skipped.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import load_results
    >>> histories, runs = load_results(tempfile.mkdtemp())
    >>> len(runs)
    0
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no results store at {path}.")
    histories, runs = [], []
    seen = {}
    for file, meta, rows in _stored_runs(path):
        if meta["run_id"] in seen:  # a copy of a run file (a sync tool's "conflicted copy") is not a second run
            warnings.warn(f"{file} holds run {meta['run_id']}, already read from {seen[meta['run_id']]}; it is "
                          "skipped.", StoreWarning, stacklevel=2)
            continue
        seen[meta["run_id"]] = file.name
        history = _run_history(rows)
        histories.append(history.assign(run_id=meta["run_id"]))
        config = meta.get("config", {})
        flat = _flat_params(config, names=True)
        runs.append({"run_id": meta["run_id"], "suite": config.get("suite"), "case": config.get("case"),
                     "family": config.get("model", {}).get("family"),
                     "dataset": config.get("dataset", {}).get("name"), "seed": config.get("seed"),
                     **{k: meta.get(k) for k in ("status", "wall_time_s", "error", "traceback", "n_warnings")},
                     "replicates": (meta.get("batch") or {}).get("size", 1),
                     "warnings": " | ".join(meta.get("warnings") or []),
                     "versions": json.dumps(meta.get("versions", {})), "config": json.dumps(config), **flat})
    if not runs:
        return pd.DataFrame(columns=["run_id", "step", "split"]), pd.DataFrame(
            columns=["run_id", "suite", "case", "family", "dataset", "seed", "status"])
    histories = pd.concat([h for h in histories if len(h)] or [pd.DataFrame(columns=["step", "split", "run_id"])],
                          ignore_index=True)
    histories = histories.astype({"step": np.int64}).assign(split=histories["split"].astype("category"))
    return histories, pd.DataFrame(runs)


def migrate_store(path) -> int:
    """Rewrite every run file of an older store format in the current one, in place.

    Format 1 (grokbeyond ≤ 0.1 of 2026-11) stored each run's wide ``history_`` with
    its own columns. Each such file is read and written again by :func:`write_run`
    (atomically, under the same run id, its metadata kept); current files are left
    as they are, so the call can be repeated.

    Parameters
    ----------
    path : path-like
        The store.

    Returns
    -------
    int
        The number of files rewritten.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder.
    ValueError
        If a file is not a grokbeyond run file; the message names it.

    Examples
    --------
    ::

        from grokbeyond.harness import load_results, migrate_store

        migrate_store("grokbeyond-results/store")     # once; the command line: grokbeyond migrate
        histories, runs = load_results("grokbeyond-results/store")
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no results store at {path}.")
    migrated = 0
    for file in _run_files(path):
        try:
            meta = _read_meta(file)
        except PermissionError:
            raise
        except (OSError, ValueError, pa.ArrowException) as err:
            warnings.warn(f"{file} is not a readable grokbeyond run file and is left as it is ({type(err).__name__}: "
                          f"{err}).", StoreWarning, stacklevel=2)
            continue
        if meta.get("store_version", 1) == STORE_VERSION:
            continue
        history = pq.read_table(file).to_pandas()
        meta = {k: v for k, v in meta.items() if k not in ("run_id", "store_version")}
        write_run(path, file.stem, history, meta)
        migrated += 1
    return migrated
