"""Reproductions of published grokking experiments, each writing a report."""

from .gp_parity import GPParityConfig, run_gp_parity, write_gp_parity_report
from .gp_regression import GPRegressionConfig, run_gp_regression, write_gp_regression_report

__all__ = [
    "GPParityConfig",
    "GPRegressionConfig",
    "run_gp_parity",
    "run_gp_regression",
    "write_gp_parity_report",
    "write_gp_regression_report",
]
