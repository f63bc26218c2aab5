"""Figures and report pages built from recorded histories (never training)."""

from .figures import plot_trajectories

__all__ = ["plot_trajectories"]
