"""Trajectory estimators: every family on one base, one ``fit`` that records ``history_``."""

from ._base import HISTORY_COLUMNS, NumericalError, TrajectoryClassifier, TrajectoryEstimator, evaluation_steps
from .gp_classifier import GPClassifier
from .logistic import LogisticRegression

__all__ = [
    "HISTORY_COLUMNS",
    "GPClassifier",
    "LogisticRegression",
    "NumericalError",
    "TrajectoryClassifier",
    "TrajectoryEstimator",
    "evaluation_steps",
]
