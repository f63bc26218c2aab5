"""The harness, the one way anything runs: suite files expanded into runs, a resumable
parquet store with one schema, execution on joblib processes or Dask."""

from ._claims import check_writable, claim_runs
from .executors import execute_batch, execute_run
from .scheduling import SuiteSummary, batch_runs, run_suite, run_suites
from .store import SCHEMA, STORE_VERSION, StoreWarning, finished_run_ids, load_results, migrate_store, write_run
from .suites import SuiteRuns, check_suite, expand_suite, load_suite, make_run, override_suite, run_id

__all__ = [
    "SCHEMA",
    "STORE_VERSION",
    "StoreWarning",
    "SuiteRuns",
    "SuiteSummary",
    "batch_runs",
    "check_writable",
    "claim_runs",
    "check_suite",
    "execute_batch",
    "execute_run",
    "expand_suite",
    "finished_run_ids",
    "load_results",
    "load_suite",
    "make_run",
    "migrate_store",
    "override_suite",
    "run_id",
    "run_suite",
    "run_suites",
    "write_run",
]
