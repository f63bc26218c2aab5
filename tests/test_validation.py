"""Bad settings are refused up front, naming the setting: every numeric parameter of every
registered family and dataset, given NaN, ±inf or a boolean."""

import inspect
import math
import re
from numbers import Integral, Real

import warnings

import numpy as np
import pytest
import torch
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError

from grokbeyond._validation import check_number
from grokbeyond.exceptions import InputError, NumericalError
from grokbeyond.registry import all_datasets, all_families

BAD = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "True": True}
#: Settings where +inf means something (no prior; noiseless measurements).
INFINITE_OK = {("linear", "prior_variance"), ("sparse_recovery", "snr")}
#: Settings whose default is None that are not numbers (arrays).
NOT_NUMBERS = {"weight_init", "x"}


def _numeric(params):
    """The numeric settings, those defaulting to None (a number when set) included."""
    return {name: value for name, value in params.items()
            if (value is None or isinstance(value, (Integral, Real)) and not isinstance(value, bool))
            and name not in ("random_state", "verbose", *NOT_NUMBERS)}


def _family_cases():
    for name, cls in all_families():
        for param, default in _numeric(cls().get_params()).items():
            for label, value in BAD.items():
                if label == "inf" and (name, param) in INFINITE_OK:
                    continue
                yield pytest.param(cls, param, value, id=f"{name}-{param}-{label}")


def _dataset_cases():
    for name, make in all_datasets():
        defaults = {p.name: p.default for p in inspect.signature(make).parameters.values()
                    if p.default is not inspect.Parameter.empty}
        for param in _numeric(defaults):
            for label, value in BAD.items():
                if label == "inf" and (name, param) in INFINITE_OK:
                    continue
                yield pytest.param(make, param, value, id=f"{name}-{param}-{label}")


def _data(estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, (y if is_classifier(estimator) else y * 1.0)


@pytest.mark.parametrize("cls, param, value", list(_family_cases()))
def test_a_family_refuses_a_bad_number_naming_it(cls, param, value):
    estimator = cls(max_iter=2, random_state=0).set_params(**{param: value})
    with pytest.raises(InputError, match=rf"^{re.escape(param)}\b"):
        estimator.fit(*_data(estimator))
    with pytest.raises(NotFittedError):
        estimator.predict(_data(estimator)[0])


BAD_DEVICES = {"unknown": "gpu0", "number": 0, "unavailable": "cuda" if not torch.cuda.is_available() else "cuda:99"}


@pytest.mark.parametrize("name, cls", all_families(), ids=[name for name, _ in all_families()])
@pytest.mark.parametrize("device", BAD_DEVICES.values(), ids=BAD_DEVICES.keys())
def test_a_family_refuses_a_device_it_cannot_use_naming_it(name, cls, device):
    # A mistyped device, or one this machine does not have, is said before anything runs.
    estimator = cls(max_iter=2, random_state=0, device=device)
    with pytest.raises(InputError, match=r"^device\b"):
        estimator.fit(*_data(estimator))
    with pytest.raises(NotFittedError):
        estimator.predict(_data(estimator)[0])


@pytest.mark.parametrize("make, param, value", list(_dataset_cases()))
def test_a_dataset_refuses_a_bad_number_naming_it(make, param, value):
    with pytest.raises(InputError, match=rf"^{re.escape(param)}\b"):
        make(**{param: value})


#: Extreme but finite values (and 0, -1, a non-integer) of every numeric setting. Budgets
#: (max_iter, sizes, samples) are not set huge: a huge budget is a long fit, not an error.
EXTREMES = {"tiny": 1e-300, "huge": 1e300, "-huge": -1e300, "zero": 0, "-1": -1, "2**62": 2 ** 62, "1.5": 1.5}
BUDGETS = {"max_iter", "n_predictive_samples", "hidden_size", "n_inducing", "batch_size", "eval_every"}


def _extreme_cases():
    for name, cls in all_families():
        for param in _numeric(cls().get_params()):
            for label, value in EXTREMES.items():
                if param in BUDGETS and label in ("huge", "2**62"):
                    continue
                yield pytest.param(cls, param, value, id=f"{name}-{param}-{label}")


@pytest.mark.parametrize("cls, param, value", list(_extreme_cases()))
def test_an_extreme_setting_fits_or_fails_as_documented(cls, param, value):
    """A hostile value either fits (a finite history), is refused naming the setting, or fails
    as a NumericalError with the step; nothing else escapes, and a failed fit is not fitted."""
    estimator = cls(max_iter=2, random_state=0).set_params(**{param: value})
    X, y = _data(estimator)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gpytorch's jitter warnings at extreme scales
            estimator.fit(X, y, eval_set=(X, y))
    except InputError as err:
        assert str(err).startswith(param), str(err)
    except NumericalError as err:
        assert err.step >= 0 and "failed at step" in str(err)
    else:
        train = estimator.history_[estimator.history_["split"] == "train"]
        assert len(train) and np.isfinite(train["objective"]).all()  # test rows of a GP have no objective
        return
    with pytest.raises(NotFittedError):
        estimator.predict(X)


@pytest.mark.parametrize("values", [True, [True, 2.0], ["1", 2.0], 1 + 2j, [0.1, math.nan], [0.1, -math.inf],
                                    [-0.1, 0.2], "0.1", None])
def test_check_values_refuses_what_is_not_finite_real_numbers_in_range(values):
    from grokbeyond._validation import check_values

    assert check_values([0.1, 2], "lr", min_val=0.0).tolist() == [0.1, 2.0]
    with pytest.raises(InputError, match="^lr must"):
        check_values(values, "lr", min_val=0.0)


def test_check_number_keeps_good_values_and_names_bad_ones():
    assert check_number(3, "n", Integral, min_val=1) == 3
    assert check_number(math.inf, "v", Real, min_val=0.0, allow_inf=True) == math.inf
    with pytest.raises(TypeError, match="n must be an integer, not a boolean"):
        check_number(True, "n", Integral)
    with pytest.raises(ValueError, match="v must be finite"):
        check_number(-math.inf, "v", Real)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, math.nan, True])
