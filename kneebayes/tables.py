"""Conditional probability tables as numpy arrays, computed from the validated config.

One convention serves every consumer (the pgmpy network, the enumeration used by the tests,
later the compiled engine): ``present_table(node)[s1, ..., sk]`` is P(node present | parent
``i`` in state ``si``), axes in ``node.parents`` order, state 0 = absent, 1 = present.
No pgmpy here.
"""

from __future__ import annotations

import numpy as np

from .config import Node, NoisyOr, Table

__all__ = ["noisy_or_table", "present_table"]


def noisy_or_table(leak: float, weights: list[float] | np.ndarray) -> np.ndarray:
    """Expand a leaky noisy-OR into P(present | parent states).

    Parameters
    ----------
    leak : float
        P(present | no parent present).
    weights : array_like of float
        ``weights[i]`` = P(present | only parent ``i`` present); each above `leak`.

    Returns
    -------
    numpy.ndarray
        Shape ``(2,) * len(weights)``.

    Notes
    -----
    Díez's parameterisation: each present parent independently fails to produce the
    finding with probability ``(1 - w_i) / (1 - leak)``, so that
    ``P(absent | s) = (1 - leak) * prod_{i: s_i = 1} (1 - w_i) / (1 - leak)``.
    """
    weights = np.asarray(weights, dtype=float)
    # Summed in log space and closed with expm1 so that tiny probabilities keep their digits
    # (1 - (1 - 1e-12) loses four of them).
    log_absent = np.full((2,) * len(weights), np.log1p(-leak))
    for i, w in enumerate(weights):
        shape = [1] * len(weights)
        shape[i] = 2
        step = np.array([0.0, np.log1p(-w) - np.log1p(-leak)]).reshape(shape)
        log_absent = log_absent + step
    return -np.expm1(log_absent)


def present_table(node: Node) -> np.ndarray:
    """P(`node` present | its parents' states), shape ``(2,) * len(node.parents)``."""
    cpd = node.cpd
    if isinstance(cpd, NoisyOr):
        return noisy_or_table(cpd.leak.mean, [w.mean for w in cpd.weights.values()])
    assert isinstance(cpd, Table)
    out = np.empty((2,) * len(cpd.parents))
    for index in np.ndindex(out.shape):
        present = frozenset(p for p, s in zip(cpd.parents, index, strict=True) if s)
        out[index] = cpd.rows[present].mean
    return out
