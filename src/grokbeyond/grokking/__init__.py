"""Grokking detection: when a run memorises, when it generalises, and its phase.

Reads ``history_`` frames (one run, or many summarised over seeds); never trains.
:mod:`._detect` reads one run, :mod:`._summary` many.
"""

from ._detect import PHASES, GrokkingResult, detect_grokking, first_crossing
from ._summary import (
    ExponentialFit,
    GrokkingSummary,
    fit_exponential_gap,
    grokking_table,
    median_ci,
    summarise_grokking,
)

__all__ = [
    "GrokkingResult",
    "GrokkingSummary",
    "PHASES",
    "median_ci",
    "ExponentialFit",
    "detect_grokking",
    "first_crossing",
    "fit_exponential_gap",
    "grokking_table",
    "summarise_grokking",
]
