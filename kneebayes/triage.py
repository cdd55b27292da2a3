"""Triage: red-flag rules and the must-not-miss posterior decide how soon to see a clinician.

Red flags are a decision rule, not only a probability: a rule fires on the findings alone,
whatever the posterior says, so that rare but serious presentations are never averaged away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .config import TRIAGE_LEVELS, PriorsConfig

__all__ = ["LEVEL_COLOURS", "NOTICE", "Triage", "assess", "assess_batch"]

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
        What to do, one line per fired rule, then one for the posterior threshold if crossed.
    probability : float
        Posterior probability of the must-not-miss cause named in the priors file.
    """

    level: str
    flags: tuple[str, ...]
    messages: tuple[str, ...]
    probability: float

    @property
    def headline(self) -> str:
        return _HEADLINE[self.level]

    def to_dict(self) -> dict[str, object]:
        return {
            "level": self.level,
            "flags": list(self.flags),
            "messages": list(self.messages),
            "probability": self.probability,
        }

    def __str__(self) -> str:
        return "\n".join([f"Triage: {self.headline}", *(f"  ! {m}" for m in self.messages)])


def assess(config: PriorsConfig, observed: Mapping[str, int], probability: float) -> Triage:
    """Triage a case from its normalised evidence and the must-not-miss posterior.

    Parameters
    ----------
    config : PriorsConfig
    observed : mapping of str to {0, 1}
        Normalised evidence (see :func:`kneebayes.evidence.normalise_evidence`).
    probability : float
        P(``config.triage.cause`` present | evidence).
    """
    rank = TRIAGE_LEVELS.index
    level, flags, messages = "none", [], []
    for rule in config.red_flags:
        if all(observed.get(nid) == 1 for nid in rule.when):
            flags.append(rule.id)
            messages.append(rule.message)
            level = max(level, rule.level, key=rank)
    threshold_level = _threshold_rank(config, np.array([probability]))[0]
    if threshold_level:
        rule = config.triage
        threshold = (rule.see_clinician_above, rule.urgent_above)[threshold_level - 1]
        messages.append(
            f"P({config.nodes[rule.cause].label}) = {probability:.1%} is above the "
            f"{threshold:.0%} threshold for '{TRIAGE_LEVELS[threshold_level]}'."
        )
        level = max(level, TRIAGE_LEVELS[threshold_level], key=rank)
    return Triage(level, tuple(flags), tuple(messages), float(probability))


def _threshold_rank(config: PriorsConfig, probability: np.ndarray) -> np.ndarray:
    """0, 1 or 2 (none, see_clinician, urgent) from the must-not-miss posterior alone."""
    rule = config.triage
    return (probability > rule.see_clinician_above).astype(int) + (
        probability > rule.urgent_above
    ).astype(int)


def assess_batch(
    config: PriorsConfig, observed: Mapping[str, np.ndarray], probability: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Triage many cases at once.

    Parameters
    ----------
    config : PriorsConfig
    observed : mapping of str to ndarray
        Per finding or factor id, its column of 1, 0 or NaN (missing ids are unobserved).
    probability : ndarray
        P(must-not-miss cause | evidence) per case.

    Returns
    -------
    levels : ndarray of str
        ``'none'``, ``'see_clinician'`` or ``'urgent'`` per case.
    flags : ndarray of str
        The fired red-flag rule ids per case, joined by ``';'`` (empty when none).
    """
    rank = _threshold_rank(config, probability)
    flags = np.full(len(probability), "", dtype=object)
    for rule in config.red_flags:
        fired = np.ones(len(probability), dtype=bool)
        for nid in rule.when:
            column = observed.get(nid)
            fired &= False if column is None else column == 1
        rank = np.where(fired, np.maximum(rank, TRIAGE_LEVELS.index(rule.level)), rank)
        flags = np.where(fired, flags + np.where(flags == "", "", ";") + rule.id, flags)
    return np.asarray(TRIAGE_LEVELS, dtype=object)[rank], flags
