"""Differential reasoning on the compiled engine: why (weights of evidence), what next
(expected information gain), could it be two things (most probable joint explanations), and
how do two causes compare. Every number is exact: each question is a handful of evidence
sets answered in one batched engine run, never a sample."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import TRIAGE_LEVELS, DecisionLoss
from .engine import CompiledEngine, EngineResult
from .errors import KneebayesError, ModelTooLarge, suggest
from .evidence import evidence_arrays, state_word
from .triage import assess

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["RANKINGS", "Comparison", "compare", "expected_loss", "explain",
           "most_probable_explanation", "next_findings", "reversal_notes", "rules_level"]

RANKINGS = ("decision", "information")
"""How :func:`next_findings` ranks questions: by the expected reduction in decision loss
(the priors file's ``[decision]`` table), or by expected information gain in bits."""

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


# Weights of evidence closer to 0 than this (a likelihood ratio within about 1% of 1) have
# no direction worth a sentence.
_NEUTRAL_WEIGHT = 0.005


def explain(model: DiagnosticModel, observed: dict[str, int], cause: str,
            method: str = "compiled") -> pd.DataFrame:
    """Weight of evidence of each observation for `cause` (see
    :meth:`DiagnosticModel.explain`)."""
    c = _check_cause(model, cause)
    items = list(observed)
    leave_one_out = [{k: v for k, v in observed.items() if k != item} for item in items]
    alone = [{item: observed[item]} for item in items]
    result = _run(model, [observed, {}, *leave_one_out, *alone], method=method)
    log10_odds = result.log_odds[:, c] * _LOG10_E
    n = len(items)
    posterior_odds, prior_odds = log10_odds[0], log10_odds[1]
    without, by_itself = log10_odds[2:n + 2], log10_odds[n + 2:]
    woe = posterior_odds - without
    weight_alone = by_itself - prior_odds
    order = np.argsort(-np.abs(woe), kind="stable")
    ranked = [items[i] for i in order]
    # The same observations added one at a time in that order: these steps add up exactly
    # from the prior log-odds to the posterior log-odds.
    prefixes = [{k: observed[k] for k in ranked[: i + 1]} for i in range(len(ranked))]
    steps = np.empty(0)
    if prefixes:
        cumulative = _run(model, prefixes, method=method).log_odds[:, c] * _LOG10_E
        steps = np.diff(np.concatenate([[prior_odds], cumulative]))
    flipped = {items[i] for i in range(n)
               if min(abs(woe[i]), abs(weight_alone[i])) > _NEUTRAL_WEIGHT
               and np.sign(woe[i]) != np.sign(weight_alone[i])}
    turned_by = _turned_by(model, observed, c,
                           {items[i]: weight_alone[i] for i in range(n) if items[i] in flipped},
                           method)
    nodes = model.config.nodes
    frame = pd.DataFrame(
        {
            "label": [nodes[k].label for k in ranked],
            "role": [nodes[k].role for k in ranked],
            "value": [state_word(model.config, k, observed[k]) for k in ranked],
            "weight_of_evidence": woe[order],
            "likelihood_ratio": 10 ** woe[order],
            "posterior_without": result.marginals[2:n + 2, c][order],
            "sequential_weight": steps,
            "weight_alone": weight_alone[order],
            "turned_by": [turned_by.get(k, "") if k in flipped else "" for k in ranked],
        },
        index=pd.Index(ranked, name="evidence", dtype=object),
    )
    frame.insert(frame.columns.get_loc("turned_by"), "sign_reversed",
                 [k in flipped for k in ranked])
    frame.attrs.update(
        cause=cause,
        prior=float(result.marginals[1, c]),
        posterior=float(result.marginals[0, c]),
        prior_log10_odds=float(prior_odds),
        posterior_log10_odds=float(posterior_odds),
    )
    return frame


def _turned_by(model: DiagnosticModel, observed: dict[str, int], c: int,
               flipped: dict[str, float], method: str) -> dict[str, str]:
    """For each observation whose weight here has the opposite sign to its weight alone, the
    one other observation that reverses it on its own (the largest such reversal), if any:
    its weight given only that other observation, log odds({f, g}) - log odds({g})."""
    pairs = [(f, g) for f in flipped for g in observed if g != f]
    if not pairs:
        return {}
    cases = [*({f: observed[f], g: observed[g]} for f, g in pairs),
             *({g: observed[g]} for _, g in pairs)]
    log10_odds = _run(model, cases, method=method).log_odds[:, c] * _LOG10_E
    in_pair = log10_odds[:len(pairs)] - log10_odds[len(pairs):]
    best: dict[str, tuple[float, str]] = {}
    for (f, g), weight in zip(pairs, in_pair, strict=True):
        reversal = -np.sign(flipped[f]) * weight  # > 0 when g alone reverses f
        if reversal > _NEUTRAL_WEIGHT and reversal > best.get(f, (0.0, ""))[0]:
            best[f] = (reversal, g)
    return {f: g for f, (_, g) in best.items()}


def reversal_notes(model: DiagnosticModel, table: pd.DataFrame) -> list[str]:
    """Plain sentences for the observations of an :func:`explain` table whose weight here has
    the opposite sign to their weight alone (explaining away, or a finding read in the
    light of another), so that a reader is not left to wonder why, say, groin pain counts
    against hip disease."""
    nodes = model.config.nodes
    cause = nodes[table.attrs["cause"]].label
    notes = []
    for _, row in table[table["sign_reversed"]].iterrows():
        here = "for" if row["weight_of_evidence"] > 0 else "against"
        alone = "for" if row["weight_alone"] > 0 else "against"
        other = row["turned_by"]
        because = (f"{table.at[other, 'label']} = {table.at[other, 'value']}" if other
                   else "the other findings")
        notes.append(
            f"{row['label']} = {row['value']} counts {here} {cause} here (LR "
            f"{10 ** row['weight_of_evidence']:.2g}) although on its own it counts {alone} it "
            f"(LR {10 ** row['weight_alone']:.2g}): read together with {because}, another "
            f"cause accounts for it better (explaining away), so it changes sides.")
    return notes


def _with_each_finding(observed: dict[str, int], candidates: list[str]
                       ) -> list[dict[str, int]]:
    """The evidence, then the evidence plus each candidate present, then absent."""
    return [observed,
            *({**observed, f: 1} for f in candidates),
            *({**observed, f: 0} for f in candidates)]


def rules_level(config, observed: dict[str, int]) -> str:
    """The triage level of the red-flag rules alone (no posterior threshold)."""
    return assess(config, observed, dict.fromkeys(config.triage.causes, 0.0)).level


def expected_loss(marginals: np.ndarray, causes: tuple[str, ...], loss: DecisionLoss,
                  floor: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The expected loss of the best triage decision, and the level it comes to, for each
    row of `marginals` (cases x causes).

    Each condition of the loss table is its own decision (its own work-up: an X-ray, an
    aspiration, a D-dimer, an MRI), choosing the level that minimises
    ``action_cost[a] + P(c) * missed[c][a]``; the losses add over conditions and the case's
    level is the highest any condition needs. Levels below `floor` are not open: the
    red-flag rules already fired set it (:func:`rules_level`), and an answer cannot lower
    them, so a question is worth only what it can change above them. (A level reached
    through a posterior threshold is no floor: a reassuring answer can lower it.)
    """
    cost = np.array([loss.action_cost[a] for a in TRIAGE_LEVELS])
    columns = [causes.index(c) for c in loss.missed]
    harm = np.array([[row[a] for a in TRIAGE_LEVELS] for row in loss.missed.values()])
    by_level = cost + marginals[:, columns, None] * harm  # cases x conditions x levels
    by_level[..., :floor] = np.inf
    return by_level.min(axis=2).sum(axis=1), by_level.argmin(axis=2).max(axis=1)


def next_findings(model: DiagnosticModel, observed: dict[str, int], k: int | None = None,
                  target: str | None = None, method: str = "compiled",
                  by: str | None = None) -> pd.DataFrame:
    """Unobserved findings ranked by expected reduction in decision loss or by expected
    information gain (see :meth:`DiagnosticModel.next_findings`)."""
    t = None if target is None else _check_cause(model, target, "target")
    by = _ranking(model, by, target)
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
    )
    frame.attrs.update(target=about, entropy_bits=float(entropy[0]), ranking=by, advice=None)
    if by == "information":
        frame = frame.sort_values("information_gain", ascending=False, kind="stable")
        return frame if k is None else frame.head(k)
    triage = assess(model.config, observed, dict(zip(model.causes, result.marginals[0],
                                                     strict=True)))
    floor = TRIAGE_LEVELS.index(rules_level(model.config, observed))
    loss, level = expected_loss(result.marginals, model.causes, model.config.decision, floor)
    reduction = loss[0] - (p_present * loss[1:u + 1] + (1 - p_present) * loss[u + 1:])
    # >= 0 in exact arithmetic (the best level's loss is concave in the posterior); what is
    # left is rounding, and questions that cannot change the decision tie at 0 and fall
    # back to their information gain.
    frame.insert(3, "loss_reduction", np.where(reduction > 1e-9 * max(loss[0], 1.0),
                                               reduction, 0.0))
    frame.attrs.update(expected_loss=float(loss[0]), decision=TRIAGE_LEVELS[level[0]],
                       triage=triage.level)
    if triage.level == "urgent":
        names = ", ".join(nodes[c].label for c in triage.named) or "a red flag"
        frame.attrs["advice"] = (
            f"Triage is already urgent ({names}): refer for same-day assessment now rather "
            "than asking more; no answer can lower an urgent triage.")
        return frame.iloc[:0]
    frame = frame.sort_values(["loss_reduction", "information_gain"], ascending=False,
                              kind="stable")
    return frame if k is None else frame.head(k)


def _ranking(model: DiagnosticModel, by: str | None, target: str | None) -> str:
    """The ranking `by` asks for; by default decision loss where the priors file has a loss
    table and no `target` is given, else information."""
    if by is None:
        return "decision" if model.config.decision is not None and target is None \
            else "information"
    if by not in RANKINGS:
        raise KneebayesError(f"by: expected one of {list(RANKINGS)}, got {by!r}."
                             + suggest(str(by), RANKINGS))
    if by == "decision" and model.config.decision is None:
        raise KneebayesError("by: 'decision' needs a [decision] loss table in the priors "
                             f"file {model.config.path}; it has none (use 'information').")
    if by == "decision" and target is not None:
        raise KneebayesError("target: the decision ranking is about the triage decision, "
                             "not one cause; give by='information' with a target.")
    return by


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
