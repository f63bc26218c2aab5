"""Trajectory estimators: every family on one base, one ``fit`` that records ``history_``."""

from ._base import (
    HISTORY_COLUMNS,
    NumericalError,
    TrajectoryClassifier,
    TrajectoryEstimator,
    TrajectoryRegressor,
    evaluation_steps,
)
from .bayesian_mlp import BayesianMLP
from .gp_classifier import GPClassifier
from .gp_regressor import GPRegressor, mll_landscape
from .linear import LinearRegression
from .logistic import LogisticRegression
from .mlp import MLPClassifier

__all__ = [
    "HISTORY_COLUMNS",
    "BayesianMLP",
    "GPClassifier",
    "GPRegressor",
    "LinearRegression",
    "LogisticRegression",
    "MLPClassifier",
    "NumericalError",
    "TrajectoryClassifier",
    "TrajectoryEstimator",
    "TrajectoryRegressor",
    "evaluation_steps",
    "mll_landscape",
]
