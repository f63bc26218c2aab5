"""The benchmark harness: suite files expanded into runs, a resumable parquet store, parallel execution."""

from .executors import SuiteSummary, execute_run, run_suite, run_suites
from .store import finished_run_ids, load_results, write_run
from .suites import DATASETS, ESTIMATORS, check_suite, expand_suite, load_suite, make_run, override_suite, run_id

__all__ = [
    "DATASETS",
    "ESTIMATORS",
    "SuiteSummary",
    "check_suite",
    "execute_run",
    "expand_suite",
    "finished_run_ids",
    "load_results",
    "load_suite",
    "make_run",
    "override_suite",
    "run_id",
    "run_suite",
    "run_suites",
    "write_run",
]
