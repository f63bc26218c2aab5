"""scikit-learn's estimator contract, executed on every grokbeyond estimator at its defaults."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from grokbeyond.models import (
    BayesianMLP,
    GPClassifier,
    GPRegressor,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    RFMClassifier,
)
from grokbeyond.registry import all_families

# The RFM's default ridge 0 interpolates: on the checks' tight blobs its kernel matrix is
# numerically singular and linear_operator adds jitter, warning (as documented; test_rfm.py
# checks that path).
pytestmark = pytest.mark.filterwarnings("ignore::linear_operator.utils.warnings.NumericalWarning")

# Every family at its default constructor settings; only the step budget is cut where the
# checks' hundreds of fits demand it (and eval_every with it, so a fit records two rows).
ESTIMATORS = [
    GPClassifier(max_iter=20, eval_every=20, random_state=0),
    GPRegressor(max_iter=10, eval_every=10, random_state=0),
    LinearRegression(max_iter=100, eval_every=100, random_state=0),
    LogisticRegression(max_iter=300, eval_every=300, random_state=0),
    MLPClassifier(max_iter=200, eval_every=200, random_state=0),
    BayesianMLP(max_iter=100, eval_every=100, random_state=0),
    RFMClassifier(random_state=0),
    # LinearRegression again at a step that is stable on the checks' data (inputs centred at
    # 100 need lr < ~5e-5), so that the checks its defaults cannot run are run at all.
    LinearRegression(max_iter=300, lr=2e-5, noise_variance=1.0, prior_variance=100.0, fit_intercept=True,
                     eval_every=300, random_state=0),
]

_INVARIANCE = ("check_methods_sample_order_invariance", "check_methods_subset_invariance")
_LINEAR_DIVERGES = (
    "the default step is gradient descent's stable step for the paper's data only: lr = 1e-3 on the "
    "objective scaled by 1/noise_variance (500) is stable while λmax(XᵀX/n) < 2, and the checks' "
    "data have λmax from 2.0 to 2·10⁴ (measured 2026-11-22: every check on data with λmax ≥ 2.005 "
    "failed, every one with λmax ≤ 1.76 passed). Such a fit ends as a runaway NumericalError, as "
    "documented; the second LinearRegression runs these checks at a stable step."
)
# Checks an estimator cannot pass, with the measured cause (2026-11-22, scikit-learn 1.9).
EXPECTED_FAILED_CHECKS: dict[tuple[str, bool], dict[str, str]] = {
    ("GPClassifier", True): {
        "check_classifiers_train": (
            "a step budget: after 20 steps the posterior sd at the training points (0.71) dwarfs the spread "
            "of its means (0.15) on the 3-class blobs, and predict averages 16 posterior draws, so accuracy "
            "is 0.61-0.94 over draw seeds (the exact predictive: 0.94); 0.66 < 0.83 here. It passes from "
            "125 steps (0.90; 0.93 at 150-300), which costs 53 s of checks."
        ),
        **dict.fromkeys(_INVARIANCE, (
            "float32: predict_proba of a row differs by 1.2-1.9e-5 between the whole batch and the row alone "
            "or permuted (the batch's Cholesky and triangular solves round differently; 1.2-1.6e-7 in "
            "float64), against the checks' 1e-7; test_gp_classifier.py tests it to 1e-4."
        )),
    },
    ("MLPClassifier", True): {
        "check_methods_subset_invariance": (
            "float32: predict_proba of one row differs from the whole batch's by 2.4e-7 (rounding in the "
            "1000-wide hidden layer's matmul depends on the batch), against the check's 1e-7."
        ),
    },
    ("BayesianMLP", True): dict.fromkeys(_INVARIANCE, (
        "float32: the mean over weight draws differs by 1.2-1.8e-7 (one or two float32 roundings) between a "
        "batch and its rows or a permutation, against 1e-9 (order) and ~1.1e-7 (subset, so it passes or not "
        "with the seed); in float64 the difference is ~1e-16."
    )),
    ("LinearRegression", True): dict.fromkeys((
        "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
        "check_estimators_dtypes", "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
        "check_f_contiguous_array_estimator", "check_fit2d_1feature", "check_fit2d_1sample",
        "check_fit2d_predict1d", "check_fit_check_is_fitted", "check_fit_idempotent",
        "check_methods_sample_order_invariance", "check_methods_subset_invariance", "check_n_features_in",
        "check_n_features_in_after_fitting", "check_non_transformer_estimators_n_iter",
        "check_positive_only_tag_during_fit", "check_readonly_memmap_input", "check_regressor_multioutput",
        "check_regressors_no_decision_function",
    ), _LINEAR_DIVERGES),
    ("LinearRegression", False): {
        "check_regressors_train": (
            "gradient descent with a fixed step budget: the step that keeps other checks' inputs (centred at "
            "100) from diverging is too small to reach R² > 0.5 on this check's data in 300 steps; "
            "test_linear.py checks the fit on the paper's data."
        ),
    },
}


def _at_defaults(estimator) -> bool:
    tuned = {"max_iter", "eval_every", "random_state"}
    defaults = type(estimator)().get_params()
    return all(value == defaults[name] for name, value in estimator.get_params().items() if name not in tuned)


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get((type(estimator).__name__, _at_defaults(estimator)), {})


def test_every_registered_family_is_checked_at_its_defaults():
    checked = {type(e) for e in ESTIMATORS if _at_defaults(e)}
    assert checked == {cls for _, cls in all_families()}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
