"""Trajectory estimators: every family on one base, one ``fit`` that records ``history_``.

Each family's module loads when its class is first used, so ``LogisticRegression``
never imports gpytorch or pyro. The families are those of :mod:`grokbeyond.registry`
(its built-in references name this package's classes, so a new family is one file and
one registration line); the contract a family implements is written once, in
:class:`TrajectoryEstimator`'s docstring.
"""

import lazy_loader as _lazy

from ..registry import builtin_references as _builtin_references

_attrs = {
    "_base": ["HISTORY_COLUMNS", "NumericalError", "TrajectoryEstimator", "evaluation_steps"],
    "_prediction": ["TrajectoryClassifier", "TrajectoryRegressor"],
    "_agop": ["agop_alignment", "circulant_deviation"],
    "_callbacks": ["StopOnGrokking", "StopOnPlateau"],
    "_pipeline": ["pipeline_eval_set"],
    "_batched": ["fit_batched", "fit_replicates"],
    "gp_regressor": ["mll_landscape"],
}
for _reference in _builtin_references("family"):
    _module, _, _name = _reference.partition(":")
    if _module.startswith(__name__ + "."):
        _attrs.setdefault(_module.removeprefix(__name__ + "."), []).append(_name)

__getattr__, __dir__, __all__ = _lazy.attach(__name__, submod_attrs=_attrs)
