"""The training loop of every family, for one estimator or a batch of replicates.

One loop trains R *replicates* (runs of one family that share tensor shapes) as one
batched model: every tensor carries a leading replicate axis, every term has shape
(R,), and the loop minimises the sum of the replicates' objectives. Replicates have
disjoint parameters, so each one's gradient, and its trajectory under an element-wise
optimiser (SGD, Adam), is the one it would have alone. Each replicate is built by its
own estimator from its own data and its own ``torch.Generator``, and draws its
minibatch order (and a stochastic family's noise) from that generator during
training, so a run's result does not depend on which batch it ran in.
``TrajectoryEstimator.fit`` is the case R = 1; :func:`~grokbeyond.models.fit_replicates`
is the notebook entry and :func:`~grokbeyond.models.fit_batched` the harness's (both in
:mod:`._batched`); what is recorded, and how, is :mod:`._recording`'s.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import torch
from sklearn.base import clone

from .._progress import progress_bar
from .._random import torch_generator
from ..exceptions import InputError, NumericalError
from ._recording import HISTORY_COLUMNS, RUNAWAY, _Recorder, _record, evaluation_steps
from ._warm import replicate_state, warm_start, warm_state

__all__ = ["HISTORY_COLUMNS", "NumericalError", "fit_members"]



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
    # Whether a recorded step's train row comes from the step's own full-batch training pass.
    row_from_pass = engine._record_training_pass and not closed_form and batches.batch_size is None
    next_record, position, last = record_at[0], 0, start
    # Closed-form families never build a graph: their whole loop runs without autograd.
    grad_mode = torch.no_grad() if closed_form else contextlib.nullcontext()
    try:
        with grad_mode:
            for step in range(start, end + 1):
                record = step == next_record
                train_terms = None
                # The draws of a recorded step where the fit may end (a callback's stop, the last
                # step's row): put back there, the continuing fit draws them again.
                drawn = _draws(batches, generators) if record and (callbacks or step == end) else None
                if step < end:
                    index = next(batches)
                    Xb, yb = (X, y) if index is None else (_take(X, index, rows), _take(y, index, rows))
                    if closed_form:
                        engine._set_gradients(Xb, yb)
                    else:
                        for param in params:
                            param.grad = None
                        if record and row_from_pass:
                            train_terms = engine._terms(Xb, yb, train=True)
                            objective = engine._gradient_objective(train_terms)
                        else:
                            objective = engine._objective(Xb, yb)
                        objective.sum().backward()
                elif record and row_from_pass:
                    # The last row from the training pass's own path (no update follows): the row
                    # a continued fit's first step computes, bit for bit.
                    train_terms = engine._terms(X, y, train=True)
                    _put_back(batches, generators, drawn)
                if record:
                    first = len(recorder.records)
                    if not _record(engine, recorder, step, train_terms, X, y, test):
                        break
                    if callbacks and _call_back(engine, recorder, first, callbacks):
                        _put_back(batches, generators, drawn)
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


def _draws(batches, generators):
    """The minibatch position and the generators' states: what a step is about to draw."""
    return batches.state, [generator.get_state() for generator in generators]


def _put_back(batches, generators, drawn):
    """Undo a step's draws (:func:`_draws`)."""
    batches.order, batches.position = drawn[0]
    for generator, state in zip(generators, drawn[1]):
        generator.set_state(state)


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
            member._fitted_device = X.device  # predictions follow the fit, whatever device is set later
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
