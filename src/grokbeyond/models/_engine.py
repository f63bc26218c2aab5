"""The training loop of every family, for one estimator or a batch of replicates.

One loop trains R *replicates* (runs of one family that share tensor shapes) as one
batched model: every tensor carries a leading replicate axis, every term has shape
(R,), and the loop minimises the sum of the replicates' objectives. Replicates have
disjoint parameters, so each one's gradient, and its trajectory under an element-wise
optimiser (SGD, Adam), is the one it would have alone. Each replicate is built by its
own estimator from its own data and its own ``torch.Generator``, and draws its
minibatch order (and a stochastic family's noise) from that generator during
training, so a run's result does not depend on which batch it ran in.
``TrajectoryEstimator.fit`` is the case R = 1; :func:`fit_replicates` is the
notebook entry and :func:`fit_batched` the harness's.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone
from sklearn.utils import Bunch

from .._progress import progress_bar
from .._random import torch_generator
from ..exceptions import InputError, NumericalError
from ._warm import replicate_state, warm_start, warm_state

__all__ = ["HISTORY_COLUMNS", "NumericalError", "fit_batched", "fit_replicates"]

HISTORY_COLUMNS = ("step", "split", "objective", "data_fit", "complexity", "loss", "error")
"""Columns every ``history_`` has; classifiers add ``accuracy``, families add their own."""

#: A recorded objective past RUNAWAY × (1 + |its first recorded value|) fails the fit of a family
#: that minimises it (``_runaway_check``): gradient descent that diverges (too large a step) is
#: reported, not recorded up to an overflow. The RFM does not minimise its objective (its RKHS
#: norm can jump by 10¹² for one iteration and come back) and is not checked.
RUNAWAY = 1e10


# ---- the optimiser step ------------------------------------------------------------
def _update_function(optimizer: torch.optim.Optimizer):
    """The optimiser's update as a plain function.

    Plain SGD (no momentum, dampening, Nesterov or maximisation) is applied here by the
    very tensor operations of torch's single-tensor SGD (``g + λθ``, then ``θ −= lr·g``),
    so the trajectory is bit-identical, without ``Optimizer.step``'s per-call Python
    overhead (hooks, profiler ranges: ≈ 25 µs, the cost of a whole step of a small
    model); the caller runs it under ``torch.no_grad()``. Any other optimiser is
    stepped as it is.
    """
    if type(optimizer) is not torch.optim.SGD or any(
        group["momentum"] or group["nesterov"] or group["maximize"] or group["dampening"]
        or torch.is_tensor(group["lr"]) for group in optimizer.param_groups
    ):
        return optimizer.step  # steps under no_grad itself
    groups = [(list(group["params"]), float(group["lr"]), float(group["weight_decay"]))
              for group in optimizer.param_groups]

    def step():
        for params, lr, weight_decay in groups:
            for param in params:
                grad = param.grad
                if grad is None:
                    continue
                if weight_decay:
                    grad = grad.add(param, alpha=weight_decay)
                param.add_(grad, alpha=-lr)

    return step


# ---- minibatches -------------------------------------------------------------------
class _Minibatches:
    """Index tensors of shape (R, batch) (an epoch-wise shuffle per replicate, each from
    its own generator), or None for full batch; ``state`` is the current epoch's order
    and position, so that a continued fit (``warm_start``) goes on mid-epoch."""

    def __init__(self, n: int, batch_size, generators, state=None):
        self.n, self.generators = n, generators
        self.batch_size = None if batch_size is None or batch_size >= n else batch_size
        self.order, self.position = state if state is not None else (None, n)

    def __next__(self):
        if self.batch_size is None:
            return None
        if self.position >= self.n:
            self.order = torch.stack([torch.randperm(self.n, generator=g, device=g.device) for g in self.generators])
            self.position = 0
        index = self.order[:, self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return index

    @property
    def state(self):
        return self.order, self.position


def _take(X, index, rows):
    """Per-replicate rows ``X[r, index[r]]``, shape (R, batch, ...)."""
    return X[rows, index]


# ---- recording -----------------------------------------------------------------------
class _Recorder:
    """Collects the recorded terms as arrays, one record per evaluated (step, split)."""

    def __init__(self, n_replicates: int):
        self.records: list[tuple[int, str, dict[str, np.ndarray]]] = []
        self.failed_at = np.full(n_replicates, -1)  # the step a replicate failed at (-1: never)
        self.bound = None  # the runaway bound of each replicate's objective, set at its first record

    def add(self, step, split, terms):
        # Copies: a quantity may be a live parameter (linear weights), updated in place later.
        values = {name: value.detach().cpu().numpy().copy() for name, value in terms.items()}
        self.records.append((step, split, values))

    def postfix(self) -> dict[str, str]:
        """The last evaluation's accuracy (or error) per split, of replicate 0."""
        last = self.records[-2:] if len(self.records) > 1 and self.records[-1][0] == self.records[-2][0] else self.records[-1:]
        key = "accuracy" if "accuracy" in last[-1][2] else "error"
        return {f"{split}_{key}": f"{values[key][0]:.3f}" for _, split, values in last}

    def frame(self, replicate: int, first: int = 0) -> pd.DataFrame:
        """The history of one replicate, up to its failure: one column per recorded name
        (``name_i`` for a per-dimension quantity), stacked across records at once (the
        records from ``first`` on)."""
        kept = [record for record in self.records[first:]
                if not 0 <= self.failed_at[replicate] <= record[0]]
        if not kept:
            return pd.DataFrame(columns=list(HISTORY_COLUMNS))
        names = list(dict.fromkeys(name for _, _, values in kept for name in values))
        data = {"step": np.array([step for step, _, _ in kept], dtype=np.int64),
                "split": [split for _, split, _ in kept]}
        for name in names:
            shape = next(values[name].shape[1:] for _, _, values in kept if name in values)
            missing = np.full(shape, np.nan)
            column = np.stack([values[name][replicate] if name in values else missing for _, _, values in kept])
            if column.ndim == 1:
                data[name] = column
            else:
                data.update({f"{name}_{i}": column[:, i] for i in range(column.shape[1])})
        frame = pd.DataFrame(data)
        front = [c for c in (*HISTORY_COLUMNS, "accuracy") if c in frame]
        frame = frame[front + [c for c in frame.columns if c not in front]]
        frame["split"] = frame["split"].astype("category")
        return frame


