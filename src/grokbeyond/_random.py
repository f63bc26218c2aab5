"""Explicit randomness: every draw in grokbeyond comes from a generator built here.

Nothing in grokbeyond seeds or reads the global NumPy, Python or torch random state.
"""

from __future__ import annotations

import contextlib
import zlib
from numbers import Integral

import numpy as np

__all__ = ["check_random_state", "forked_global_torch_rng", "numpy_generator", "torch_generator"]


def check_random_state(random_state, name: str = "random_state") -> None:
    """Validate a ``random_state`` argument.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        The value to check.
    name : str, default="random_state"
        The parameter name used in the error message.

    Raises
    ------
    TypeError
        If ``random_state`` is none of the accepted types.
    ValueError
        If ``random_state`` is a negative integer.
    """
    if random_state is None or isinstance(
        random_state, (np.random.Generator, np.random.RandomState)
    ):
        return
    if isinstance(random_state, (bool, np.bool_)) or not isinstance(random_state, Integral):
        raise TypeError(
            f"{name} must be None, an int, a numpy Generator or RandomState; "
            f"got {type(random_state).__name__}."
        )
    if random_state < 0:
        raise ValueError(f"{name} must be a non-negative int; got {random_state}.")


def _entropy(random_state) -> int | None:
    """Turn ``random_state`` into SeedSequence entropy (None means fresh OS entropy)."""
    check_random_state(random_state)
    if random_state is None:
        return None
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**32 - 1, dtype=np.uint64))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(0, 2**63 - 1))
    return int(random_state)


def numpy_generator(random_state, stream: str) -> np.random.Generator:
    """Return a NumPy generator for one named stream of draws.

    Two calls with the same integer ``random_state`` but different ``stream`` names
    give statistically independent generators (different ``SeedSequence`` spawn keys),
    so, for example, concealment bits drawn with the same seed as a task never replay
    the task's own bits (a flaw of the original code of Miller et al., 2023).

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seed. ``None`` draws fresh entropy from the operating system; a Generator or
        RandomState is consumed to derive a seed.
    stream : str
        Name of the stream, e.g. ``"make_sparse_parity"`` or ``"conceal"``.

    Returns
    -------
    numpy.random.Generator
    """
    key = zlib.crc32(stream.encode())
    return np.random.default_rng(np.random.SeedSequence(_entropy(random_state), spawn_key=(key,)))


def torch_generator(random_state, stream: str = "model", device="cpu"):
    """Return a seeded ``torch.Generator`` on ``device`` (never the global one).

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seed; see :func:`numpy_generator`.
    stream : str, default="model"
        Name of the stream.
    device : str or torch.device, default="cpu"
        The device the generator draws on (the device of the tensors it fills). The seed
        is the same on every device, but the streams of different device types differ.

    Returns
    -------
    torch.Generator
    """
    import torch  # datasets and analysis never need torch: import it when a model does

    seed = int(numpy_generator(random_state, stream).integers(0, 2**63 - 1))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


@contextlib.contextmanager
def forked_global_torch_rng(random_state, stream: str, device="cpu"):
    """Run a block on a private copy of torch's global RNG, seeded from ``random_state``.

    For libraries that draw from torch's global RNG and take no generator (gpytorch's
    iterative solvers, pyro's ``sample`` statements): inside the block the global RNG
    is seeded from ``(random_state, stream)``, and on exit the caller's RNG state is
    restored, so the draws are reproducible and nothing leaks out. Not thread-safe:
    two threads inside such blocks share torch's one global RNG.

    Parameters
    ----------
    random_state : None, int, numpy.random.Generator or numpy.random.RandomState
        Seed; see :func:`numpy_generator`.
    stream : str
        Name of the stream.
    device : str or torch.device, default="cpu"
        The device the block computes on: the global RNGs of every device of its type
        (all of which ``torch.manual_seed`` seeds) are forked too, besides the CPU's.
    """
    import torch

    device = torch.device(device)
    seed = torch_generator(random_state, stream).initial_seed()
    if device.type == "cpu":
        devices, device_type = [], "cuda"
    else:
        devices, device_type = list(range(getattr(torch, device.type).device_count())), device.type
    with torch.random.fork_rng(devices=devices, device_type=device_type):
        torch.manual_seed(seed)
        yield
