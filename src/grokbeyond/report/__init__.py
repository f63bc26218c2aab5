"""Figures and report pages built from recorded histories (never training)."""

from .figures import plot_comparison, plot_landscape, plot_sweep, plot_trajectories

__all__ = ["plot_comparison", "plot_landscape", "plot_sweep", "plot_trajectories"]
