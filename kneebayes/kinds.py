"""The kinds of conditional table, each in one class: its log table, its file form and its
fitting step.

A node's distribution (``node.cpd``) is a :class:`~kneebayes.config.NoisyOr`, a
:class:`~kneebayes.config.Table` or a :class:`~kneebayes.config.Categorical`; :func:`kind_of`
gives the class that knows how to

- compute it from parameter values (:meth:`Kind.log_table`, for many parameter sets at once);
- write it back as priors-file keys and put one parameter's value in its place
  (:meth:`Kind.file_form`, :meth:`Kind.place`), so that a fitted model reads like any other;
- fit it by EM from expected family counts (:meth:`Kind.pseudo_counts`, :meth:`Kind.m_step`,
  :meth:`Kind.fitting_scale`).

A new kind of table is one more class here and its reader in :mod:`kneebayes.config`. The
parameters of a node are always in ``node.parameters`` order. No pgmpy here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .config import Categorical, Node, NoisyOr, PriorsConfig, Probability, Table
from .tables import link_design, noisy_or_log_tables, parent_states

__all__ = [
    "CategoricalKind",
    "Kind",
    "NoisyOrKind",
    "TableKind",
    "kind_of",
    "log_distribution",
    "node_log_tables",
    "present_table",
]

_FLOOR = 1e-6  # fitted probabilities stay inside (0, 1), and links above their leak
_LEAK_KEY = {"factor": "prior", "cause": "base", "mechanism": "leak", "finding": "leak"}
_PARENT_KEY = {"factor": "factors", "cause": "causes", "mechanism": "mechanisms"}


def file_number(p: Probability) -> float | dict[str, float]:
    """A probability as the file writes it: a plain number, or ``{ mean, n }``."""
    return p.mean if p.strength is None else {"mean": p.mean, "n": p.strength}


def point_values(node: Node) -> np.ndarray:
    """The node's point values as one parameter set, shape (1, parameters)."""
    return np.array([[p.value.mean for p in node.parameters]])


