"""Differential reasoning on the compiled engine: why (weights of evidence), what next
(expected information gain), could it be two things (most probable joint explanations), and
how do two causes compare. Every number is exact: each question is a handful of evidence
sets answered in one batched engine run, never a sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .engine import CompiledEngine, EngineResult
from .errors import KneebayesError, ModelTooLarge, suggest
from .evidence import evidence_arrays, state_word

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["Comparison", "compare", "explain", "most_probable_explanation", "next_findings"]

_LOG10_E = np.log10(np.e)


def _run(model: DiagnosticModel, cases: list[dict[str, int]], joint: bool = False,
         method: str = "compiled") -> EngineResult:
    """One engine run over several evidence sets (normalised dicts)."""
    engine = model._backend(method)
    if engine is None:
        raise KneebayesError("method: reasoning runs on kneebayes' engines ('compiled', "
                             "'dense' or 'sparse'), not on 'pgmpy'.")
    findings, factors = evidence_arrays(cases, model.config)
    if not joint:
        return engine.run(findings, factors)
    if method == "compiled" and not isinstance(engine, CompiledEngine):
        try:  # the joint needs the dense engine, even where the sparse one is faster
            engine = model.dense_engine
        except ModelTooLarge:
            pass
    if not isinstance(engine, CompiledEngine):
        raise ModelTooLarge(
            f"this reasoning needs the posterior over all {2**len(model.causes):,} joint "
            "states of the causes, which only the dense engine gives, and it does not fit "
            "the memory budget: ask about one cause (target=CAUSE in Python, --target CAUSE "
            "on the command line), or raise the memory budget.")
    return engine.run(findings, factors, joint=True)


def _check_cause(model: DiagnosticModel, cause: str, what: str = "cause") -> int:
    if cause not in model.causes:
        raise KneebayesError(f"{what}: expected one of the causes {list(model.causes)}, got "
                             f"{cause!r}.{suggest(cause, model.causes)}")
    return model.causes.index(cause)


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    """Shannon entropy in bits along the last axis (0 log 0 = 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log2(p), 0.0).sum(axis=-1)


def _information_gain(entropy: np.ndarray, p_present: np.ndarray) -> np.ndarray:
    """H(now) - E[H(after)] for each candidate, from the entropies of [now, each candidate
    present..., each candidate absent...]; clipped at 0 (it is >= 0 in exact arithmetic)."""
    u = len(p_present)
    expected = p_present * entropy[1:u + 1] + (1 - p_present) * entropy[u + 1:]
    return np.maximum(entropy[0] - expected, 0.0)


def explain(model: DiagnosticModel, observed: dict[str, int], cause: str,
            method: str = "compiled") -> pd.DataFrame:
    """Weight of evidence of each observation for `cause` (see
    :meth:`DiagnosticModel.explain`)."""
    c = _check_cause(model, cause)
    items = list(observed)
    leave_one_out = [{k: v for k, v in observed.items() if k != item} for item in items]
    result = _run(model, [observed, {}, *leave_one_out], method=method)
    log10_odds = result.log_odds[:, c] * _LOG10_E
    posterior_odds, prior_odds, without = log10_odds[0], log10_odds[1], log10_odds[2:]
    woe = posterior_odds - without
    order = np.argsort(-np.abs(woe), kind="stable")
    ranked = [items[i] for i in order]
    # The same observations added one at a time in that order: these steps add up exactly
    # from the prior log-odds to the posterior log-odds.
    prefixes = [{k: observed[k] for k in ranked[: i + 1]} for i in range(len(ranked))]
    steps = np.empty(0)
    if prefixes:
        cumulative = _run(model, prefixes, method=method).log_odds[:, c] * _LOG10_E
        steps = np.diff(np.concatenate([[prior_odds], cumulative]))
    nodes = model.config.nodes
    frame = pd.DataFrame(
        {
            "label": [nodes[k].label for k in ranked],
            "role": [nodes[k].role for k in ranked],
            "value": [state_word(model.config, k, observed[k]) for k in ranked],
            "weight_of_evidence": woe[order],
            "likelihood_ratio": 10 ** woe[order],
            "posterior_without": result.marginals[2:, c][order],
            "sequential_weight": steps,
        },
        index=pd.Index(ranked, name="evidence", dtype=object),
    )
    frame.attrs.update(
        cause=cause,
        prior=float(result.marginals[1, c]),
        posterior=float(result.marginals[0, c]),
        prior_log10_odds=float(prior_odds),
        posterior_log10_odds=float(posterior_odds),
    )
    return frame


def _with_each_finding(observed: dict[str, int], candidates: list[str]
                       ) -> list[dict[str, int]]:
    """The evidence, then the evidence plus each candidate present, then absent."""
    return [observed,
            *({**observed, f: 1} for f in candidates),
            *({**observed, f: 0} for f in candidates)]


