"""Brute-force enumeration of a priors file's joint distribution: the tests' ground truth.

Written from the priors format's definitions, independently of ``kneebayes.tables`` and of
pgmpy: every joint assignment of the enumerated nodes is listed and its probability is the
product of each node's conditional probability, computed from the config by the formulas.
Findings are leaves, so an unobserved finding sums out to one and need not be enumerated;
``include_unobserved_findings=True`` enumerates them anyway (small networks only).
"""

from __future__ import annotations

import numpy as np

from kneebayes.config import Categorical, NoisyOr, PriorsConfig


def _p_state(config: PriorsConfig, nid: str, states: dict[str, np.ndarray]) -> np.ndarray:
    """P(node = its state in `states` | its parents' states), per assignment."""
    cpd = config.nodes[nid].cpd
    if isinstance(cpd, Categorical):
        probabilities = np.array([cpd.probabilities[s].mean for s in cpd.states])
        return probabilities[states[nid]] / probabilities.sum()
    present = _p_present(config, nid, states)
    return np.where(states[nid] == 1, present, 1.0 - present)


def _p_present(config: PriorsConfig, nid: str, states: dict[str, np.ndarray]) -> np.ndarray:
    node = config.nodes[nid]
    cpd = node.cpd
    if isinstance(cpd, NoisyOr):
        # Díez's leaky noisy-OR: P(absent) = (1 - leak) * prod over active links of
        # (1 - w_link) / (1 - leak); a two-state parent's link is active when it is present,
        # a categorical parent's link 'parent=state' when it is in that state.
        absent = np.full(len(next(iter(states.values()))), 1.0 - cpd.leak.mean)
        for name, w in cpd.weights.items():
            parent, _, state = name.partition("=")
            active = (states[parent] == cpd.parent_states[parent].index(state) if state
                      else states[parent] == 1)
            factor = (1.0 - w.mean) / (1.0 - cpd.leak.mean)
            absent = absent * np.where(active, factor, 1.0)
        return 1.0 - absent
    out = np.empty(len(next(iter(states.values()))))
    for combo, p in cpd.rows.items():
        match = np.ones_like(out, dtype=bool)
        for parent in cpd.parents:
            match &= states[parent] == (1 if parent in combo else 0)
        out[match] = p.mean
    return out


def _joint_weights(config: PriorsConfig, observed: dict[str, int],
                   include_unobserved_findings: bool) -> tuple[dict[str, np.ndarray],
                                                               np.ndarray]:
    """Every joint assignment of the enumerated nodes (as columns of states) and its
    probability together with the observations."""
    findings = set(config.findings)
    hidden = [
        nid for nid in config.nodes
        if nid not in observed and (nid not in findings or include_unobserved_findings)
    ]
    cards = [len(config.nodes[nid].states) for nid in hidden]
    grid = np.indices(cards).reshape(len(cards), -1).T if cards else np.zeros((1, 0), int)
    size = len(grid)
    states = {nid: grid[:, i] for i, nid in enumerate(hidden)}
    for nid, value in observed.items():
        states[nid] = np.full(size, value)
    weight = np.ones(size)
    for nid in config.nodes:
        if nid not in states:
            continue  # an unobserved leaf finding: sums to one
        weight = weight * _p_state(config, nid, states)
    return states, weight


def enumerate_posterior(
    config: PriorsConfig,
    observed: dict[str, int],
    include_unobserved_findings: bool = False,
) -> tuple[np.ndarray, float]:
    """P(cause present | observed) in ``config.causes`` order, and P(observed)."""
    states, weight = _joint_weights(config, observed, include_unobserved_findings)
    total = weight.sum()
    posterior = np.array([weight[states[c] == 1].sum() / total for c in config.causes])
    return posterior, float(total)


def enumerate_cause_joint(
    config: PriorsConfig, observed: dict[str, int], include_unobserved_findings: bool = True
) -> tuple[np.ndarray, float]:
    """P(joint cause state | observed) by brute force, states ordered as the engine's
    (first cause the most significant bit), and P(observed)."""
    states, weight = _joint_weights(config, observed, include_unobserved_findings)
    n_c = len(config.causes)
    code = sum(states[c] << (n_c - 1 - i) for i, c in enumerate(config.causes))
    joint = np.bincount(code, weights=weight, minlength=2**n_c)
    return joint / weight.sum(), float(weight.sum())
