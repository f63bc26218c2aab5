"""Miller, O'Neill & Bui (2023), *Grokking Beyond Neural Networks*: its experiments as suites, a claims table."""

from .claims import CLAIMS, DETECTION, claims_table, suite_results
from .report import write_miller2023_report
from .runs import SUITE_NAMES, miller2023_suites, run_miller2023

__all__ = [
    "CLAIMS",
    "DETECTION",
    "SUITE_NAMES",
    "claims_table",
    "miller2023_suites",
    "run_miller2023",
    "suite_results",
    "write_miller2023_report",
]
