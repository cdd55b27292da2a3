"""Triage: red-flag rules and the must-not-miss posterior decide how soon to see a clinician.

Red flags are a decision rule, not only a probability: a rule fires on the findings alone,
whatever the posterior says, so that rare but serious presentations are never averaged away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .config import TRIAGE_LEVELS, PriorsConfig

__all__ = ["NOTICE", "Triage", "assess"]

NOTICE = (
    "kneebayes is an educational and research tool, not a medical device: "
    "it does not diagnose; see a clinician about symptoms."
)

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
    rule = config.triage
    for threshold, threshold_level in (
        (rule.urgent_above, "urgent"),
        (rule.see_clinician_above, "see_clinician"),
    ):
        if probability > threshold:
            label = config.nodes[rule.cause].label
            messages.append(
                f"P({label}) = {probability:.1%} is above the {threshold:.0%} threshold "
                f"for '{threshold_level}'."
            )
            level = max(level, threshold_level, key=rank)
            break
    return Triage(level, tuple(flags), tuple(messages), float(probability))
