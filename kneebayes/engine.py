"""Compiled exact inference: the network as numpy arrays, any batch of cases in a few BLAS calls.

Findings are leaves and factors are roots, so for every joint state ``c`` of the causes
(enumerated) the log joint of a case splits into three terms:

    log P(c, e) = log P(c | factor evidence)                  the factor layer
                + sum_x [x observed] log P(x = e_x | c)        findings on causes only:
                                                              one matrix product
                + log sum_m P(m | c) prod_x P(x = e_x | c, m) findings on mechanisms

and the posterior of each cause is a normalised sum over ``c``. The first and last terms
depend on a case only through its factor evidence and its mechanism-findings evidence, so
they are computed once per distinct pattern in the batch (there are few) and gathered.
Everything stays in log space (no underflow however many findings are observed) and in
float64; the result is exact, not sampled. Cause states are processed in blocks so that
memory stays bounded; a network whose tables would not fit is refused with
:class:`EngineTooLarge`, and the model then answers with the sparse engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .config import PriorsConfig
from .errors import ModelTooLarge
from .kinds import log_distribution, node_log_tables
from .tables import consistent_states, one_hot, parent_index, parent_states, table_bytes

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "PREFERRED_FACTOR_STATES",
    "CompiledEngine",
    "Engine",
    "EngineResult",
    "EngineTooLarge",
]

DEFAULT_MEMORY_BUDGET = 256 * 2**20  # bytes of working arrays
_MAX_LATENT = 30  # 2**30 latent states: beyond this, enumeration is no sensible engine
_MAX_FACTOR_STATES = 2**16  # joint factor states
# Beyond this many joint factor states the factor layer (a product over them per pattern of
# factor evidence) costs more than the sparse engine's whole run, which never lists them:
# measured at 7 causes, 4,096 factor states (four 4-state factors, four 2-state) made the
# dense engine 4x slower than the sparse one; at 256 (the shipped model) it is the faster.
PREFERRED_FACTOR_STATES = 2**10
_BLOCK_STATES = 2**14  # cause states per block: bounds each call's working arrays


class EngineTooLarge(ModelTooLarge):
    """The compiled tables would not fit the memory budget (checked before allocating)."""


@dataclass(frozen=True)
class EngineResult:
    """What one engine run knows about each case.

    Attributes
    ----------
    marginals : ndarray, shape (n, causes)
        P(cause present | evidence).
    log_odds : ndarray, shape (n, causes)
        ln P(cause present, evidence) - ln P(cause absent, evidence), exact even where the
        marginal rounds to 0 or 1.
    log_evidence : ndarray, shape (n,)
        ln P(evidence).
    joint : ndarray, shape (n, 2**causes), or None
        P(cause state | evidence), states as in :meth:`CompiledEngine.cause_states`.
    """

    marginals: np.ndarray
    log_odds: np.ndarray
    log_evidence: np.ndarray
    joint: np.ndarray | None = None


class Engine(Protocol):
    """What every exact engine answers (the dense :class:`CompiledEngine` and
    :class:`kneebayes.sparse.SparseEngine`): evidence arrays in, an :class:`EngineResult`
    out, the same numbers to rounding whichever answers."""

    causes: tuple[str, ...]

    def run(self, findings_obs: np.ndarray, factor_obs: np.ndarray) -> EngineResult:
        """Marginals, log odds and log evidence per case (1 / 0 / NaN arrays in)."""
        ...

    def posterior(self, findings_obs: np.ndarray, factor_obs: np.ndarray) -> np.ndarray:
        """``run(...).marginals``."""
        ...


@dataclass(frozen=True)
class _Leaf:
    """A node whose parents are all enumerated: its log table and where its parents sit."""

    positions: np.ndarray  # parent positions in the enumerated state
    cards: tuple[int, ...]  # the parents' numbers of states
    log_present: np.ndarray
    log_absent: np.ndarray

    def logs(self, states: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """log P(present | s), log P(absent | s) for each state row of `states`."""
        index = parent_index(states, list(self.positions), self.cards)
        return self.log_present[index], self.log_absent[index]


class CompiledEngine:
    """Exact posteriors of the causes for batches of cases.

    Parameters
    ----------
    config : PriorsConfig
    memory_budget : int, optional
        Bytes for the compiled tables (at most half) and each call's working arrays.

    Raises
    ------
    EngineTooLarge
        When the compiled tables would exceed half the budget.
    """

    def __init__(self, config: PriorsConfig, memory_budget: int = DEFAULT_MEMORY_BUDGET):
        self.causes, self.factors, self.findings = config.causes, config.factors, config.findings
        self.memory_budget = memory_budget
        n_c, n_m, n_f = len(config.causes), len(config.mechanisms), len(config.factors)
        n_fs = float(np.prod(config.factor_cards, dtype=float))  # joint factor states
        if n_c + n_m > _MAX_LATENT or n_fs > _MAX_FACTOR_STATES:
            raise EngineTooLarge(
                f"{n_c} causes, {n_m} mechanisms and {n_f} factors: enumerating their states "
                "would exceed the engine's limits"
            )
        latent = config.causes + config.mechanisms
        bit = {nid: i for i, nid in enumerate(latent)}  # state bit i <-> latent node i
        on_mechanism = [any(p in config.mechanisms for p in config.nodes[x].parents)
                        for x in config.findings]
        self._direct = np.flatnonzero(~np.array(on_mechanism, dtype=bool))
        self._indirect = np.flatnonzero(on_mechanism)
        # When every mechanism hangs on causes only and every finding on at most one
        # mechanism, the sum over the mechanisms' joint states factorises into one two-state
        # sum per mechanism, over its own findings: 2 * n_mech terms per cause state instead
        # of 2**n_mech, and far fewer distinct evidence patterns.
        self._families = None
        if all(not any(p in config.mechanisms for p in config.nodes[m].parents)
               for m in config.mechanisms) and all(
                sum(p in config.mechanisms for p in config.nodes[config.findings[i]].parents)
                == 1 for i in self._indirect):
            self._families = [
                np.array([i for i in self._indirect
                          if m in config.nodes[config.findings[i]].parents], dtype=int)
                for m in config.mechanisms]

        # Every size is checked before anything is allocated: half the budget for the cached
        # tables, half for each call's working arrays.
        per_state = 8 * (2 * len(self._direct) + n_fs + 2 * n_c + 2
                         + (2 * len(self._indirect) + 1) * 2**n_m)
        widest = max((table_bytes(node.parent_cards) for node in config.nodes.values()),
                     default=0.0)
        needed = max(per_state * 2.0**n_c, widest, table_bytes(config.factor_cards))
        if needed > memory_budget // 2:
            raise EngineTooLarge(
                f"its tables need {needed / 2**20:,.0f} MiB, more than half the "
                f"memory budget of {memory_budget / 2**20:,.0f} MiB (raise it with "
                "memory_budget=... in Python or --memory-budget MIB on the command line, "
                "or use the sparse engine, which answers every posterior)"
            )

        def leaf(nid: str, positions: dict[str, int]) -> _Leaf:
            node = config.nodes[nid]
            present, absent = node_log_tables(node)
            return _Leaf(np.array([positions[p] for p in node.parents], dtype=int),
                         node.parent_cards, present[0], absent[0])

        self._direct_leaves = [leaf(config.findings[i], bit) for i in self._direct]
        self._indirect_leaves = [leaf(config.findings[i], bit) for i in self._indirect]
        self._family_leaves = None if self._families is None else [
            [leaf(config.findings[i], bit) for i in family] for family in self._families]
        self._mechanisms = [leaf(m, bit) for m in config.mechanisms]
        self.n_causes, self.n_mech = n_c, n_m

        # The factor layer: every joint factor state f (mixed radix: a categorical factor
        # has as many states as it names), its log prior, and per cause
        # log P(cause present | f), log P(cause absent | f).
        fstates = parent_states(config.factor_cards)
        self._factor_cards = config.factor_cards
        self._factor_states = fstates
        self._factor_one_hot = one_hot(fstates, config.factor_cards)
        self._log_factor_prior = np.zeros(len(fstates))
        for j, f in enumerate(config.factors):
            self._log_factor_prior += log_distribution(config.nodes[f])[0, 0, fstates[:, j]]
        fpos = {nid: i for i, nid in enumerate(config.factors)}
        logs = [leaf(c, fpos).logs(fstates) for c in config.causes]
        self._cause_log_present = np.stack([p for p, _ in logs], axis=1)  # (factor states, C)
        self._cause_log_absent = np.stack([a for _, a in logs], axis=1)

        self.block = min(2**n_c, _BLOCK_STATES)
        self._cache: dict[int, tuple[np.ndarray, ...]] = {}

    @staticmethod
    def _bits(start: int, stop: int, width: int) -> np.ndarray:
        """Rows of state bits, most significant first, for states ``start..stop-1``."""
        states = np.arange(start, stop, dtype=np.int64)
        return ((states[:, None] >> np.arange(width - 1, -1, -1)) & 1).astype(np.int8)

    @staticmethod
    def _stacked_logs(leaves: list[_Leaf], bits: np.ndarray) -> np.ndarray:
        """Rows [log P(present | s), log P(absent | s)] per leaf, for each state row of bits."""
        out = np.empty((2 * len(leaves), bits.shape[0]))
        for i, leaf in enumerate(leaves):
            out[2 * i], out[2 * i + 1] = leaf.logs(bits)
        return out

    def _block_tables(self, start: int) -> tuple[np.ndarray, ...]:
        """The tables for the cause states ``start .. start + block - 1``."""
        if start in self._cache:
            return self._cache[start]
        stop = min(start + self.block, 2**self.n_causes)
        cause_bits = self._bits(start, stop, self.n_causes)
        direct = self._stacked_logs(self._direct_leaves, cause_bits)
        # log P(c | f) for every factor state f and cause state c: one matrix product.
        cb = cause_bits.astype(float)
        log_w = self._cause_log_present @ cb.T + self._cause_log_absent @ (1.0 - cb).T
        shift = log_w.max(axis=0)  # per state, so that exp() cannot underflow to all zeros
        # Latent states (cause state, mechanism state), mechanism bits fastest.
        latent_bits = self._bits(start << self.n_mech, stop << self.n_mech,
                                 self.n_causes + self.n_mech)
        if self._families is None:
            indirect = self._stacked_logs(self._indirect_leaves, latent_bits)
            log_mech = np.zeros(latent_bits.shape[0])
            for j, leaf in enumerate(self._mechanisms):
                present, absent = leaf.logs(latent_bits)
                log_mech += np.where(latent_bits[:, self.n_causes + j] == 1, present, absent)
            mechanism_tables = (indirect, np.exp(log_mech))
        else:
            mechanism_tables = self._family_tables(cause_bits)
        present_absent = np.hstack([cb, 1.0 - cb])
        w_states = np.exp(log_w - shift)
        # log P(c) with no factor observed: the commonest pattern, kept ready.
        log_marginal = np.log(np.exp(self._log_factor_prior) @ w_states) + shift
        tables = (direct, w_states, shift, log_marginal, mechanism_tables, present_absent)
        self._cache[start] = tables
        return tables

    def _family_tables(self, cause_bits: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per mechanism: its findings' stacked log tables over (cause state, its own state),
        its own state fastest, and log P(mechanism state | cause state), shape (block, 2)."""
        n_c = self.n_causes
        out = []
        for j, leaf in enumerate(self._mechanisms):
            rows = np.zeros((2 * len(cause_bits), n_c + self.n_mech), dtype=np.int8)
            rows[:, :n_c] = np.repeat(cause_bits, 2, axis=0)
            rows[1::2, n_c + j] = 1  # the other mechanisms stay 0: these findings ignore them
            present, absent = leaf.logs(rows[0::2])
            out.append((self._stacked_logs(self._family_leaves[j], rows),
                        np.stack([absent, present], axis=1)))
        return out

    @staticmethod
    def _evidence_matrix(observed: np.ndarray) -> np.ndarray:
        """Evidence (cases x nodes; 1, 0 or NaN) as the left operand of a likelihood product:
        columns interleave [observed present, observed absent] per node."""
        out = np.zeros((observed.shape[0], 2 * observed.shape[1]))
        out[:, 0::2] = observed == 1
        out[:, 1::2] = observed == 0
        return out

    @staticmethod
    def _patterns(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The distinct rows of `observed` (NaN-aware) and each case's row among them."""
        if len(observed) == 1:
            return observed, np.zeros(1, dtype=np.intp)
        codes = np.where(np.isnan(observed), 0, observed + 1).astype(np.int64)  # 0: unseen
        if codes.shape[1] == 0:
            return np.empty((1, 0)), np.zeros(len(codes), dtype=np.intp)
        base = int(codes.max()) + 1
        if codes.shape[1] * np.log2(max(base, 2)) < 62:  # one integer per row: a 1-D unique
            _, first, index = np.unique(codes @ base ** np.arange(codes.shape[1], dtype=np.int64),
                                           return_index=True, return_inverse=True)
            unique = codes[first]
        else:
            unique, index = np.unique(codes, axis=0, return_inverse=True)
        return np.where(unique == 0, np.nan, unique - 1).astype(float), index.reshape(-1)

    def _factor_weights(self, factor_obs: np.ndarray) -> np.ndarray:
        """P(f), zeroed where it contradicts the factor evidence: patterns x factor states."""
        return np.where(consistent_states(factor_obs, self._factor_states, self._factor_cards,
                                          self._factor_one_hot),
                        np.exp(self._log_factor_prior), 0.0)

    def posterior(self, findings_obs: np.ndarray, factor_obs: np.ndarray) -> np.ndarray:
        """P(cause present | evidence) for each case: ``run(...).marginals``."""
        return self.run(findings_obs, factor_obs).marginals

    def run(self, findings_obs: np.ndarray, factor_obs: np.ndarray, joint: bool = False
            ) -> EngineResult:
        """Exact inference for each case.

        Parameters
        ----------
        findings_obs : ndarray, shape (n, len(findings))
            1 present, 0 absent, NaN unobserved.
        factor_obs : ndarray, shape (n, len(factors))
            The contributing factors' observed state indices (1 / 0 for two-state
            factors), NaN unobserved.
        joint : bool
            Also return the posterior over every joint state of the causes.

        Returns
        -------
        EngineResult
            NaN where the evidence has probability zero in floating point.
        """
        if joint and len(findings_obs) * 2**self.n_causes * 8 > self.memory_budget // 2:
            raise EngineTooLarge(
                f"the joint over {2**self.n_causes:,} cause states for {len(findings_obs)} "
                "cases exceeds the memory budget"
            )
        # BLAS's own thread count is left alone: threadpoolctl's limit changes it for the
        # whole process, which raced under concurrent calls (issue 10) and, measured again,
        # made small batches no faster.
        return self._run(findings_obs, factor_obs, joint)

    def cause_states(self) -> np.ndarray:
        """The joint cause states in the order of ``EngineResult.joint``: rows of bits
        (bool), a column per cause."""
        return self._bits(0, 2**self.n_causes, self.n_causes).astype(bool)

    def _run(self, findings_obs: np.ndarray, factor_obs: np.ndarray, joint: bool
             ) -> EngineResult:
        n, n_c = findings_obs.shape[0], self.n_causes
        direct_ev = self._evidence_matrix(findings_obs[:, self._direct])
        factor_patterns, factor_of = self._patterns(factor_obs)
        unobserved = np.isnan(factor_patterns).all(axis=1)
        # P(f) consistent with the factor evidence: only needed where some factor is seen
        weights = None if unobserved.all() else self._factor_weights(factor_patterns)
        if self._families is None:
            mech_patterns, mech_of = self._patterns(findings_obs[:, self._indirect])
            groups = [(self._evidence_matrix(mech_patterns), mech_of)]
        else:  # each mechanism's own findings: their own, fewer, patterns
            groups = []
            for family in self._families:
                patterns, of = self._patterns(findings_obs[:, family])
                groups.append((self._evidence_matrix(patterns), of))
        top = np.full(n, -np.inf)  # running log-sum-exp over the blocks
        mass = np.zeros((n, 2 * n_c))  # per cause: mass with it present, then absent
        log_joint_all = np.empty((n, 2**n_c)) if joint else None
        rows = max(1, self.memory_budget // (8 * 8 * self.block))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            for start in range(0, 2**n_c, self.block):
                direct, w_states, shift, log_marginal, mechanism_tables, present_absent = (
                    self._block_tables(start))
                log_prior = np.empty((len(factor_patterns), len(shift)))  # patterns x block
                log_prior[unobserved] = log_marginal
                if not unobserved.all():
                    log_prior[~unobserved] = np.log(weights[~unobserved] @ w_states) + shift
                if self._families is None:
                    indirect, mech_prob = mechanism_tables
                    terms = [(self._mechanism_term(groups[0][0], indirect, mech_prob),
                              groups[0][1])]
                else:
                    terms = [(self._family_term(ev, *table), of)
                             for (ev, of), table in zip(groups, mechanism_tables, strict=True)]
                for lo in range(0, n, rows):
                    part = slice(lo, lo + rows)
                    log_joint = direct_ev[part] @ direct
                    log_joint += log_prior[factor_of[part]]
                    for term, of in terms:
                        if term is not None:
                            log_joint += term[of[part]]
                    if log_joint_all is not None:
                        log_joint_all[part, start:start + log_joint.shape[1]] = log_joint
                    new_top = np.maximum(top[part], log_joint.max(axis=1))
                    scale = np.exp(top[part] - new_top)
                    log_joint -= new_top[:, None]
                    mass[part] = (mass[part] * scale[:, None]
                                  + np.exp(log_joint, out=log_joint) @ present_absent)
                    top[part] = new_top
            present, absent = mass[:, :n_c], mass[:, n_c:]
            total = present[:, 0] + absent[:, 0]
            log_evidence = np.log(total) + top
            return EngineResult(
                marginals=present / total[:, None],
                log_odds=np.log(present) - np.log(absent),
                log_evidence=log_evidence,
                joint=None if log_joint_all is None
                else np.exp(log_joint_all - log_evidence[:, None]),
            )

    @staticmethod
    def _family_term(ev: np.ndarray, logs: np.ndarray, log_mech: np.ndarray
                     ) -> np.ndarray | None:
        """log sum_m P(m | c) prod_x P(x = e_x | c, m) for one mechanism and its findings, per
        evidence pattern and cause state; None where none of its findings is observed."""
        if not ev.any():
            return None
        log_like = (ev @ logs).reshape(len(ev), -1, 2) + log_mech[None]  # patterns, c, m
        top = log_like.max(axis=2, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(np.exp(log_like - top).sum(axis=2)) + top[:, :, 0]

    def _mechanism_term(self, mech_ev: np.ndarray, indirect: np.ndarray,
                        mech_prob: np.ndarray) -> np.ndarray | None:
        """log sum_m P(m | c) prod_x P(x = e_x | c, m) per mechanism-evidence pattern and
        cause state; None when it is zero (no mechanisms, or none of their findings seen)."""
        if self.n_mech == 0 or not mech_ev.any():
            return None  # no finding behind a mechanism is observed: the term is log 1 = 0
        log_like = mech_ev @ indirect  # patterns x (cause state, mechanism state)
        # Shifting by each row's maximum keeps the largest term at exp(0) = 1; terms more
        # than e^-700 below it contribute nothing at double precision anyway.
        row_top = log_like.max(axis=1, keepdims=True)
        like = np.exp(log_like - row_top, out=log_like) * mech_prob
        return np.log(like.reshape(len(like), -1, 2**self.n_mech).sum(axis=2)) + row_top

