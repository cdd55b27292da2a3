"""Conditional probability tables as numpy arrays, computed from the validated config.

One convention serves every consumer (the pgmpy network, the compiled engine, the
uncertainty analysis): a node's table lists its parents' joint states in C order, the first
parent the most significant bit, state 0 = absent, 1 = present. Tables are kept in log
space, optionally for many parameter sets at once (a leading axis). No pgmpy here.
"""

from __future__ import annotations

import numpy as np

from .config import Node, NoisyOr

__all__ = [
    "as_columns",
    "consistent_states",
    "node_log_tables",
    "noisy_or_log_tables",
    "parent_index",
    "parent_states",
    "present_table",
    "table_bytes",
]


def parent_states(k: int) -> np.ndarray:
    """The ``2**k`` joint states of `k` binary parents as rows of bits, first parent most
    significant."""
    return (np.arange(2**k)[:, None] >> np.arange(k - 1, -1, -1)) & 1


def table_bytes(n_parents: int, sets: int = 1) -> float:
    """Bytes of working arrays to build one node's tables over `n_parents` binary parents
    for `sets` parameter sets (the parents' states as bits, then two log tables); a float,
    so that a size check cannot itself overflow."""
    return 8.0 * 2.0**n_parents * (n_parents + 4 * sets)


def as_columns(arrays: list[np.ndarray], n: int) -> np.ndarray:
    """Stack per-node arrays of length `n` as the columns of an (n, k) array (k may be 0)."""
    return np.stack(arrays, axis=1) if arrays else np.empty((n, 0))


def consistent_states(observed: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """Which enumerated states agree with each row of observations.

    Parameters
    ----------
    observed : ndarray, shape (n, k)
        1, 0 or NaN (unobserved) per node.
    bits : ndarray, shape (states, k)
        The enumerated states of the same k nodes.

    Returns
    -------
    ndarray of bool, shape (n, states)
    """
    seen = ~np.isnan(observed)
    clash = ((seen & (observed == 1)).astype(float) @ (1 - bits.T)
             + (seen & (observed == 0)).astype(float) @ bits.T)
    return clash == 0


def parent_index(bits: np.ndarray, positions: list[int]) -> np.ndarray:
    """For each row of `bits` (enumerated states), the row of a node's table that applies:
    its parents sit at `positions`, the first the most significant bit."""
    if not positions:
        return np.zeros(len(bits), dtype=int)
    return bits[:, positions] @ (1 << np.arange(len(positions) - 1, -1, -1))


def noisy_or_log_tables(leak: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Leaky noisy-OR as log P(present | parents) and log P(absent | parents).

    Parameters
    ----------
    leak : ndarray, shape (d,)
        P(present | no parent present), for `d` parameter sets.
    weights : ndarray, shape (d, k)
        P(present | only parent ``i`` present). A weight below the leak (possible when
        parameters are drawn independently) is read as the leak: the parent has no effect.

    Returns
    -------
    log_present, log_absent : ndarray, shape (d, 2**k)

    Notes
    -----
    Díez's parameterisation: each present parent independently fails to produce the
    finding with probability ``(1 - w_i) / (1 - leak)``, so that
    ``P(absent | s) = (1 - leak) * prod_{i: s_i = 1} (1 - w_i) / (1 - leak)``. Summed in log
    space and closed with ``expm1`` so that tiny probabilities keep their digits.
    """
    log_keep = np.log1p(-leak)[:, None]
    step = np.minimum(np.log1p(-weights) - log_keep, 0.0)
    log_absent = log_keep + step @ parent_states(weights.shape[1]).T
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(log_absent)), log_absent


def node_log_tables(node: Node, values: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """log P(present | parents), log P(absent | parents) of `node`, shape ``(d, 2**k)``.

    Parameters
    ----------
    node : Node
    values : ndarray, shape (d, len(node.parameters)), optional
        Parameter sets in the order of ``node.parameters``; the point values when omitted
        (``d = 1``).
    """
    if values is None:
        values = np.array([[p.value.mean for p in node.parameters]])
    column = {p.slot: i for i, p in enumerate(node.parameters)}
    if isinstance(node.cpd, NoisyOr):
        return noisy_or_log_tables(values[:, column["leak"]],
                                   values[:, [column[p] for p in node.parents]])
    present = values[:, [
        column[frozenset(p for p, s in zip(node.parents, state, strict=True) if s)]
        for state in parent_states(len(node.parents))
    ]]
    return np.log(present), np.log1p(-present)


def present_table(node: Node) -> np.ndarray:
    """P(`node` present | its parents' states), shape ``(2,) * len(node.parents)``."""
    return np.exp(node_log_tables(node)[0][0]).reshape((2,) * len(node.parents))
