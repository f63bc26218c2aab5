"""Miller, O'Neill & Bui (2023), *Grokking Beyond Neural Networks*: every experiment the families support, as suites, with a claims table."""

from .runs import SUITE_NAMES, miller2023_suites, run_miller2023

__all__ = ["SUITE_NAMES", "miller2023_suites", "run_miller2023"]
