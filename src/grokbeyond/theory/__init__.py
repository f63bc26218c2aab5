"""Closed-form predictions of grokking, each with its source, to set beside measured runs.

Nothing here trains. Each function returns what a theory predicts for a setting: loss
and accuracy curves against the step, a grokking time, a delay, or a property of a
training set that decides whether a model can generalise.

- :func:`linear_gd_trajectory`: the exact gradient-descent dynamics of a linear
  teacher–student model on a given training design (Levi, Beck & Bar-Sinai 2023,
  eqs. 3–5, in discrete time);
- :func:`marchenko_pastur_trajectory`: the same in the limit of large dimension at
  ratio λ = d_in / N (their eqs. 6–8), and :func:`levi_grokking_time` (their eq. 12);
- :func:`threshold_accuracy`: the expected accuracy of a Gaussian error at threshold ε
  (their eqs. 10 and 13, the latter an isotropic approximation for several outputs);
- :func:`origin_margin`, :func:`separability_probability`, :func:`limiting_accuracy`
  and :func:`beck_delay_ratio`: logistic regression at the edge of linear
  separability (Beck, Levi & Bar-Sinai 2025);
- :func:`notsawo_delay`: the delay Δt = c / (αβ) between memorisation and
  generalisation under a penalty β·h and step α (Notsawo, Dumas & Rabusseau 2025);
  :func:`fit_delay_slope` measures the exponent of that law across runs;
- :func:`norm_delay` and :func:`fit_norm_delay`: the delay predicted at memorisation
  from the parameter norm (Khanh et al. 2026).
"""

from ._delay import NormDelayFit, SlopeFit, fit_delay_slope, fit_norm_delay, norm_delay, notsawo_delay
from ._linear import levi_grokking_time, linear_gd_trajectory, marchenko_pastur_trajectory, threshold_accuracy
from ._separability import beck_delay_ratio, limiting_accuracy, origin_margin, separability_probability

__all__ = [
    "NormDelayFit",
    "SlopeFit",
    "beck_delay_ratio",
    "fit_delay_slope",
    "fit_norm_delay",
    "levi_grokking_time",
    "limiting_accuracy",
    "linear_gd_trajectory",
    "marchenko_pastur_trajectory",
    "norm_delay",
    "notsawo_delay",
    "origin_margin",
    "separability_probability",
    "threshold_accuracy",
]
