"""grokbeyond: grokking (delayed generalisation) beyond neural networks.

Datasets (:mod:`grokbeyond.datasets`), trajectory estimators
(:mod:`grokbeyond.models`), the registry of families and datasets
(:mod:`grokbeyond.registry`), grokking detection (:mod:`grokbeyond.grokking`), the
harness that runs every experiment (:mod:`grokbeyond.harness`), families side by side
(:func:`grokbeyond.compare`), closed-form predictions (:mod:`grokbeyond.theory`), figures
and pages (:mod:`grokbeyond.report`) and paper reproductions (:mod:`grokbeyond.reproduce`).

Submodules load when first used: ``import grokbeyond`` imports none of torch, gpytorch,
pyro, matplotlib or dask.
"""

import lazy_loader as _lazy

from ._version import __version__

__getattr__, __dir__, _all = _lazy.attach(
    __name__,
    submodules=["datasets", "exceptions", "grokking", "harness", "models", "registry", "report", "reproduce", "theory"],
    submod_attrs={
        "_compare": ["Comparison", "compare"],
        "grokking": [
            "ExponentialFit",
            "GrokkingResult",
            "GrokkingSummary",
            "detect_grokking",
            "first_crossing",
            "fit_exponential_gap",
            "grokking_table",
            "summarise_grokking",
        ],
        "harness": ["load_results"],
    },
)
__all__ = sorted([*_all, "__version__"])
