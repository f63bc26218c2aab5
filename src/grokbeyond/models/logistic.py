"""Logistic regression with weight decay, trained by (stochastic) gradient descent."""

from __future__ import annotations

from numbers import Real

import torch

from .._validation import check_number
from ..exceptions import InputError
from ._prediction import TrajectoryClassifier

__all__ = ["LogisticRegression"]


class LogisticRegression(TrajectoryClassifier):
    """Logistic (softmax) regression with decoupled weight decay, by gradient descent.

    Logits ``z = X W + b``: one logit per sample for two classes
    (``p(y=1) = σ(z)``), one per class with a softmax for more. The trajectory of a
    linear model under weight decay shows grokking where a memorising and a
    generalising solution compete (see
    :func:`~grokbeyond.datasets.make_competing_features`).

    The per-datapoint objective splits into

    - ``data_fit = (1/n) Σᵢ −log p(yᵢ | xᵢ)``, the mean cross-entropy (nats per
      datapoint) on the split;
    - ``complexity = (λ/2) ‖W‖²``, ``λ = weight_decay``, nats per datapoint (the
      intercept is not decayed);
    - ``objective = data_fit + complexity``.

    The optimiser follows the gradient of ``data_fit`` and applies the weight decay
    decoupled from it (Loshchilov & Hutter 2019): ``W ← W − lr·∇data_fit − lr·λ·W``.
    For plain SGD this is exactly gradient descent on ``objective``; for
    ``optimizer="adamw"`` it is AdamW.

    Parameters
    ----------
    weight_decay : float, default=1e-2
        Weight decay λ (``>= 0``).
    lr : float, default=0.1
        Learning rate.
    max_iter : int, default=1000
        Number of optimisation steps (minibatch updates, not epochs).
    batch_size : int or None, default=None
        Minibatch size; ``None`` is full batch, 1 is per-example SGD. Minibatches
        are drawn without replacement within each epoch from the estimator's
        generator.
    optimizer : {"sgd", "adamw"}, default="sgd"
        The optimiser.
    fit_intercept : bool, default=True
        Whether to learn an intercept ``b``.
    init_scale : float, default=0.0
        Initial weights are ``N(0, init_scale² / n_features)``; 0 starts at zero.
    eval_every : int, "log" or list of them, default=1
        Evaluation schedule; see :func:`~grokbeyond.models.evaluation_steps`.
    device : str or torch.device, default="cpu"
        Torch device of the fit (``"cuda"``, ...; untested); see ``TrajectoryEstimator``.
    warm_start : bool, default=False
        Continue the last fit for another ``max_iter`` steps; see ``TrajectoryEstimator``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the initial weights and of the minibatch order.
    verbose : bool, default=False
        Show a tqdm progress bar.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (n_features,) for two classes, else (n_features, n_classes)
    intercept_ : float for two classes, else ndarray of shape (n_classes,)
    history_ : pandas.DataFrame
        The trajectory, with the further column ``weight_norm`` (‖W‖).
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        From ``fit``, for one class, NaN or infinite inputs, or invalid parameters.
    NumericalError
        From ``fit``, if the objective becomes non-finite (e.g. a learning rate too
        large), naming the step.

    Examples
    --------
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> from grokbeyond.models import LogisticRegression
    >>> data = make_sparse_parity(n_bits=10, k=1, n_train=200, n_test=100, random_state=0)
    >>> model = LogisticRegression(max_iter=500, eval_every=50, random_state=0)
    >>> model = model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    >>> round(model.score(data.X_test, data.y_test), 2), model.history_.shape
    (1.0, (22, 9))
    """

    def __init__(
        self,
        *,
        weight_decay=1e-2,
        lr=0.1,
        max_iter=1000,
        batch_size=None,
        optimizer="sgd",
        fit_intercept=True,
        init_scale=0.0,
        eval_every=1,
        device="cpu",
        warm_start=False,
        random_state=None,
        verbose=False,
    ):
        self.weight_decay = weight_decay
        self.lr = lr
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.fit_intercept = fit_intercept
        self.init_scale = init_scale
        self.eval_every = eval_every
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    _replicate_params = ("init_scale",)

    def _check_params(self):
        check_number(self.weight_decay, "weight_decay", Real, min_val=0.0)
        check_number(self.lr, "lr", Real, min_val=0.0, include_boundaries="neither")
        check_number(self.init_scale, "init_scale", Real, min_val=0.0)
        if self.optimizer not in ("sgd", "adamw"):
            raise InputError(f"optimizer must be 'sgd' or 'adamw'; got {self.optimizer!r}.")

    def _build(self, X, y, generator):
        n_replicates, _, n_features = X.shape
        n_outputs = 1 if len(self.classes_) == 2 else len(self.classes_)
        scale = self.init_scale / n_features**0.5
        weights = scale * torch.randn(n_replicates, n_features, n_outputs, generator=generator, dtype=X.dtype,
                                      device=X.device)
        self.weights_ = weights.requires_grad_()
        self.bias_ = torch.zeros(n_replicates, 1, n_outputs, dtype=X.dtype, device=X.device,
                                 requires_grad=self.fit_intercept)

    def _make_optimizer(self):
        groups = [{"params": [self.weights_], "weight_decay": self.weight_decay}]
        if self.fit_intercept:
            groups.append({"params": [self.bias_], "weight_decay": 0.0})
        optimizer = torch.optim.SGD if self.optimizer == "sgd" else torch.optim.AdamW
        return optimizer(groups, lr=self.lr)

    def _log_proba(self, X):
        logits = X @ self.weights_ + self.bias_
        if logits.shape[-1] == 1:
            logits = torch.cat([torch.zeros_like(logits), logits], dim=-1)
        return torch.log_softmax(logits, dim=-1)

    def _terms(self, X, y, *, train):
        complexity = 0.5 * self.weight_decay * self.weights_.square().sum((-2, -1))
        return self._cross_entropy_terms(self._log_proba(X), y, complexity)

    def _gradient_objective(self, terms):
        # Weight decay is applied by the optimiser, decoupled from the gradient.
        return terms["data_fit"]

    def _objective(self, X, y):
        logits = X @ self.weights_ + self.bias_
        if logits.shape[-1] == 1:  # two classes: −log σ(±z) directly, a third cheaper than the softmax
            return torch.nn.functional.binary_cross_entropy_with_logits(
                logits[..., 0], y.to(logits.dtype), reduction="none").mean(-1)
        return -torch.log_softmax(logits, dim=-1).gather(-1, y[..., None]).squeeze(-1).mean(-1)

    def _parameters(self):
        return {"weights": self.weights_, "bias": self.bias_}

    def _load_parameters(self, params):
        self.weights_, self.bias_ = params["weights"], params["bias"]

    def _model_quantities(self):
        return {"weight_norm": self.weights_.square().sum((-2, -1)).sqrt()}

    def _predict_proba(self, X):
        return self._log_proba(X).exp()

    @property
    def coef_(self):
        """Fitted weights: shape (n_features,) for two classes, else (n_features, n_classes)."""
        weights = self.weights_.detach()[0].cpu().numpy().copy()
        return weights[:, 0] if weights.shape[1] == 1 else weights

    @property
    def intercept_(self):
        """Fitted intercept: float for two classes, else ndarray of shape (n_classes,)."""
        bias = self.bias_.detach()[0, 0].cpu().numpy().copy()
        return float(bias[0]) if bias.shape[0] == 1 else bias
