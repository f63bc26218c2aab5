"""One-hidden-layer ReLU network (torch), the neural baseline of the grokking literature."""

from __future__ import annotations

from numbers import Integral, Real

import torch

from .._validation import check_number
from ._prediction import TrajectoryClassifier

__all__ = ["MLPClassifier"]


def _xavier(n_replicates, fan_in, fan_out, generator, dtype):
    bound = (6.0 / (fan_in + fan_out)) ** 0.5
    return (2 * torch.rand(n_replicates, fan_in, fan_out, generator=generator, dtype=dtype, device=generator.device) - 1) * bound


def _spectral_norm(W):
    """Largest singular value of each (a, b) matrix in W, shape (R,): the square root of
    the largest eigenvalue of the smaller Gram matrix (min(a, b)², not an SVD of a × b)."""
    gram = W @ W.transpose(-2, -1) if W.shape[-2] <= W.shape[-1] else W.transpose(-2, -1) @ W
    return torch.linalg.eigvalsh(gram)[..., -1].clamp_min(0.0).sqrt()


class MLPClassifier(TrajectoryClassifier):
    """One-hidden-layer ReLU classifier trained by minibatch SGD with weight decay.

    ``logits = relu(X W₁ + b₁) W₂`` (no output bias), softmax over the classes,
    Xavier-uniform initial weights scaled by ``init_scale`` and zero hidden biases — the
    network of Miller, O'Neill & Bui (2023, sec. 4.2, experiment E8). Minibatches are
    drawn without replacement per epoch from in-memory tensors (no DataLoader workers).

    The per-datapoint objective splits into

    - ``data_fit`` = mean cross-entropy on the split (nats per datapoint);
    - ``complexity = (λ/2) ‖θ‖²`` over all parameters θ, λ = ``weight_decay``
      (nats per datapoint);
    - ``objective = data_fit + complexity``.

    SGD follows the gradient of ``objective``: that of ``data_fit`` by autograd, plus
    λθ, the complexity term's, by torch's SGD with (coupled) ``weight_decay=λ``. Each
    layer's spectral norm is recorded, the quantity Miller et al.'s plots call
    "weight norm".

    Parameters
    ----------
    hidden_size : int, default=1000
        Width of the hidden layer.
    lr : float, default=0.1
        SGD learning rate.
    weight_decay : float, default=1e-2
        λ.
    batch_size : int or None, default=32
        Minibatch size; ``None`` is full batch.
    max_iter : int, default=10000
        Number of SGD steps (minibatch updates, not epochs).
    init_scale : float, default=1.0
        Factor on the Xavier-uniform initial weights.
    eval_every : int, "log" or list of them, default=1
    device : str or torch.device, default="cpu"
        Torch device of the fit (``"cuda"``, ...; untested); see ``TrajectoryEstimator``.
    warm_start : bool, default=False
        Continue the last fit for another ``max_iter`` steps; see ``TrajectoryEstimator``.
    random_state : None, int, numpy Generator or RandomState, default=None
        Seed of the initial weights and of the minibatch order.
    verbose : bool, default=False

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    history_ : pandas.DataFrame
        The trajectory, with the further columns ``weight_norm`` (‖θ‖) and
        ``spectral_norm_0``, ``spectral_norm_1`` (largest singular value of W₁, W₂).
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        From ``fit``, for one class, NaN inputs, or invalid parameters.
    NumericalError
        From ``fit``, if the objective becomes non-finite, naming the step.

    Examples
    --------
    >>> from grokbeyond.datasets import make_sparse_parity
    >>> from grokbeyond.models import MLPClassifier
    >>> data = make_sparse_parity(n_bits=10, k=1, n_train=200, n_test=100, random_state=0)
    >>> model = MLPClassifier(hidden_size=64, max_iter=200, eval_every=50, random_state=0)
    >>> model = model.fit(data.X_train, data.y_train, eval_set=(data.X_test, data.y_test))
    >>> [round(a, 2) for a in model.history_.query("split == 'test'")["accuracy"].tolist()]  # float32
    [0.53, 1.0, 1.0, 1.0, 1.0]
    """

    def __init__(
        self,
        *,
        hidden_size=1000,
        lr=0.1,
        weight_decay=1e-2,
        batch_size=32,
        max_iter=10000,
        init_scale=1.0,
        eval_every=1,
        device="cpu",
        warm_start=False,
        random_state=None,
        verbose=False,
    ):
        self.hidden_size = hidden_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.init_scale = init_scale
        self.eval_every = eval_every
        self.warm_start = warm_start
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    dtype = "float32"  # not a parameter: the paper's networks train in single precision
    _replicate_params = ("init_scale",)

    def _check_params(self):
        check_number(self.hidden_size, "hidden_size", Integral, min_val=1)
        check_number(self.lr, "lr", Real, min_val=0.0, include_boundaries="neither")
        check_number(self.weight_decay, "weight_decay", Real, min_val=0.0)
        check_number(self.init_scale, "init_scale", Real, min_val=0.0)

    def _build(self, X, y, generator):
        n_replicates, _, n_features = X.shape
        n_classes = len(self.classes_)
        self.params_ = [
            (self.init_scale * _xavier(n_replicates, n_features, self.hidden_size, generator, X.dtype)).requires_grad_(),
            torch.zeros(n_replicates, 1, self.hidden_size, dtype=X.dtype, device=X.device, requires_grad=True),
            (self.init_scale * _xavier(n_replicates, self.hidden_size, n_classes, generator, X.dtype)).requires_grad_(),
        ]

    def _make_optimizer(self):
        # The complexity term's gradient, λθ, is applied by SGD's (coupled) weight decay.
        return torch.optim.SGD(self.params_, lr=self.lr, weight_decay=self.weight_decay)

    def _log_proba(self, X):
        W1, b1, W2 = self.params_
        return torch.log_softmax(torch.relu(torch.baddbmm(b1, X, W1)) @ W2, dim=-1)

    def _squared_norm(self):
        return sum(p.square().sum((-2, -1)) for p in self.params_)

    def _terms(self, X, y, *, train):
        return self._cross_entropy_terms(self._log_proba(X), y, 0.5 * self.weight_decay * self._squared_norm())

    def _gradient_objective(self, terms):
        return terms["data_fit"]

    def _objective(self, X, y):
        return -self._log_proba(X).gather(-1, y[..., None]).squeeze(-1).mean(-1)

    def _parameters(self):
        return dict(zip(("W1", "b1", "W2"), self.params_))

    def _load_parameters(self, params):
        self.params_ = [params["W1"], params["b1"], params["W2"]]

    def _model_quantities(self):
        W1, _, W2 = self.params_
        spectral = torch.stack([_spectral_norm(W1), _spectral_norm(W2)], dim=-1)
        return {"weight_norm": self._squared_norm().sqrt(), "spectral_norm": spectral}

    def _predict_proba(self, X):
        return self._log_proba(X).exp()
