"""``warm_start``: the state a fit leaves to be continued, and checking a continuation.

A fit with ``warm_start=True`` saves ``_warm_state``: its last step, runaway bounds,
minibatch order and position, optimiser state, random streams, and what a continuation
must share with it (the parameters, a digest of the training data, whether there was an
eval_set). The next ``fit`` goes on from there (:func:`warm_start`); a batch's states
are joined along the replicate axis and split again (:func:`replicate_state`).
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from ..exceptions import InputError

#: Parameters a continuation may change: the budget, the evaluation schedule, the display.
FREE_PARAMS = ("max_iter", "warm_start", "verbose", "eval_every")


def _digest(X, y) -> str:
    """A digest of one replicate's training data, (1, n, d) and (1, n) tensors."""
    digest = hashlib.blake2b(digest_size=16)
    for tensor in (X, y):
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def warm_state(member, state, generators, data) -> dict:
    """The ``_warm_state`` a fitted replicate keeps: ``state`` (its share of the loop's)
    with its streams and what a continuation must share with it."""
    X, y, test = data
    params = {k: v for k, v in member.get_params(deep=False).items() if k not in FREE_PARAMS}
    return {**state, "generators": [g.get_state() for g in generators], "params": params,
            "data": _digest(X, y), "classes": repr(getattr(member, "classes_", None)), "eval_set": test is not None}


def warm_start(members, data, generators):
    """The state a ``warm_start`` fit continues from (the members' saved states joined
    into one batch's) and each member's history it goes on from; ``(None, None)`` for a
    fit from scratch. The generators are set to the saved streams.

    Raises
    ------
    InputError
        If only some of a batch continue, their steps differ, or a member's parameters
        (but ``max_iter``, ``eval_every``, ``verbose``), training data or eval_set
        presence changed since the fit it continues.
    """
    warm = [member.warm_start and "_warm_state" in vars(member) for member in members]
    if not any(warm):
        return None, None
    if not all(warm):
        raise InputError("a batch continues only when every estimator in it has warm_start and a fit to continue.")
    states = [member._warm_state for member in members]
    for member, state, (X, y, test) in zip(members, states, data):
        params = {k: v for k, v in member.get_params(deep=False).items() if k not in FREE_PARAMS}
        changed = sorted(k for k in params if repr(params[k]) != repr(state["params"].get(k)))
        if changed:
            raise InputError(f"warm_start continues a fit with the same parameters; {changed} changed. Only "
                             f"{list(FREE_PARAMS)} may; fit with warm_start=False to start again.")
        if _digest(X, y) != state["data"] or repr(getattr(member, "classes_", None)) != state["classes"]:
            raise InputError("warm_start continues a fit on the same training data; X or y changed. Fit with "
                             "warm_start=False to start again.")
        if (test is not None) != state["eval_set"]:
            raise InputError("warm_start continues a fit with an eval_set only if it had one (and without one "
                             "only if it had none), so that the history keeps its rows.")
    if len({state["step"] for state in states}) != 1 or len({state["batches"][1] for state in states}) != 1:
        raise InputError("a batch continues only fits stopped at the same step; fit them one by one.")
    for pair, state in zip(generators, states):
        for generator, saved in zip(pair, state["generators"]):
            generator.set_state(saved)
    orders = [state["batches"][0] for state in states]
    joined = {"step": states[0]["step"], "bound": np.concatenate([state["bound"] for state in states]),
              "batches": (None if orders[0] is None else torch.cat(orders), states[0]["batches"][1]),
              "optimizer": _join_optimizer_states([state["optimizer"] for state in states])}
    previous = [member.history_.drop(columns=list(member._completed_columns)) for member in members]
    return joined, previous


def _join_optimizer_states(states):
    """One batch's optimiser state from its replicates' (tensors with a replicate axis
    joined; the others, such as Adam's 0-d step, copied so the saved state stays as it was)."""
    joined = {"param_groups": states[0]["param_groups"], "state": {}}
    for key, first in states[0]["state"].items():
        joined["state"][key] = {
            name: (torch.cat([state["state"][key][name] for state in states]) if value.ndim else value.clone())
            if torch.is_tensor(value) else value
            for name, value in first.items()
        }
    return joined


def replicate_state(state, r, n_replicates):
    """Replicate ``r``'s share of a batch's loop state (see :func:`warm_start`)."""
    def part(value):
        if torch.is_tensor(value):
            return value[r : r + 1].clone() if value.ndim and value.shape[0] == n_replicates else value.clone()
        return value

    optimizer = state["optimizer"]
    order, position = state["batches"]
    return {"step": state["step"], "bound": state["bound"][r : r + 1],
            "batches": (None if order is None else order[r : r + 1].clone(), position),
            "optimizer": {"param_groups": optimizer["param_groups"],
                          "state": {key: {name: part(value) for name, value in entry.items()}
                                    for key, entry in optimizer["state"].items()}}}