def test_an_interval_needs_a_confidence_level_inside_zero_one(level):
    from grokbeyond.grokking import median_ci

    with pytest.raises((ValueError, TypeError), match="confidence_level"):
        median_ci([1.0, 2.0, 3.0], confidence_level=level)


@pytest.mark.parametrize("threshold", [math.nan, math.inf, True])
def test_detection_refuses_a_meaningless_threshold(threshold):
    import pandas as pd

    from grokbeyond.grokking import detect_grokking

    history = pd.DataFrame({"step": [0, 1, 0, 1], "split": ["train", "train", "test", "test"],
                            "accuracy": [0.5, 1.0, 0.5, 1.0]})
    with pytest.raises((ValueError, TypeError), match="threshold"):
        detect_grokking(history, threshold=threshold)


def test_an_infinite_prior_variance_is_no_prior():
    from grokbeyond.models import LinearRegression

    X = np.random.default_rng(0).normal(size=(20, 3))
    model = LinearRegression(prior_variance=math.inf, max_iter=3).fit(X, X[:, 0])
    assert (model.history_["complexity"] == 0).all()


def test_a_metric_that_is_nan_throughout_is_said_not_silently_censored():
    import pandas as pd

    from grokbeyond.exceptions import MetricWarning
    from grokbeyond.grokking import detect_grokking

    history = pd.DataFrame({"step": [0, 1, 0, 1], "split": ["train", "train", "test", "test"],
                            "accuracy": [0.5, 1.0, math.nan, math.nan]})
    with pytest.warns(MetricWarning, match="'accuracy' is NaN at every test step"):
        result = detect_grokking(history)
    assert result.generalisation_censored and result.t_generalise is None


# ---- the analysis functions: every scalar setting given NaN, ±inf or a boolean ------------------------
def _analysis_calls():
    import pandas as pd

    from grokbeyond import grokking, theory

    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    history = pd.DataFrame({"step": [0, 10, 20] * 2, "split": ["train"] * 3 + ["test"] * 3,
                            "accuracy": [0.5, 1.0, 1.0, 0.5, 0.6, 1.0]})
    result = grokking.detect_grokking(history)
    return {
        theory.beck_delay_ratio: dict(ratio=0.3),
        theory.fit_delay_slope: dict(lr=[0.1, 0.2, 0.3, 0.4], weight_decay=[1e-3, 1e-3, 2e-3, 2e-3],
                                     delay=[100, 50, 40, 20], confidence_level=0.95),
        theory.levi_grokking_time: dict(ratio=0.5, lr=0.1),
        theory.limiting_accuracy: dict(margin=0.5, noise_scale=1.0),
        theory.linear_gd_trajectory: dict(X_train=X, teacher=rng.normal(size=(4, 1)), student_init=np.zeros((4, 1)),
                                          lr=0.01, max_iter=10, weight_decay=0.0),
        theory.marchenko_pastur_trajectory: dict(ratio=0.5, lr=0.1, max_iter=10, n_outputs=1),
        theory.norm_delay: dict(norm_sq=4.0, lr=0.1, weight_decay=0.01, kappa=1.0, target=1.0),
        theory.notsawo_delay: dict(lr=0.1, beta=0.01, constant=1.0),
        theory.separability_probability: dict(n_features=5, n_samples=20),
        theory.threshold_accuracy: dict(loss=0.1, epsilon=0.01, n_outputs=1),
        grokking.median_ci: dict(values=[1.0, 2.0, 3.0], confidence_level=0.95, n_resamples=99),
        grokking.detect_grokking: dict(history=history, threshold=0.95, min_delay=10),
        grokking.first_crossing: dict(history=history, split="test", threshold=0.95),
        grokking.fit_exponential_gap: dict(x=[1, 2, 3, 4], gaps=[10.0, 20, 40, 80], confidence_level=0.95),
        grokking.summarise_grokking: dict(results=[result] * 3, confidence_level=0.95, n_resamples=99),
    }


#: Where a value is meaningful: an infinite loss has accuracy 0, a NaN loss (missing) NaN.
ANALYSIS_OK = {("threshold_accuracy", "loss", "nan"), ("threshold_accuracy", "loss", "inf")}


def _analysis_cases():
    for function, kwargs in _analysis_calls().items():
        for param, value in kwargs.items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                continue
            for label, bad in BAD.items():
                if (function.__name__, param, label) not in ANALYSIS_OK:
                    yield pytest.param(function.__name__, param, bad, id=f"{function.__name__}-{param}-{label}")


@pytest.mark.parametrize("name, param, value", list(_analysis_cases()))
def test_an_analysis_function_refuses_a_bad_number_naming_it(name, param, value):
    calls = {function.__name__: (function, kwargs) for function, kwargs in _analysis_calls().items()}
    function, kwargs = calls[name]
    function(**kwargs)  # the valid call runs
    with pytest.raises(InputError, match=rf"^{re.escape(param)}\b"):
        function(**{**kwargs, param: value})
