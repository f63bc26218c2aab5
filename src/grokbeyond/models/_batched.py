"""Replicates trained as one batched model: the harness's :func:`fit_batched` and the
notebook's :func:`fit_replicates`, on the loop of :mod:`._engine`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import Bunch

from ..exceptions import InputError, NumericalError
from ._base import _snapshot
from ._engine import fit_members

__all__ = ["fit_batched", "fit_replicates"]


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

    Examples
    --------
    Three seeds trained as one batched model; each estimator ends as its own ``fit``
    would leave it.

    >>> from grokbeyond.datasets import make_sparse_parity
    >>> from grokbeyond.models import LogisticRegression, fit_batched
    >>> data = make_sparse_parity(n_bits=6, k=1, n_train=100, n_test=50, random_state=0)
    >>> runs = [LogisticRegression(max_iter=50, eval_every=10, random_state=seed) for seed in range(3)]
    >>> fit_batched(runs, [(data.X_train, data.y_train, (data.X_test, data.y_test))] * 3)
    [None, None, None]
    >>> [run.n_iter_ for run in runs]
    [50, 50, 50]
    """
    estimators = list(estimators)
    if len(estimators) != len(datasets) or not estimators:
        raise InputError(f"fit_batched needs one dataset per estimator; got {len(estimators)} "
                         f"estimators and {len(datasets)} datasets.")
    lead = estimators[0]
    _check_compatible(estimators)

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
