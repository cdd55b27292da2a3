"""Triage: red-flag rules and the must-not-miss posterior decide how soon to see a clinician.

Red flags are a decision rule, not only a probability: a rule fires on the findings alone,
whatever the posterior says, so that rare but serious presentations are never averaged away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .config import TRIAGE_LEVELS, PriorsConfig, TriageCondition

__all__ = ["LEVEL_COLOURS", "NOTICE", "Triage", "assess", "assess_batch", "rule_holds"]

NOTICE = (
    "kneebayes is an educational and research tool, not a medical device: "
    "it does not diagnose; see a clinician about symptoms."
)

LEVEL_COLOURS = {"none": "#e8f5e9", "see_clinician": "#fff3cd", "urgent": "#f8d7da"}
"""Background colour of each triage level in HTML (widget banner, case report)."""

_HEADLINE = {
    "none": "No red flag found.",
    "see_clinician": "SEE A CLINICIAN: red flags or a raised probability of serious pathology.",
    "urgent": "URGENT: seek same-day medical assessment.",
}


@dataclass(frozen=True)
class Triage:
    """The triage of one case.

    Attributes
    ----------
    level : {'none', 'see_clinician', 'urgent'}
    flags : tuple of str
        Ids of the red-flag rules that fired.
    messages : tuple of str
        What to do, one line per fired rule, then one per must-not-miss condition whose
        posterior crossed a threshold (naming it).
    probability : float
        Posterior probability of the first must-not-miss cause of the priors file.
    probabilities : mapping of str to float
        Posterior probability of every must-not-miss cause.
    named : tuple of str
        The must-not-miss causes this triage is raised for: those named by a fired rule
        (its ``names``) and those whose posterior crossed a threshold.
    """

    level: str
    flags: tuple[str, ...]
    messages: tuple[str, ...]
    probability: float
    probabilities: Mapping[str, float] = field(default_factory=dict)
    named: tuple[str, ...] = ()

    @property
    def headline(self) -> str:
        return _HEADLINE[self.level]

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "flags": list(self.flags),
            "messages": list(self.messages),
            "probability": self.probability,
            "probabilities": dict(self.probabilities),
            "named": list(self.named),
        }

    def __str__(self) -> str:
        return "\n".join([f"Triage: {self.headline}", *(f"  ! {m}" for m in self.messages)])


def _rule_item(config: PriorsConfig, item: str) -> tuple[str, int]:
    """A red-flag rule's item as (node id, the state it needs): present (1) for a finding or
    two-state factor, the named state's index for ``factor=state``."""
    nid, _, state = item.partition("=")
    return nid, config.nodes[nid].states.index(state) if state else 1


def rule_holds(config: PriorsConfig, item: str, observed: Mapping[str, float]) -> bool:
    """Whether one item of a red-flag rule holds: a finding or two-state factor observed
    present, or ``factor=state`` observed in that state."""
    nid, wanted = _rule_item(config, item)
    return observed.get(nid) == wanted


def _crossed(condition: TriageCondition, p):
    """0, 1 or 2 (none, see_clinician, urgent): the thresholds of one must-not-miss
    condition that its posterior `p` (a number or an array of them) is above."""
    return (np.asarray(p > condition.see_clinician_above, dtype=int)
            + np.asarray(p > condition.urgent_above, dtype=int))


def _probabilities(config: PriorsConfig, probability: float | Mapping[str, float]
                   ) -> dict[str, float]:
    if isinstance(probability, Mapping):
        return {c: float(probability[c]) for c in config.triage.causes}
    return {config.triage.cause: float(probability)}  # the single-cause form


def assess(config: PriorsConfig, observed: Mapping[str, int],
           probability: float | Mapping[str, float]) -> Triage:
    """Triage a case from its normalised evidence and the must-not-miss posteriors.

    Parameters
    ----------
    config : PriorsConfig
    observed : mapping of str to int
        Normalised evidence (see :func:`kneebayes.evidence.normalise_evidence`).
    probability : float or mapping of str to float
        P(cause present | evidence) for every cause of ``config.triage.causes`` (a float:
        the first one's, for a single-cause file).
    """
    rank = TRIAGE_LEVELS.index
    level, flags, messages, named = "none", [], [], {}
    for rule in config.red_flags:
        if all(rule_holds(config, item, observed) for item in rule.when):
            flags.append(rule.id)
            messages.append(rule.message)
            named.update(dict.fromkeys(rule.names))
            level = max(level, rule.level, key=rank)
    probabilities = _probabilities(config, probability)
    for condition in config.triage.conditions:
        if condition.cause not in probabilities:
            continue
        p = probabilities[condition.cause]
        crossed = int(_crossed(condition, p))
        if crossed:
            threshold = (condition.see_clinician_above, condition.urgent_above)[crossed - 1]
            line = (f"P({config.nodes[condition.cause].label}) = {p:.1%} is above the "
                    f"{threshold:.0%} threshold for '{TRIAGE_LEVELS[crossed]}'.")
            messages.append(f"{line} {condition.message}" if condition.message else line)
            named[condition.cause] = None
            level = max(level, TRIAGE_LEVELS[crossed], key=rank)
    first = probabilities.get(config.triage.cause, float("nan"))
    return Triage(level, tuple(flags), tuple(messages), first, probabilities, tuple(named))


def assess_batch(
    config: PriorsConfig, observed: Mapping[str, np.ndarray],
    probability: np.ndarray | Mapping[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Triage many cases at once.

    Parameters
    ----------
    config : PriorsConfig
    observed : mapping of str to ndarray
        Per finding or factor id, its column of states or NaN (missing ids are unobserved).
    probability : ndarray, or mapping of str to ndarray
        P(cause | evidence) per case for every must-not-miss cause (an array: the first's).

    Returns
    -------
    levels : ndarray of str
        ``'none'``, ``'see_clinician'`` or ``'urgent'`` per case.
    flags : ndarray of str
        The fired red-flag rule ids per case, joined by ``';'`` (empty when none).
    """
    if not isinstance(probability, Mapping):
        probability = {config.triage.cause: np.asarray(probability)}
    n = len(next(iter(probability.values())))
    rank = np.zeros(n, dtype=int)
    for condition in config.triage.conditions:
        if condition.cause in probability:
            rank = np.maximum(rank, _crossed(condition, np.asarray(probability[condition.cause])))
    flags = np.full(n, "", dtype=object)
    for rule in config.red_flags:
        fired = np.ones(n, dtype=bool)
        for item in rule.when:
            nid, wanted = _rule_item(config, item)
            column = observed.get(nid)
            fired &= False if column is None else column == wanted
        rank = np.where(fired, np.maximum(rank, TRIAGE_LEVELS.index(rule.level)), rank)
        flags = np.where(fired, flags + np.where(flags == "", "", ";") + rule.id, flags)
    return np.asarray(TRIAGE_LEVELS, dtype=object)[rank], flags
