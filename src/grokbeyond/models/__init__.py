"""Trajectory estimators: every family on one base, one ``fit`` that records ``history_``.

Each family's module loads when its class is first used, so ``LogisticRegression``
never imports gpytorch or pyro. The contract a family implements is written once, in
:class:`TrajectoryEstimator`'s docstring; the families are listed by
:func:`grokbeyond.registry.all_families`.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_base": ["HISTORY_COLUMNS", "NumericalError", "TrajectoryClassifier", "TrajectoryEstimator",
                  "TrajectoryRegressor", "evaluation_steps"],
        "bayesian_mlp": ["BayesianMLP"],
        "gp_classifier": ["GPClassifier"],
        "gp_regressor": ["GPRegressor", "mll_landscape"],
        "linear": ["LinearRegression"],
        "logistic": ["LogisticRegression"],
        "mlp": ["MLPClassifier"],
    },
)