def _evaluated(engine, terms, X, y, *, train):
    """Detached terms: those of the training pass when given, else a fresh evaluation."""
    with torch.no_grad():
        if terms is None:
            terms = engine._evaluation_terms(X, y, train=train)
        return {name: value.detach() for name, value in terms.items()}


def _record(engine, recorder, step, train_terms, X, y, test) -> bool:
    """Record the step's train (and test) rows; return whether any replicate is left.

    A replicate whose train objective is not finite, or has run away past
    ``RUNAWAY × (1 + |its first recorded value|)``, fails at this step: its rows from
    here on are dropped, and (in a batch) its parameters are zeroed at every evaluation
    so that the model quantities of the others (a spectral norm, say) can still be
    computed.
    """
    train_terms = _evaluated(engine, train_terms, X, y, train=True)
    objective = train_terms["objective"].cpu().numpy().astype(np.float64)
    if recorder.bound is None:
        recorder.bound = RUNAWAY * (1.0 + np.abs(objective)) if engine._runaway_check else np.full_like(objective, np.inf)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(objective) & (objective <= recorder.bound)) & (recorder.failed_at < 0)
    recorder.failed_at[bad] = step
    if (recorder.failed_at >= 0).all():
        return False
    failed = recorder.failed_at >= 0
    if failed.any():  # at every evaluation: a failed replicate's updates stay non-finite
        with torch.no_grad():
            for tensor in engine._parameters().values():
                tensor[torch.from_numpy(failed).to(tensor.device)] = 0.0
    with torch.no_grad():
        quantities = engine._model_quantities()
    recorder.add(step, "train", {**train_terms, **quantities})
    if test is not None:
        test_terms = _evaluated(engine, None, *test, train=False)
        test_terms.update({name: train_terms[name] for name in engine._model_terms})
        test_terms["objective"] = test_terms["data_fit"] + test_terms["complexity"] + engine._objective_constant
        recorder.add(step, "test", {**test_terms, **quantities})
    return True


