"""Reproductions of published grokking experiments, each writing a report."""

from .bnn_init_scale import BNNInitScaleConfig, run_bnn_init_scale, write_bnn_init_scale_report
from .gp_parity import GPParityConfig, run_gp_parity, write_gp_parity_report
from .gp_regression import GPRegressionConfig, run_gp_regression, write_gp_regression_report
from .linear_decoy import LinearDecoyConfig, run_linear_decoy, write_linear_decoy_report
from .mlp_concealment import MLPConcealmentConfig, run_mlp_concealment, write_mlp_concealment_report

__all__ = [
    "BNNInitScaleConfig",
    "GPParityConfig",
    "GPRegressionConfig",
    "LinearDecoyConfig",
    "MLPConcealmentConfig",
    "run_bnn_init_scale",
    "run_gp_parity",
    "run_gp_regression",
    "run_linear_decoy",
    "run_mlp_concealment",
    "write_bnn_init_scale_report",
    "write_gp_parity_report",
    "write_gp_regression_report",
    "write_linear_decoy_report",
    "write_mlp_concealment_report",
]
