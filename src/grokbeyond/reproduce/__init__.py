"""Reproductions of published grokking experiments, each writing a report."""

from .gp_parity import GPParityConfig, run_gp_parity

__all__ = ["GPParityConfig", "run_gp_parity"]
