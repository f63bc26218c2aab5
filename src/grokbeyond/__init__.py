"""grokbeyond: grokking (delayed generalisation) beyond neural networks.

Datasets (:mod:`grokbeyond.datasets`), trajectory estimators
(:mod:`grokbeyond.models`), families side by side (:func:`grokbeyond.compare`), grokking detection (:mod:`grokbeyond.grokking`), figures and
reports (:mod:`grokbeyond.report`) and paper reproductions
(:mod:`grokbeyond.reproduce`).
"""

from importlib.metadata import PackageNotFoundError, version

from . import datasets, models
from .grokking import (
    ExponentialFit,
    GrokkingResult,
    GrokkingSummary,
    detect_grokking,
    first_crossing,
    fit_exponential_gap,
    grokking_table,
    summarise_grokking,
)

try:
    __version__ = version("grokbeyond")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from .compare import Comparison, compare  # noqa: E402  (uses __version__)
from .harness import load_results  # noqa: E402

__all__ = [
    "Comparison",
    "ExponentialFit",
    "GrokkingResult",
    "GrokkingSummary",
    "__version__",
    "compare",
    "datasets",
    "detect_grokking",
    "first_crossing",
    "fit_exponential_gap",
    "grokking_table",
    "load_results",
    "models",
    "summarise_grokking",
]