class Kind:
    """What every kind of table answers (see the module docstring)."""

    @staticmethod
    def log_table(node: Node, values: np.ndarray) -> np.ndarray:
        """log P(node's state | parents), shape (sets, parent states, node states), for
        parameter sets `values` (sets x the node's parameters)."""
        raise NotImplementedError

    @staticmethod
    def file_form(node: Node, config: PriorsConfig) -> dict[str, Any]:
        """The node's distribution as priors-file keys (without label, sources and kind)."""
        raise NotImplementedError

    @staticmethod
    def place(spec: dict[str, Any], slot: Any, value: Any) -> str:
        """Put `value` for the parameter at `slot` into the node's file form `spec`; return
        the ``sources`` key that names it."""
        raise NotImplementedError

    @staticmethod
    def source_key(node: Node, slot: Any) -> str:
        """The key of ``sources`` that names the parameter at `slot`."""
        raise NotImplementedError

    @staticmethod
    def pseudo_counts(node: Node, prior_weight: float, default_strength: float
                      ) -> tuple[np.ndarray, np.ndarray]:
        """The prior's pseudo-counts (alpha, beta) per parameter, on the fitting scale."""
        alpha, beta = [], []
        for p in node.parameters:
            strength = prior_weight * (p.value.strength or default_strength)
            alpha.append(strength * p.value.mean)
            beta.append(strength * (1 - p.value.mean))
        return np.array(alpha), np.array(beta)

    @staticmethod
    def fitting_scale(node: Node, values: np.ndarray) -> np.ndarray:
        """The node's parameter values on the scale the pseudo-counts apply to."""
        return values

    @staticmethod
    def from_fitting_scale(node: Node, scaled: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`fitting_scale`."""
        return scaled

    @staticmethod
    def log_likelihood_gradient(node: Node, scaled: np.ndarray, counts: np.ndarray,
                                present: np.ndarray) -> np.ndarray:
        """The gradient, in the node's numbers on the fitting scale (`scaled`), of its
        expected complete-data log-likelihood: the sum over parent configurations of
        ``present log P(present) + (counts - present) log P(absent)`` (`counts` and
        `present` as for :meth:`m_step`). By Fisher's identity, summed over the nodes, the
        gradient of the log-likelihood when the counts come from an E-step at the same
        numbers."""
        raise NotImplementedError

    @staticmethod
    def m_step(node: Node, values: np.ndarray, counts: np.ndarray, present: np.ndarray,
               alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        """New parameter values from the expected family counts: `counts` cases per parent
        configuration, `present` of them with the node present (a categorical root: the
        expected count in each state)."""
        raise NotImplementedError


class NoisyOrKind(Kind):
    """Leaky noisy-OR (Díez), its links over two-state parents or states of categorical ones.

    Fitted through the standard hidden-activation view: each active link independently
    activates the child with its link probability ``(w - leak) / (1 - leak)``, the leak with
    its own; one generalised-EM step per iteration.
    """

    @staticmethod
    def log_table(node: Node, values: np.ndarray) -> np.ndarray:
        column = {p.slot: i for i, p in enumerate(node.parameters)}
        present, absent = noisy_or_log_tables(
            values[:, column["leak"]], values[:, [column[name] for name in node.cpd.weights]],
            link_design(node.cpd))
        return np.stack([absent, present], axis=-1)

    @staticmethod
    def file_form(node: Node, config: PriorsConfig) -> dict[str, Any]:
        spec: dict[str, Any] = {_LEAK_KEY[node.role]: file_number(node.cpd.leak)}
        for name, weight in node.cpd.weights.items():
            parent, _, state = name.partition("=")
            group = spec.setdefault(_PARENT_KEY[config.nodes[parent].role], {})
            if state:
                group.setdefault(parent, {})[state] = file_number(weight)
            else:
                group[parent] = file_number(weight)
        return spec

    @staticmethod
    def place(spec: dict[str, Any], slot: Any, value: Any) -> str:
        if slot == "leak":
            key = next(k for k in _LEAK_KEY.values() if k in spec)
            spec[key] = value
            return key
        parent, _, state = slot.partition("=")
        group = next(spec[g] for g in _PARENT_KEY.values() if parent in spec.get(g, {}))
        if state:
            group[parent][state] = value
        else:
            group[parent] = value
        return parent

    @staticmethod
    def source_key(node: Node, slot: Any) -> str:
        return _LEAK_KEY[node.role] if slot == "leak" else slot.split("=", 1)[0]

    @staticmethod
    def pseudo_counts(node: Node, prior_weight: float, default_strength: float
                      ) -> tuple[np.ndarray, np.ndarray]:
        alpha, beta = Kind.pseudo_counts(node, prior_weight, default_strength)
        leak = node.cpd.leak.mean
        for i, p in enumerate(node.parameters):
            if p.slot != "leak":  # the prior is on the link probability, not Díez's weight
                strength = alpha[i] + beta[i]
                link = (p.value.mean - leak) / (1 - leak)
                alpha[i], beta[i] = strength * link, strength * (1 - link)
        return alpha, beta

    @staticmethod
    def fitting_scale(node: Node, values: np.ndarray) -> np.ndarray:
        slots = [p.slot for p in node.parameters]
        leak = values[slots.index("leak")]
        return np.where(np.array(slots, dtype=object) == "leak", values,
                        (values - leak) / (1 - leak))

    @staticmethod
    def from_fitting_scale(node: Node, scaled: np.ndarray) -> np.ndarray:
        slots = [p.slot for p in node.parameters]
        leak = scaled[slots.index("leak")]
        return np.where(np.array(slots, dtype=object) == "leak", scaled,
                        1 - (1 - leak) * (1 - scaled))

    @staticmethod
    def log_likelihood_gradient(node: Node, scaled: np.ndarray, counts: np.ndarray,
                                present: np.ndarray) -> np.ndarray:
        # log P(absent | c) = log(1 - leak) + sum_j d_cj log(1 - t_j), with t_j the links'
        # activation probabilities; d log P(present) = -(P(absent) / P(present)) d log
        # P(absent). Each number's gradient is then sum_c r_c d log P(absent | c).
        slots = [p.slot for p in node.parameters]
        c0 = slots.index("leak")
        columns = [slots.index(name) for name in node.cpd.weights]
        design = link_design(node.cpd) if columns else np.zeros((1, 0))
        log_absent = np.log1p(-scaled[c0]) + design @ np.log1p(-scaled[columns])
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.exp(log_absent) / -np.expm1(log_absent)  # P(absent) / P(present)
            r = (counts - present) - np.where(present > 0, present * odds, 0.0)
        out = np.zeros(len(slots))
        out[c0] = -r.sum() / (1 - scaled[c0])
        out[columns] = -(r @ design) / (1 - scaled[columns])
        return out

    @staticmethod
    def m_step(node: Node, values: np.ndarray, counts: np.ndarray, present: np.ndarray,
               alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        slots = [p.slot for p in node.parameters]
        c0 = slots.index("leak")
        names = list(node.cpd.weights)  # the links: a parent, or one state of one
        columns = [slots.index(name) for name in names]
        leak = values[c0]
        links = (values[columns] - leak) / (1 - leak)
        active = link_design(node.cpd)  # parent configurations x links
        p_present = 1 - (1 - leak) * np.prod(np.where(active == 1, 1 - links, 1.0), axis=1)
        # expected activations given the child present, over the expected opportunities
        share = np.where(p_present > 0, present / np.maximum(p_present, 1e-300), 0.0)
        def ratio(hits: float, trials: float, current: float) -> float:
            # No pseudo-counts and no expected opportunity (a link whose parent the data
            # never makes active): nothing to learn, so the value stays where it is.
            return hits / trials if trials > 0 else current

        new_leak = ratio(alpha[c0] + leak * share.sum(), alpha[c0] + beta[c0] + counts.sum(),
                         leak)
        new_leak = float(np.clip(new_leak, _FLOOR, 1 - _FLOOR))
        out = values.copy()
        out[c0] = new_leak
        for i, c in enumerate(columns):
            on = active[:, i] == 1
            link = ratio(alpha[c] + links[i] * share[on].sum(),
                         alpha[c] + beta[c] + counts[on].sum(), links[i])
            out[c] = 1 - (1 - new_leak) * (1 - float(np.clip(link, _FLOOR, 1 - _FLOOR)))
        return out


class TableKind(Kind):
    """A full table over two-state parents: one probability per combination of present
    parents, fitted in closed form row by row."""

    @staticmethod
    def _rows(node: Node) -> list[int]:
        """For each parent configuration (C order), the position of its parameter."""
        slots = [p.slot for p in node.parameters]
        return [slots.index(frozenset(p for p, s in zip(node.parents, state, strict=True) if s))
                for state in parent_states(len(node.parents))]

    @staticmethod
    def log_table(node: Node, values: np.ndarray) -> np.ndarray:
        present = values[:, TableKind._rows(node)]
        return np.stack([np.log1p(-present), np.log(present)], axis=-1)

    @staticmethod
    def log_likelihood_gradient(node: Node, scaled: np.ndarray, counts: np.ndarray,
                                present: np.ndarray) -> np.ndarray:
        rows = TableKind._rows(node)
        p = scaled[rows]
        out = np.zeros(len(scaled))
        np.add.at(out, rows, present / p - (counts - present) / (1 - p))
        return out

    @staticmethod
    def file_form(node: Node, config: PriorsConfig) -> dict[str, Any]:
        return {"parents": list(node.cpd.parents),
                "table": {"+".join(p for p in node.cpd.parents if p in row) or "none":
                          file_number(value) for row, value in node.cpd.rows.items()}}

    @staticmethod
    def place(spec: dict[str, Any], slot: Any, value: Any) -> str:
        label = next(k for k in spec["table"]
                     if (frozenset() if k == "none" else frozenset(k.split("+"))) == slot)
        spec["table"][label] = value
        return "table"

    @staticmethod
    def source_key(node: Node, slot: Any) -> str:
        return "table"

    @staticmethod
    def m_step(node: Node, values: np.ndarray, counts: np.ndarray, present: np.ndarray,
               alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        out = values.copy()
        for u, c in enumerate(TableKind._rows(node)):
            with np.errstate(invalid="ignore"):  # a row no case reached keeps its value
                fitted = (alpha[c] + present[u]) / (alpha[c] + beta[c] + counts[u])
            out[c] = np.clip(fitted, _FLOOR, 1 - _FLOOR) if np.isfinite(fitted) else out[c]
        return out


class CategoricalKind(Kind):
    """A root with named states and a Dirichlet prior (strength ``n``, each state's Beta
    its marginal); a parameter set is normalised to sum to one, so that moving one state's
    probability moves the others in proportion. Fitted as the Dirichlet's posterior mode
    with pseudo-counts ``n * p``."""

    @staticmethod
    def log_table(node: Node, values: np.ndarray) -> np.ndarray:
        return np.log(values / values.sum(axis=1, keepdims=True))[:, None, :]

    @staticmethod
    def log_likelihood_gradient(node: Node, scaled: np.ndarray, counts: np.ndarray,
                                present: np.ndarray) -> np.ndarray:
        # The states sum to one: the observed information holds them at their fitted
        # values (kneebayes.fitted_strength), so no gradient is taken in them.
        return np.zeros(len(scaled))

    @staticmethod
    def file_form(node: Node, config: PriorsConfig) -> dict[str, Any]:
        cpd = node.cpd
        spec: dict[str, Any] = {"states": list(cpd.states),
                                "prior": {s: p.mean for s, p in cpd.probabilities.items()}}
        strength = next(iter(cpd.probabilities.values())).strength
        if strength is not None:
            spec["n"] = strength
        if cpd.bands is not None:
            spec["bands"] = list(cpd.bands)
        return spec

    @staticmethod
    def place(spec: dict[str, Any], slot: Any, value: Any) -> str:
        if isinstance(value, dict):  # { mean, n }: the strength is the node's one n
            spec["n"] = value["n"]
            value = value["mean"]
        spec["prior"][slot.split("=", 1)[1]] = value
        return "prior"

    @staticmethod
    def source_key(node: Node, slot: Any) -> str:
        return "prior"

    @staticmethod
    def pseudo_counts(node: Node, prior_weight: float, default_strength: float
                      ) -> tuple[np.ndarray, np.ndarray]:
        alpha, beta = Kind.pseudo_counts(node, prior_weight, default_strength)
        return alpha, np.zeros_like(beta)  # a Dirichlet: alpha per state, no beta

    @staticmethod
    def m_step(node: Node, values: np.ndarray, counts: np.ndarray, present: np.ndarray,
               alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
        fitted = np.clip((alpha + present) / (alpha.sum() + counts.sum()), _FLOOR, None)
        return fitted / fitted.sum()  # no state fitted to exactly zero


_KINDS: dict[type, type[Kind]] = {NoisyOr: NoisyOrKind, Table: TableKind,
                                  Categorical: CategoricalKind}


def kind_of(node: Node) -> type[Kind]:
    """The class that knows `node`'s kind of table."""
    return _KINDS[type(node.cpd)]


def log_distribution(node: Node, values: np.ndarray | None = None) -> np.ndarray:
    """log P(node's state | parents) for any kind of node, shape ``(sets, parent states,
    node states)``; the point values when `values` is omitted."""
    return kind_of(node).log_table(node, point_values(node) if values is None else values)



def node_log_tables(node: Node, values: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """log P(present | parents), log P(absent | parents) of a two-state `node`, each of
    shape ``(sets, parent states)``."""
    table = log_distribution(node, values)
    return table[..., 1], table[..., 0]


def present_table(node: Node) -> np.ndarray:
    """P(`node` present | its parents' states), shape ``node.parent_cards``."""
    return np.exp(node_log_tables(node)[0][0]).reshape(node.parent_cards)
