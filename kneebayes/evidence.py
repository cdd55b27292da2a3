"""Evidence: read the many ways people write "present" and "absent", and check the ids."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from .config import PriorsConfig
from .errors import EvidenceError, suggest

__all__ = ["ACCEPTED_VALUES", "normalise_evidence", "read_state"]

_PRESENT = {"present", "yes", "positive", "true", "1", "y", "pos", "+"}
_ABSENT = {"absent", "no", "negative", "false", "0", "n", "neg", "-"}
_UNOBSERVED = {"", "nan", "na", "none", "unknown", "?"}
ACCEPTED_VALUES = (
    "True/False, 1/0, 'present'/'absent', 'yes'/'no' or 'positive'/'negative' "
    "(None, NaN or '' for unobserved)"
)


def read_state(value: Any) -> int | None:
    """Return 1 (present), 0 (absent) or ``None`` (unobserved); raise ``ValueError`` otherwise."""
    if value is None:
        return None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _PRESENT:
            return 1
        if word in _ABSENT:
            return 0
        if word in _UNOBSERVED:
            return None
        raise ValueError(value)
    try:  # bool, int, float and their numpy kin
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(value) from None
    if math.isnan(number):
        return None
    if number in (0.0, 1.0):
        return int(number)
    raise ValueError(value)


def normalise_evidence(
    evidence: Mapping[str, Any] | None, config: PriorsConfig, where: str = "evidence"
) -> dict[str, int]:
    """Check `evidence` against the model and return ``{id: 0 or 1}`` for the observed ids.

    Findings and contributing factors may be observed; causes and mechanisms are latent.
    Unobserved entries (``None``, ``NaN``, ``''``) are dropped.

    Raises
    ------
    EvidenceError
        For an unknown id (suggesting the close match), a latent id, or a value that is not
        one of the accepted spellings. Every problem is listed.
    """
    if evidence is None:
        return {}
    if not isinstance(evidence, Mapping) and not hasattr(evidence, "items"):
        raise EvidenceError(
            f"{where}: expected a mapping from node id to value, got {type(evidence).__name__}."
        )
    observable = set(config.findings) | set(config.factors)
    latent = set(config.causes) | set(config.mechanisms)
    problems = []
    observed: dict[str, int] = {}
    for key, value in evidence.items():
        nid = str(key)
        if nid in latent:
            role = config.nodes[nid].role
            problems.append(
                f"{where}[{nid!r}]: {nid} is a {role}, which is latent and cannot be observed; "
                "give findings or contributing factors."
            )
            continue
        if nid not in observable:
            problems.append(
                f"{where}[{nid!r}]: unknown finding or factor.{suggest(nid, observable)}"
            )
            continue
        try:
            state = read_state(value)
        except ValueError:
            problems.append(f"{where}[{nid!r}]: expected {ACCEPTED_VALUES}, got {value!r}.")
            continue
        if state is not None:
            observed[nid] = state
    if problems:
        raise EvidenceError("\n".join(problems))
    return observed
