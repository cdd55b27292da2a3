"""Conditional probability tables as numpy arrays, computed from the validated config.

One convention serves every consumer (the pgmpy network, the engines, the uncertainty
analysis, EM): a node's table lists its parents' joint states in C order (mixed radix: a
categorical factor has as many states as it names), the first parent the most significant
digit; a two-state node's state 0 = absent, 1 = present. Tables are kept in log space,
optionally for many parameter sets at once (a leading axis). No pgmpy here.

The kinds of table themselves (noisy-OR, full table, categorical root) are in
:mod:`kneebayes.kinds`; this module holds the array arithmetic they share.
"""

from __future__ import annotations

import numpy as np

from .config import NoisyOr

__all__ = [
    "as_columns",
    "consistent_states",
    "link_design",
    "noisy_or_log_tables",
    "one_hot",
    "parent_index",
    "parent_states",
    "table_bytes",
]


def parent_states(cards: int | tuple[int, ...]) -> np.ndarray:
    """The joint states of parents with `cards` states each (an int ``k``: `k` two-state
    parents) as rows of state indices, the first parent most significant."""
    if isinstance(cards, int | np.integer):
        cards = (2,) * int(cards)
    if not cards:
        return np.zeros((1, 0), dtype=int)
    return np.indices(cards).reshape(len(cards), -1).T


def table_bytes(cards: int | tuple[int, ...], sets: int = 1) -> float:
    """Bytes of working arrays to build one node's tables over parents with `cards` states
    (an int: that many two-state parents) for `sets` parameter sets (the parents' states,
    then two log tables); a float, so that a size check cannot itself overflow."""
    cards = (2,) * cards if isinstance(cards, int) else cards
    return 8.0 * float(np.prod(cards, dtype=float)) * (len(cards) + 4 * sets)


def as_columns(arrays: list[np.ndarray], n: int) -> np.ndarray:
    """Stack per-node arrays of length `n` as the columns of an (n, k) array (k may be 0)."""
    return np.stack(arrays, axis=1) if arrays else np.empty((n, 0))


def one_hot(values: np.ndarray, cards: tuple[int, ...]) -> np.ndarray:
    """Rows of state indices (NaN: none) as 0/1 indicator columns, ``cards[j]`` per node."""
    if not cards:
        return np.zeros((len(values), 0))
    return np.concatenate([values[:, [j]] == np.arange(c) for j, c in enumerate(cards)],
                          axis=1).astype(float)


def consistent_states(observed: np.ndarray, states: np.ndarray,
                      cards: tuple[int, ...] | None = None,
                      states_one_hot: np.ndarray | None = None) -> np.ndarray:
    """Which enumerated states agree with each row of observations.

    Parameters
    ----------
    observed : ndarray, shape (n, k)
        The observed state index (1 / 0 for a two-state node) or NaN (unobserved) per node.
    states : ndarray, shape (states, k)
        The enumerated states of the same k nodes.
    cards : tuple of int, optional
        The nodes' numbers of states (two each when omitted).
    states_one_hot : ndarray, optional
        ``one_hot(states, cards)``, when the caller keeps it (it depends on the states only).

    Returns
    -------
    ndarray of bool, shape (n, states)
    """
    cards = (2,) * states.shape[1] if cards is None else cards
    held = one_hot(states, cards) if states_one_hot is None else states_one_hot
    # One-hot on both sides: a row clashes with a state where some observed node's state
    # differs, counted by one matrix product.
    return one_hot(observed, cards) @ (1.0 - held).T == 0


def parent_index(states: np.ndarray, positions: list[int],
                 cards: tuple[int, ...] | None = None) -> np.ndarray:
    """For each row of `states` (enumerated states), the row of a node's table that applies:
    its parents sit at `positions` and have `cards` states (two each when omitted), the
    first the most significant digit."""
    if not positions:
        return np.zeros(len(states), dtype=int)
    cards = (2,) * len(positions) if cards is None else cards
    strides = np.cumprod((1, *cards[:0:-1]))[::-1]
    return states[:, positions] @ strides


def link_design(cpd: NoisyOr) -> np.ndarray:
    """Which of a noisy-OR's links are active in each joint parent state: shape
    (parent states, links), links in the order of ``cpd.weights``."""
    states = parent_states(cpd.cards)
    return np.stack([states[:, i] == s for i, s in cpd.links()], axis=1).astype(float) \
        if cpd.weights else np.zeros((len(states), 0))


def noisy_or_log_tables(leak: np.ndarray, weights: np.ndarray,
                        design: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Leaky noisy-OR as log P(present | parents) and log P(absent | parents).

    Parameters
    ----------
    leak : ndarray, shape (d,)
        P(present | no link active), for `d` parameter sets.
    weights : ndarray, shape (d, k)
        P(present | only link ``i`` active). A weight below the leak (possible when
        parameters are drawn independently) is read as the leak: the link has no effect.
    design : ndarray, shape (parent states, k), optional
        Which links each joint parent state activates (:func:`link_design`); `k` two-state
        parents, one link each, when omitted.

    Returns
    -------
    log_present, log_absent : ndarray, shape (d, parent states)

    Notes
    -----
    Díez's parameterisation: each present parent independently fails to produce the
    finding with probability ``(1 - w_i) / (1 - leak)``, so that
    ``P(absent | s) = (1 - leak) * prod_{i: s_i = 1} (1 - w_i) / (1 - leak)``. Summed in log
    space and closed with ``expm1`` so that tiny probabilities keep their digits.
    """
    log_keep = np.log1p(-leak)[:, None]
    step = np.minimum(np.log1p(-weights) - log_keep, 0.0)
    design = parent_states(weights.shape[1]) if design is None else design
    log_absent = log_keep + step @ design.T
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(log_absent)), log_absent
