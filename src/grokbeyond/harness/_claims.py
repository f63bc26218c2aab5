"""Sweeps that share a store: per-run claims, a writable store, workers that die with their sweep."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
import time
import warnings
from pathlib import Path

from ..exceptions import StoreWarning, StoreWriteError
from .store import _read_run_file, _write_error

__all__ = ["check_writable", "claim_runs"]

#: The most runs one process claims at once (one open lock file each; a batch is cut to it).
MAX_CLAIMED = 256


def check_writable(results_dir) -> Path:
    """Create the store if missing and check that a run file can be written in it.

    A sweep calls it before it runs anything, so a store it cannot write ends the sweep
    at once, not after the first run's training.

    Parameters
    ----------
    results_dir : path-like
        The store.

    Returns
    -------
    pathlib.Path
        The store.

    Raises
    ------
    StoreWriteError
        If the folder cannot be created or written (read-only, a path that is a file,
        no space left); the message names the path.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import check_writable
    >>> check_writable(tempfile.mkdtemp()).is_dir()
    True
    """
    results_dir = Path(results_dir)
    if results_dir.exists() and not results_dir.is_dir():
        raise StoreWriteError(errno.ENOTDIR, "the results store is not a folder", str(results_dir))
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=results_dir, prefix=".write-check."):
            pass
    except OSError as err:
        raise _write_error(results_dir, err) from err
    return results_dir


@contextlib.contextmanager
def claim_runs(results_dir, run_ids, *, since: float | None = None):
    """Claim runs for this process while it trains them, so that concurrent sweeps on one
    store do each run once.

    A run is claimed by an exclusive, non-blocking ``filelock`` lock on
    ``<results_dir>/.locks/<run_id>.lock``, held until the ``with`` block ends. A run
    another process holds is not claimed, nor one already stored as finished, nor (with
    ``since``) one whose file another sweep wrote after this sweep started, finished or
    failed: a failed run is retried by the next sweep, not by one running beside it.
    The lock is the operating system's (``flock``): a sweep that is killed, even by
    SIGKILL, releases its claims with its process, so none is left stuck. The lock files
    stay (empty) in ``.locks/``; readers of the store never look there.

    Parameters
    ----------
    results_dir : path-like
        The store.
    run_ids : sequence of str
        The runs to claim; at most :data:`MAX_CLAIMED` (one open file each).
    since : float or None, default=None
        The sweep's start (``time.time()``).

    Yields
    ------
    list of str
        The runs claimed, in the order given.

    Raises
    ------
    StoreWriteError
        If the lock folder cannot be created or written.
    ValueError
        If more than :data:`MAX_CLAIMED` runs are claimed at once.

    Examples
    --------
    >>> import tempfile
    >>> from grokbeyond.harness import claim_runs
    >>> store = tempfile.mkdtemp()
    >>> with claim_runs(store, ["a", "b"]) as mine:
    ...     with claim_runs(store, ["b", "c"]) as theirs:  # another sweep: "b" is taken
    ...         print(mine, theirs)
    ['a', 'b'] ['c']
    """
    import filelock

    run_ids = list(run_ids)
    if len(run_ids) > MAX_CLAIMED:
        raise ValueError(f"claim at most {MAX_CLAIMED} runs at once (one open lock file each); got {len(run_ids)}.")
    folder = Path(results_dir) / ".locks"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise _write_error(folder, err) from err
    with contextlib.ExitStack() as held:
        claimed = []
        for run in run_ids:
            lock = filelock.FileLock(folder / f"{run}.lock", timeout=0)
            try:
                lock.acquire()
            except filelock.Timeout:
                continue
            except OSError as err:
                raise _write_error(folder / f"{run}.lock", err) from err
            held.callback(lock.release)
            if not _taken(Path(results_dir) / f"{run}.parquet", since):
                claimed.append(run)
        yield claimed


def _taken(path: Path, since: float | None) -> bool:
    """Whether a run's file says it needs no run now: finished, or written since ``since``."""
    try:
        written = path.stat().st_mtime
    except FileNotFoundError:
        return False
    if since is not None and written >= since:
        return True
    with warnings.catch_warnings():  # an unreadable file is rerun; the sweep's own read warned about it
        warnings.simplefilter("ignore", StoreWarning)
        read = _read_run_file(path)
    return read is not None and read[0].get("status") == "finished"


_WATCHED_PARENT = None


def watch_parent(pid: int | None) -> None:
    """In a worker process the sweep ``pid`` started, a daemon thread that ends the process
    within half a second of the sweep's death (the process is re-parented), so a
    SIGKILL'd sweep leaves no worker training on and writing into the store."""
    global _WATCHED_PARENT
    if pid is None or pid == os.getpid() or pid == _WATCHED_PARENT or os.getppid() != pid:
        return  # the sweep's own process, a watched worker, or a remote worker that is not its child
    _WATCHED_PARENT = pid

    def watch():
        while os.getppid() == pid:
            time.sleep(0.5)
        os._exit(1)  # the sweep is gone: its claims are released with this process

    threading.Thread(target=watch, name="grokbeyond-sweep-watch", daemon=True).start()
