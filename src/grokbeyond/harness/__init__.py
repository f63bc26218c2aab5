"""The benchmark harness: suite files expanded into runs, a resumable parquet store, parallel execution."""

from .executors import SuiteSummary, execute_run, run_suite
from .store import finished_run_ids, load_results, write_run
from .suites import DATASETS, ESTIMATORS, expand_suite, load_suite, make_run, run_id

__all__ = [
    "DATASETS",
    "ESTIMATORS",
    "SuiteSummary",
    "execute_run",
    "expand_suite",
    "finished_run_ids",
    "load_results",
    "load_suite",
    "make_run",
    "run_id",
    "run_suite",
    "write_run",
]
