"""scikit-learn's estimator contract, executed on every grokbeyond estimator."""

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

# Small budgets: the checks fit hundreds of times. Learning rates are raised so that a
# few dozen steps fit scikit-learn's easy test problems. The GP and the BayesianMLP run in
# float64 here: in float32 their predictions for a sample differ by ~1e-5 (GP) and ~1e-7
# (the BNN's mean over weight draws) with the batch they are computed in, beyond the
# checks' 1e-7 tolerance (the GP's tested separately, to 1e-4, in test_gp_classifier.py).
ESTIMATORS = [
    # Whitened: the checks' tight 3-class blobs make K(Z, Z) nearly singular, and the
    # unwhitened parameterisation (the paper's, tested in test_gp_classifier.py) then
    # learns too slowly for check_classifiers_train's 0.83 in a small step budget. 40
    # learned inducing points keep the checks' hundreds of fits fast.
    GPClassifier(max_iter=20, lr=0.1, dtype="float64", variational_strategy="whitened", n_inducing=40,
                 eval_every=20, random_state=0),
    LogisticRegression(max_iter=100, lr=0.5, weight_decay=1e-4, eval_every=100, random_state=0),
    GPRegressor(max_iter=30, lr=0.1, eval_every=30, random_state=0),
    MLPClassifier(hidden_size=16, max_iter=200, lr=0.1, weight_decay=1e-4, batch_size=None, eval_every=200,
                  random_state=0),
    BayesianMLP(hidden_size=16, max_iter=60, lr=0.3, batch_size=None, init_scale=0.3, n_predictive_samples=4,
                dtype="float64", eval_every=60, random_state=0),
    # Some checks use inputs centred at 100: gradient descent needs lr < ~5e-5 there.
    LinearRegression(max_iter=300, lr=2e-5, noise_variance=1.0, prior_variance=100.0, fit_intercept=True,
                     eval_every=300, random_state=0),
    # A small ridge: the checks' tight blobs make the interpolating (ridge 0) kernel matrix
    # numerically singular, where linear_operator adds jitter with a NumericalWarning
    # (test_rfm.py checks that path).
    RFMClassifier(max_iter=3, ridge=1e-3, eval_every=3, random_state=0),
]

# Checks an estimator cannot pass, with the reason.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {
    "LinearRegression": {
        name: (
            "gradient descent with a fixed step budget: the step size that keeps other checks' "
            "inputs (centred at 100) from diverging is too small to reach R² > 0.5 on this "
            "check's data in the budget; test_linear.py checks the fit on the paper's data."
        )
        for name in ("check_regressors_train",)
    },
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_contract(estimator, check):
    check(estimator)