def next_findings(model: DiagnosticModel, observed: dict[str, int], k: int | None = None,
                  target: str | None = None, method: str = "compiled") -> pd.DataFrame:
    """Unobserved findings ranked by expected information gain (see
    :meth:`DiagnosticModel.next_findings`)."""
    t = None if target is None else _check_cause(model, target, "target")
    candidates = [f for f in model.findings if f not in observed]
    cases = _with_each_finding(observed, candidates)
    about = target or "all causes (joint)"
    try:
        result = _run(model, cases, joint=t is None, method=method)
    except ModelTooLarge:
        if t is not None:
            raise
        # The joint over every cause state does not fit: rank by the information about
        # each cause, summed (not the joint gain: information a finding gives about two
        # causes at once is counted twice).
        result = _run(model, cases, method=method)
        about = "each cause (sum of per-cause gains: the joint does not fit in memory)"
    u = len(candidates)
    p_present = np.exp(result.log_evidence[1:u + 1] - result.log_evidence[0])
    if result.joint is not None and t is None:  # about the joint state of every cause
        entropy = _entropy_bits(result.joint)
    elif t is None:
        p = result.marginals
        entropy = _entropy_bits(np.stack([p, 1 - p], axis=-1)).sum(axis=-1)
    else:
        p = result.marginals[:, t]
        entropy = _entropy_bits(np.stack([p, 1 - p], axis=-1))
    gain = _information_gain(entropy, p_present)
    nodes = model.config.nodes
    cost = np.array([np.nan if nodes[f].cost is None else nodes[f].cost for f in candidates])
    frame = pd.DataFrame(
        {
            "label": [nodes[f].label for f in candidates],
            "kind": [nodes[f].kind for f in candidates],
            "p_present": p_present,
            "information_gain": gain,
            "cost": cost,
            "gain_per_cost": gain / cost,
        },
        index=pd.Index(candidates, name="finding", dtype=object),
    ).sort_values("information_gain", ascending=False, kind="stable")
    frame.attrs.update(target=about, entropy_bits=float(entropy[0]))
    return frame if k is None else frame.head(k)


def most_probable_explanation(model: DiagnosticModel, observed: dict[str, int], k: int = 5
                              ) -> pd.DataFrame:
    """The `k` most probable joint states of the causes (see
    :meth:`DiagnosticModel.most_probable_explanation`)."""
    result = _run(model, [observed], joint=True)
    joint = result.joint[0]
    states = model.engine.cause_states()
    order = np.argsort(-joint, kind="stable")[:k]
    present = [tuple(c for c, on in zip(model.causes, states[i], strict=True) if on)
               for i in order]
    frame = pd.DataFrame(states[order], columns=list(model.causes))
    frame.insert(0, "probability", joint[order])
    frame.insert(0, "causes", [" + ".join(p) if p else "(none of the causes)" for p in present])
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="rank")
    return frame


@dataclass(frozen=True)
class Comparison:
    """Two causes side by side.

    Attributes
    ----------
    a, b : str
        The cause ids.
    p_a, p_b : float
        Their posterior probabilities (not exclusive: both may be present).
    odds : float
        P(a) / P(b).
    exclusive_odds : float
        P(a present, b absent) / P(a absent, b present): the odds of "a rather than b".
    findings : pandas.DataFrame
        Unobserved findings ranked by the information (bits) they carry about "a rather than
        b" (which one, given exactly one of them is present), with P(finding present) if a
        alone or b alone were present, and their ratio.
    """

    a: str
    b: str
    p_a: float
    p_b: float
    odds: float
    exclusive_odds: float
    findings: pd.DataFrame

    def __str__(self) -> str:
        lines = [f"P({self.a}) = {self.p_a:.1%}, P({self.b}) = {self.p_b:.1%}; odds "
                 f"{self.odds:.3g}; odds of {self.a} rather than {self.b}: "
                 f"{self.exclusive_odds:.3g}", "Findings that best tell them apart:"]
        for f, row in self.findings.head(5).iterrows():
            lines.append(f"  {f:<34} {row['information_gain']:.3f} bits  "
                         f"P(present | {self.a} only) {row['p_if_a_only']:.2f}, "
                         f"P(present | {self.b} only) {row['p_if_b_only']:.2f}")
        return "\n".join(lines)


def compare(model: DiagnosticModel, observed: dict[str, int], a: str, b: str) -> Comparison:
    """See :meth:`DiagnosticModel.compare`."""
    i, j = _check_cause(model, a, "a"), _check_cause(model, b, "b")
    if i == j:
        raise KneebayesError(f"compare: expected two different causes, got {a!r} twice.")
    candidates = [f for f in model.findings if f not in observed]
    result = _run(model, _with_each_finding(observed, candidates), joint=True)
    states = model.engine.cause_states()
    # P(a, b | evidence) over the four states (absent/absent, absent/present, ...).
    pair = np.stack([result.joint[:, (states[:, i] == sa) & (states[:, j] == sb)].sum(axis=1)
                     for sa in (False, True) for sb in (False, True)], axis=1)
    u = len(candidates)
    p_present = np.exp(result.log_evidence[1:u + 1] - result.log_evidence[0])
    # "a rather than b": the binary question of which one, given exactly one is present.
    one = pair[:, 1] + pair[:, 2]
    which = _entropy_bits(np.stack([pair[:, 2] / one, pair[:, 1] / one], axis=-1))
    gain = _information_gain(which, p_present * one[1:u + 1] / one[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        # P(f present | evidence, a only) = P(f | e) P(a only | e, f) / P(a only | e)
        if_a = p_present * pair[1:u + 1, 2] / pair[0, 2]
        if_b = p_present * pair[1:u + 1, 1] / pair[0, 1]
    nodes = model.config.nodes
    findings = pd.DataFrame(
        {
            "label": [nodes[f].label for f in candidates],
            "information_gain": gain,
            "p_if_a_only": if_a,
            "p_if_b_only": if_b,
            "likelihood_ratio": if_a / if_b,
        },
        index=pd.Index(candidates, name="finding", dtype=object),
    ).sort_values("information_gain", ascending=False, kind="stable")
    p_a, p_b = result.marginals[0, i], result.marginals[0, j]
    return Comparison(a, b, float(p_a), float(p_b), float(p_a / p_b),
                      float(pair[0, 2] / pair[0, 1]), findings)
