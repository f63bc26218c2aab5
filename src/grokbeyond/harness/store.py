"""The results store: one parquet file per run, written atomically, with the run's metadata."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["finished_run_ids", "load_results", "write_run"]

_META_KEY = b"grokbeyond.run"


def write_run(results_dir, run_id: str, history: pd.DataFrame, meta: dict) -> Path:
    """Store one run: its tidy history as ``<run_id>.parquet``, its metadata in the file's schema.

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
        The run's ``history_`` (may be empty for a run that failed before step 0).
    meta : dict
        JSON-serialisable metadata: config, status, wall time, versions, error, traceback.

    Returns
    -------
    pathlib.Path
        The file written.
    """
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(history.reset_index(drop=True), preserve_index=False)
    metadata = {**(table.schema.metadata or {}), _META_KEY: json.dumps({**meta, "run_id": run_id}).encode()}
    table = table.replace_schema_metadata(metadata)
    final = results_dir / f"{run_id}.parquet"
    handle, temporary = tempfile.mkstemp(dir=results_dir, prefix=f".{run_id}.", suffix=".tmp")
    os.close(handle)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, final)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return final


def _read_meta(path: Path) -> dict:
    return json.loads(pq.read_schema(path).metadata[_META_KEY])


def finished_run_ids(results_dir) -> set[str]:
    """Ids of the runs stored with ``status == "finished"`` (failed runs are retried)."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return set()
    return {path.stem for path in results_dir.glob("*.parquet") if _read_meta(path).get("status") == "finished"}


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
        Every run's history rows with a ``run_id`` column.
    runs : pandas.DataFrame
        One row per run: ``run_id``, ``suite``, ``case`` (the case label or None),
        ``seed``, ``status``, ``wall_time_s``, ``n_warnings`` and the distinct
        ``warnings`` (joined by " | "; None / empty for runs stored without them),
        ``error``, ``traceback``, ``versions``, ``config`` (JSON) and each dataset and
        model parameter flattened as ``dataset.X`` / ``model.X`` columns.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder.
    """
    path = Path(path)
    if not path.is_dir():
        raise FileNotFoundError(f"no results store at {path}.")
    histories, runs = [], []
    for file in sorted(path.glob("*.parquet")):
        meta = _read_meta(file)
        histories.append(pd.read_parquet(file).assign(run_id=meta["run_id"]))
        config = meta.get("config", {})
        flat = {f"{section}.{k}": v for section in ("dataset", "model") for k, v in config.get(section, {}).items()}
        runs.append({"run_id": meta["run_id"], "suite": config.get("suite"), "case": config.get("case"),
                     "seed": config.get("seed"),
                     **{k: meta.get(k) for k in ("status", "wall_time_s", "error", "traceback", "n_warnings")},
                     "warnings": " | ".join(meta.get("warnings") or []),
                     "versions": json.dumps(meta.get("versions", {})), "config": json.dumps(config), **flat})
    histories = pd.concat(histories, ignore_index=True) if histories else pd.DataFrame(columns=["run_id"])
    return histories, pd.DataFrame(runs)
