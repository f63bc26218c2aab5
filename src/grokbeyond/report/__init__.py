"""Figures and report pages built from recorded histories (never training)."""

from .comparison import Comparison, write_comparison_report
from .figures import plot_comparison, plot_landscape, plot_sweep, plot_trajectories, t_interval
from .pages import plot_error_complexity, plot_phase_diagram, write_store_report

__all__ = [
    "Comparison",
    "plot_comparison",
    "plot_error_complexity",
    "plot_landscape",
    "plot_phase_diagram",
    "plot_sweep",
    "plot_trajectories",
    "t_interval",
    "write_comparison_report",
    "write_store_report",
]
