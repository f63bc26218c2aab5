"""Datasets for grokking studies: algorithmic, regression, teacher–student and separability tasks, real digits, concealment.

Every ``make_*`` function takes ``random_state``, draws only from its own generator,
and returns a :class:`sklearn.utils.Bunch` with ``X_train, y_train, X_test, y_test``
and metadata (``task``, ``params``, ``relevant_features``, ``concealed_features``).
"""

from .arrays import load_arrays, save_arrays
from .algorithmic import MODULAR_OPERATIONS, make_modular_arithmetic, make_sparse_parity
from .competing import make_competing_features
from .real import make_digits
from .regression import make_decoy_linear, make_noisy_sine, make_step_function
from .separability import make_margin_separable, make_two_gaussians
from .teacher_student import make_linear_teacher, make_sparse_recovery
from .transforms import conceal

__all__ = [
    "MODULAR_OPERATIONS",
    "conceal",
    "load_arrays",
    "make_competing_features",
    "make_decoy_linear",
    "make_digits",
    "make_linear_teacher",
    "make_margin_separable",
    "make_modular_arithmetic",
    "make_noisy_sine",
    "make_sparse_parity",
    "make_sparse_recovery",
    "make_step_function",
    "make_two_gaussians",
    "save_arrays",
]
