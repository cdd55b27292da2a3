"""Evidence: read the many ways people write "present" and "absent", and check the ids."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .config import PriorsConfig
from .errors import EvidenceError, shorten, suggest
from .tables import as_columns

__all__ = [
    "ACCEPTED_VALUES",
    "evidence_arrays",
    "frame_arrays",
    "normalise_evidence",
    "read_column",
    "read_columns",
    "read_state",
]

_PRESENT = {"present", "yes", "positive", "true", "1", "y", "pos", "+"}
_ABSENT = {"absent", "no", "negative", "false", "0", "n", "neg", "-"}
_UNOBSERVED = {"", "nan", "na", "n/a", "null", "none", "unknown", "?"}
ACCEPTED_VALUES = (
    "True/False, 1/0 (or '1.0'/'0.0'), 'present'/'absent', 'yes'/'no', 'y'/'n', "
    "'positive'/'negative', 'pos'/'neg', '+'/'-' or 'true'/'false', in any case "
    "(None, NaN, '', 'NA', 'n/a', 'null', 'none', 'unknown' or '?' for "
    "unobserved)"
)


def _number_word(word: str) -> float | None:
    """``'1.0'`` -> 1.0: a number written as text reads like the number (CSV files written
    by other tools say ``1.0``)."""
    try:
        return float(word)
    except ValueError:
        return None


def read_state(value: Any) -> int | None:
    """Return 1 (present), 0 (absent) or ``None`` (unobserved); raise ``ValueError`` otherwise."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _PRESENT:
            return 1
        if word in _ABSENT:
            return 0
        if word in _UNOBSERVED:
            return None
        number = _number_word(word)
        if number in (0.0, 1.0):
            return int(number)
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
                f"{where}[{shorten(nid)}]: {nid} is a {role}, which is latent and cannot be "
                "observed; give findings or contributing factors."
            )
            continue
        if nid not in observable:
            problems.append(
                f"{where}[{shorten(nid)}]: unknown finding or factor.{suggest(nid, observable)}"
            )
            continue
        try:
            state = read_state(value)
        except ValueError:
            problems.append(f"{where}[{nid!r}]: expected {ACCEPTED_VALUES}, got "
                            f"{shorten(value)}.")
            continue
        if state is not None:
            observed[nid] = state
    if problems:
        raise EvidenceError("\n".join(problems))
    return observed


def evidence_arrays(
    cases: Sequence[Mapping[str, int]], config: PriorsConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised evidence of several cases as arrays (findings, factors): a row per case,
    1, 0 or NaN."""
    def rows(ids: tuple[str, ...]) -> np.ndarray:
        return np.array([[case.get(i, np.nan) for i in ids] for case in cases],
                        dtype=float).reshape(len(cases), len(ids))

    return rows(config.findings), rows(config.factors)


def read_column(column: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """A column as 1/0/NaN floats, and the cells that could not be read.

    Text and mixed columns are factorised first: each distinct spelling is read once (a
    column of a million yes/no/empty cells has three), and the states are gathered by code,
    so reading costs a hash per cell rather than Python per cell.
    """
    if pd.api.types.is_bool_dtype(column.dtype):
        values = column.astype("float64").to_numpy()  # pandas nullable booleans keep NA
        return values, column.iloc[0:0]
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.astype("float64").to_numpy()
        bad = ~(np.isnan(values) | (values == 0) | (values == 1))
        return np.where(bad, np.nan, values), column[bad]
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    states = np.empty(len(uniques) + 1)
    readable = np.ones(len(uniques) + 1, dtype=bool)
    for i, value in enumerate(uniques):
        try:
            state = read_state(value)
        except ValueError:
            readable[i] = False
            state = None
        states[i] = np.nan if state is None else state
    states[-1] = np.nan  # code -1: a missing cell
    values = states[codes]
    bad = ~readable[codes]
    return values, column[bad]




def read_columns(frame: pd.DataFrame, ids: list[str], where: str, problems: list[str]
                 ) -> dict[str, np.ndarray]:
    """The columns `ids` of `frame` as 1/0/NaN arrays; each unreadable cell (the first five
    per column, then a count) is added to `problems`, naming its row and column."""
    out = {}
    for nid in ids:
        values, bad = read_column(frame[nid])
        for row, value in list(bad.items())[:5]:
            problems.append(f"{where}: row {shorten(row)}, column {nid!r}: expected "
                            f"{ACCEPTED_VALUES}, got {shorten(value)}.")
        if len(bad) > 5:
            problems.append(f"{where}: column {nid!r}: {len(bad) - 5} more unreadable cells.")
        out[nid] = values
    return out


def frame_arrays(
    frame: pd.DataFrame, config: PriorsConfig, where: str = "cases"
) -> tuple[np.ndarray, np.ndarray]:
    """A DataFrame of cases (a column per finding or factor id) as arrays (findings, factors)
    of 1, 0 or NaN. Columns for ids the model does not have, latent ids and unreadable cells
    raise :class:`EvidenceError` naming the row and column."""
    problems = []
    observable = set(config.findings) | set(config.factors)
    latent = set(config.causes) | set(config.mechanisms)
    for name in frame.columns:
        if name in latent:
            problems.append(f"{where}: column {name!r} is a {config.nodes[name].role}, which is "
                            "latent and cannot be observed; drop it.")
        elif name not in observable:
            problems.append(
                f"{where}: column {shorten(name)} is not a finding or factor of this model."
                f"{suggest(str(name), observable)} Make it the index (kneebayes score "
                "--id-column NAME) or drop it."
            )
    if frame.columns.duplicated().any():
        duplicated = list(frame.columns[frame.columns.duplicated()])
        problems.append(f"{where}: duplicate columns {duplicated}.")
    if problems:
        raise EvidenceError("\n".join(problems))

    columns = read_columns(frame, [c for c in frame.columns if c in observable], where,
                           problems)

    def block(ids: tuple[str, ...]) -> np.ndarray:
        return as_columns([columns.get(i, np.full(len(frame), np.nan)) for i in ids],
                          len(frame))

    arrays = block(config.findings), block(config.factors)
    if problems:
        raise EvidenceError("\n".join(problems))
    return arrays
