"""What a fit records: the evaluated steps, their ``history_`` rows, and the runaway check."""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
import torch

from .._validation import check_number
from ..exceptions import InputError

__all__ = ["HISTORY_COLUMNS", "RUNAWAY", "evaluation_steps"]

_N_LOG_STEPS = 100

HISTORY_COLUMNS = ("step", "split", "objective", "data_fit", "complexity", "loss", "error")
"""Columns every ``history_`` has; classifiers add ``accuracy``, families add their own."""

#: A recorded objective past RUNAWAY × (1 + |its first recorded value|) fails the fit of a family
#: that minimises it (``_runaway_check``): gradient descent that diverges (too large a step) is
#: reported, not recorded up to an overflow. The RFM does not minimise its objective (its RKHS
#: norm can jump by 10¹² for one iteration and come back) and is not checked.
RUNAWAY = 1e10


def evaluation_steps(max_iter: int, eval_every) -> np.ndarray:
    """Steps at which ``fit`` evaluates and records the model.

    Parameters
    ----------
    max_iter : int
        Number of optimisation steps.
    eval_every : int, "log" or list of them
        Every ``eval_every`` steps, or ``"log"``: every step up to 10, then about 100
        log-spaced steps (grokking is seen on a log-step axis), or a list of such
        schedules, evaluated at the union of their steps: ``["log", 100]`` reads early
        events to a fraction ``max_iter^(1/99) − 1`` of their step (14% at 700,000
        steps) and late ones to 100 steps. Step 0 (the
        initialisation) and step ``max_iter`` (the final state) are always included.

    Returns
    -------
    steps : ndarray of shape (n_evaluations,)
        Sorted, unique steps in ``[0, max_iter]``.

    Raises
    ------
    ValueError
        If ``eval_every`` is neither a positive int nor ``"log"``, nor a non-empty list
        of them.

    Examples
    --------
    >>> from grokbeyond.models import evaluation_steps
    >>> evaluation_steps(1000, ["log", 250])[-8:].tolist()
    [658, 705, 750, 756, 811, 870, 933, 1000]
    """
    if isinstance(eval_every, (list, tuple)):
        if not eval_every or any(isinstance(schedule, (list, tuple)) for schedule in eval_every):
            raise InputError(f"eval_every must be a positive int, 'log' or a non-empty list of them; got {eval_every!r}.")
        return np.unique(np.concatenate([evaluation_steps(max_iter, schedule) for schedule in eval_every]))
    if isinstance(eval_every, str):
        if eval_every != "log":
            raise InputError(f"eval_every must be a positive int or 'log'; got {eval_every!r}.")
        grid = np.geomspace(1, max(max_iter, 1), _N_LOG_STEPS).round()
        steps = np.concatenate([np.arange(min(10, max_iter) + 1), grid, [max_iter]])
    else:
        eval_every = check_number(eval_every, "eval_every", Integral, min_val=1)
        steps = np.concatenate([np.arange(0, max_iter + 1, eval_every), [max_iter]])
    steps = np.unique(steps.astype(np.int64))
    return steps[steps <= max_iter]


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