# ---- the loop ------------------------------------------------------------------------
def _train(engine, X, y, test, generators, recorder, progress, callbacks=(), warm=None):
    """Train ``engine`` with each replicate's (training, evaluation) generator pairs
    set on it for the family to draw from; see :func:`_steps`."""
    engine._replicate_generators = [pair[0] for pair in generators]
    engine._evaluation_generators = [pair[1] for pair in generators]
    try:
        return _steps(engine, X, y, test, engine._replicate_generators, recorder, progress, callbacks, warm)
    finally:
        del engine._replicate_generators, engine._evaluation_generators


def _call_back(engine, recorder, first, callbacks) -> bool:
    """Call each callback with the step's new rows (records ``first`` on, of the one
    replicate); keep the columns they add; return whether one asked to stop."""
    rows = recorder.frame(0, first)
    known = set(rows.columns)
    stop = False
    for callback in callbacks:
        stop = bool(callback(engine, rows)) or stop
    added = [name for name in rows.columns if name not in known]
    for (_, _, values), (_, row) in zip(recorder.records[first:], rows.iterrows()):
        for name in added:
            values[name] = np.array([row[name]], dtype=np.float64)
    return stop


def _steps(engine, X, y, test, generators, recorder, progress, callbacks=(), warm=None):
    """Run ``engine.max_iter`` steps on (R, n, d) data, recording into ``recorder``.

    A replicate whose recorded objective is not finite is marked failed at that step
    (its later rows are dropped) and the others go on; independent parameters keep
    its NaNs out of them. An ``ArithmeticError`` (an overflow or a division by zero in
    Python floats) or an exception of ``engine._numerical_errors`` fails every
    replicate at the current step. After each recorded step the ``callbacks`` (of a
    single fit) see its rows and may stop the loop there. ``warm`` (a previous fit's
    ``_warm_state``) continues that fit: from its step, optimiser state and minibatch
    position, recording from the next evaluation on. Returns ``(step, error, state)``:
    the last step, the numerical error or None, and the state to continue from.
    """
    from ._base import evaluation_steps  # noqa: PLC0415 - the base imports this module

    start = 0 if warm is None else warm["step"]
    end = start + int(engine.max_iter)
    record_at = (start + evaluation_steps(int(engine.max_iter), engine.eval_every)).tolist()
    if warm is not None:  # the previous fit recorded its last step
        record_at = record_at[1:] or [-1]
        recorder.bound = warm["bound"]
    n_replicates, n_train = X.shape[:2]
    rows = torch.arange(n_replicates, device=X.device)[:, None]
    batches = _Minibatches(n_train, engine.batch_size, generators, None if warm is None else warm["batches"])
    step = start
    optimizer = engine._make_optimizer()
    if warm is not None:
        optimizer.load_state_dict(warm["optimizer"])
    update = _update_function(optimizer)
    params = [p for group in optimizer.param_groups for p in group["params"]]
    closed_form = engine._closed_form_gradients
    record_pass = engine._record_training_pass
    next_record, position, last = record_at[0], 0, start
    # Closed-form families never build a graph: their whole loop runs without autograd.
    grad_mode = torch.no_grad() if closed_form else contextlib.nullcontext()
    try:
        with grad_mode:
            for step in range(start, end + 1):
                record = step == next_record
                train_terms = None
                if record and callbacks:  # a stop here leaves the step's draws undrawn, for a continuation
                    drawn = (batches.state, [g.get_state() for g in generators])
                if step < end:
                    index = next(batches)
                    Xb, yb = (X, y) if index is None else (_take(X, index, rows), _take(y, index, rows))
                    if closed_form:
                        engine._set_gradients(Xb, yb)
                    else:
                        for param in params:
                            param.grad = None
                        if record and index is None and record_pass:
                            train_terms = engine._terms(Xb, yb, train=True)
                            objective = engine._gradient_objective(train_terms)
                        else:
                            objective = engine._objective(Xb, yb)
                        objective.sum().backward()
                if record:
                    first = len(recorder.records)
                    if not _record(engine, recorder, step, train_terms, X, y, test):
                        break
                    if callbacks and _call_back(engine, recorder, first, callbacks):
                        batches.order, batches.position = drawn[0]
                        for generator, saved in zip(generators, drawn[1]):
                            generator.set_state(saved)
                        break
                    position += 1
                    next_record = record_at[position] if position < len(record_at) else -1
                    if progress is not None:
                        progress.set_postfix(recorder.postfix(), refresh=False)
                        progress.update(step - last)
                        last = step
                if step < end:
                    if closed_form:
                        update()
                    else:
                        with torch.no_grad():
                            update()
    except (ArithmeticError, *engine._numerical_errors) as err:
        recorder.failed_at[recorder.failed_at < 0] = step
        return step, err, None
    state = {"step": step, "bound": recorder.bound, "batches": batches.state, "optimizer": optimizer.state_dict()}
    return step, None, state


