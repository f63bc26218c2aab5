"""Reproductions of published grokking experiments, each writing a report."""

from .gp_parity import GPParityConfig, run_gp_parity, write_gp_parity_report

__all__ = ["GPParityConfig", "run_gp_parity", "write_gp_parity_report"]