def _failure(engine, step, err):
    name = type(engine).__name__
    if err is None:
        hint = "; a smaller learning rate may help" if "lr" in engine.get_params() else ""
        return (f"{name}.fit failed at step {step}: the objective is not finite or ran away (past {RUNAWAY:.0e} × "
                f"(1 + |its first recorded value|)){hint}")
    return f"{name}.fit failed at step {step}: {type(err).__name__}: {err}"


def fit_members(members, data, callbacks=()) -> list[NumericalError | None]:
    """Fit ``members`` (validated estimators of one family) on ``data`` as one batch.

    ``data`` holds one ``(X, y, test)`` per member: tensors of shape (1, n, d), (1, n)
    and a test pair or None, validated by the member; ``callbacks`` watch a single
    member's fit (see :mod:`grokbeyond.models._callbacks`). Returns one entry per
    member: None (the member is fitted) or the :class:`NumericalError` of its failure.
    """
    if callbacks and len(members) != 1:
        raise InputError("callbacks watch a single fit; fit the estimators one by one.")
    lead = members[0]
    n_replicates = len(members)
    # Per replicate: the training stream (build, minibatch order, gradient noise) and
    # the evaluation stream (recorded rows' noise), so recording never moves training.
    generators = [(torch_generator(member.random_state, device=member._torch_device),
                   torch_generator(member.random_state, "evaluate", device=member._torch_device)) for member in members]
    warm, previous = warm_start(members, data, generators)
    for member in members:  # while fitting, no history_ of an earlier fit (fit and fit_batched restore it on failure)
        for name in ("history_", "n_iter_", "_warm_state"):
            member.__dict__.pop(name, None)
    with lead._fit_context():
        for member, (X, y, _), (generator, _) in zip(members, data, generators):
            member.n_train_ = X.shape[1]
            if warm is not None:
                member._continue()
                continue
            try:
                member._build(X, y, generator)
            except (ArithmeticError, *member._numerical_errors) as err:  # e.g. a Cholesky of the initial q(u)
                raise NumericalError(_failure(member, 0, err), step=0, history=_Recorder(1).frame(0)) from err
        if n_replicates == 1:
            engine = lead
        else:
            engine = clone(lead)
            for name in ("classes_", "n_features_in_", "feature_names_in_", "n_train_"):
                if hasattr(lead, name):
                    setattr(engine, name, getattr(lead, name))
            states = [member._parameters() for member in members]
            engine._load_parameters({
                name: torch.cat([state[name].detach() for state in states]).requires_grad_(tensor.requires_grad)
                for name, tensor in states[0].items()
            })
        X = torch.cat([X for X, _, _ in data])
        y = torch.cat([y for _, y, _ in data])
        tests = [test for _, _, test in data]
        test = None if tests[0] is None else (torch.cat([t[0] for t in tests]), torch.cat([t[1] for t in tests]))
        recorder = _Recorder(n_replicates)
        progress = progress_bar(total=int(lead.max_iter), desc=type(lead).__name__) if lead.verbose else None
        step, err, state = _train(engine, X, y, test, generators, recorder, progress, callbacks, warm)
        if progress is not None:
            progress.close()
    if engine is not lead:
        for r, member in enumerate(members):
            member._load_parameters({
                name: tensor.detach()[r : r + 1].clone().requires_grad_(tensor.requires_grad)
                for name, tensor in engine._parameters().items()
            })
    outcomes = []
    for r, member in enumerate(members):
        history = recorder.frame(r)
        if previous is not None:
            history = pd.concat([previous[r], history], ignore_index=True).astype({"split": "category"})
        if recorder.failed_at[r] >= 0:
            outcomes.append(NumericalError(_failure(member, int(recorder.failed_at[r]), err),
                                           step=int(recorder.failed_at[r]), history=history))
        else:
            member.history_ = member._complete_history(history)
            member.n_iter_ = int(step)  # max_iter, or the step a callback stopped at
            if member.warm_start:
                member._warm_state = warm_state(member, replicate_state(state, r, n_replicates), generators[r],
                                                data[r])
            outcomes.append(None)
    return outcomes


def fit_batched(estimators, datasets) -> list[NumericalError | None]:
    """Fit several estimators of one family as one batched model, in place.

    Each estimator is one replicate: its own ``random_state``, its own data, and its
    own values of the family's replicate parameters (``_replicate_params``, e.g.
    ``init_scale``); every other parameter, and every data shape, must agree. A family
    that cannot batch (``_batchable`` is False) fits its estimators one after another.

    Parameters
    ----------
    estimators : sequence of TrajectoryEstimator
        Unfitted or fitted estimators of one class; refitted in place.
    datasets : sequence of tuple
        One ``(X, y)`` or ``(X, y, eval_set)`` per estimator, as ``fit`` takes them.

    Returns
    -------
    list of NumericalError or None
        Per estimator: None if it is fitted, else the error of its numerical failure
        (with the rows recorded before it); one failure leaves the others fitted.

    Raises
    ------
    ValueError
        If the estimators are of different classes, differ in a parameter that is not
        a replicate parameter, or their data differ in shape or classes; or on any
        invalid input, as ``fit`` raises it.
    """
    estimators = list(estimators)
    if len(estimators) != len(datasets) or not estimators:
        raise InputError(f"fit_batched needs one dataset per estimator; got {len(estimators)} "
                         f"estimators and {len(datasets)} datasets.")
    lead = estimators[0]
    _check_compatible(estimators)
    from ._base import _snapshot  # noqa: PLC0415 - the base imports this module

    before = [_snapshot(member) for member in estimators]  # a failed fit leaves its estimator as it was
    try:
        prepared = [member._prepare_fit(*_unpack(dataset)) for member, dataset in zip(estimators, datasets)]
        if not lead._batchable or len(estimators) == 1:
            outcomes = [fit_members([member], [tensors])[0] for member, tensors in zip(estimators, prepared)]
        else:
            _check_shapes(estimators, prepared)
            outcomes = fit_members(estimators, prepared)
    except BaseException:
        for member, state in zip(estimators, before):
            member._restore(state)
        raise
    for member, state, outcome in zip(estimators, before, outcomes):
        if outcome is not None:
            member._restore(state)
    return outcomes


def _unpack(dataset):
    if not isinstance(dataset, (tuple, list)) or len(dataset) not in (2, 3):
        raise InputError("each dataset must be (X, y) or (X, y, eval_set).")
    return (*dataset, None) if len(dataset) == 2 else tuple(dataset)


def shared_params(estimator) -> dict:
    """The parameters the replicates of one batch must share: all but ``random_state``,
    ``verbose`` and the family's replicate parameters."""
    free = {"random_state", "verbose", *estimator._replicate_params}
    return {k: v for k, v in estimator.get_params(deep=False).items() if k not in free}


def _check_compatible(estimators):
    lead = estimators[0]
    reference = shared_params(lead)
    for member in estimators[1:]:
        if type(member) is not type(lead):
            raise InputError(f"replicates must be of one class; got {type(lead).__name__} "
                             f"and {type(member).__name__}.")
        params = shared_params(member)
        differing = sorted(k for k in reference if not _same(reference[k], params[k]))
        if differing:
            raise InputError(f"replicates of {type(lead).__name__} may differ only in random_state and "
                             f"{sorted(lead._replicate_params)}; they differ in {differing}.")


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except Exception:  # noqa: BLE001 - incomparable values differ
        return a is b


def _check_shapes(estimators, prepared):
    def signature(member, tensors):
        X, y, test = tensors
        classes = tuple(getattr(member, "classes_", ()))
        return X.shape, y.shape, None if test is None else (test[0].shape, test[1].shape), classes

    first = signature(estimators[0], prepared[0])
    for member, tensors in zip(estimators[1:], prepared[1:]):
        if signature(member, tensors) != first:
            raise InputError("replicates must share data shapes and classes; got "
                             f"{first} and {signature(member, tensors)}.")


def fit_replicates(estimator, X, y, *, eval_set=None, random_state=None, **replicate_params):
    """Fit several replicates of one estimator at once (seeds, initialisations).

    The replicates train as one batched model when the family can batch (linear,
    logistic, MLP, Bayesian MLP), else one after another (the GPs, the RFM); either way each
    replicate's trajectory is the one ``estimator.set_params(...).fit(X, y)`` gives.

    Parameters
    ----------
    estimator : TrajectoryEstimator
        The template; it is cloned, not fitted.
    X, y, eval_set
        As ``fit`` takes them, shared by every replicate.
    random_state : sequence of int
        One seed per replicate.
    **replicate_params : sequence
        Further per-replicate values of the family's replicate parameters
        (``estimator._replicate_params``, e.g. ``init_scale=[0.5, 1.0]``), each as
        long as ``random_state``.

    Returns
    -------
    sklearn.utils.Bunch
        ``estimators``: the fitted clones, one per replicate; ``history``: one
        DataFrame of every replicate's trajectory with a ``replicate`` column (the
        position in ``estimators``) and a column per varying parameter.

    Raises
    ------
    ValueError
        If ``random_state`` is not a non-empty sequence, a replicate parameter has
        another length or is not one of the family's, or on invalid input.
    NumericalError
        If a replicate fails; its message names the replicate.

    Examples
    --------
    >>> from grokbeyond.datasets import make_decoy_linear
    >>> from grokbeyond.models import LinearRegression, fit_replicates
    >>> data = make_decoy_linear(random_state=0)
    >>> fits = fit_replicates(LinearRegression(max_iter=100, eval_every=50),
    ...                       data.X_train, data.y_train, random_state=[0, 1, 2])
    >>> fits.history.groupby("replicate").size().tolist()
    [3, 3, 3]
    """
    seeds = list(random_state) if isinstance(random_state, (list, tuple, np.ndarray, range)) else None
    if not seeds:
        raise InputError("random_state must be a non-empty sequence of seeds, one per replicate.")
    unknown = sorted(set(replicate_params) - set(estimator._replicate_params))
    if unknown:
        raise InputError(f"{type(estimator).__name__} cannot vary {unknown} across replicates; "
                         f"its replicate parameters are {sorted(estimator._replicate_params)}.")
    for name, values in replicate_params.items():
        if len(values) != len(seeds):
            raise InputError(f"{name} has {len(values)} values for {len(seeds)} replicates.")
    members = [clone(estimator).set_params(random_state=seed, **{k: v[r] for k, v in replicate_params.items()})
               for r, seed in enumerate(seeds)]
    outcomes = fit_batched(members, [(X, y, eval_set)] * len(members))
    for r, outcome in enumerate(outcomes):
        if outcome is not None:
            raise NumericalError(f"replicate {r}: {outcome}", step=outcome.step, history=outcome.history)
    frames = []
    for r, member in enumerate(members):
        frame = member.history_.assign(replicate=r, random_state=seeds[r],
                                       **{k: [v[r]] * len(member.history_) for k, v in replicate_params.items()})
        frames.append(frame)
    history = pd.concat(frames, ignore_index=True)
    history["split"] = history["split"].astype("category")
    return Bunch(estimators=members, history=history)
