"""Evidence: read the many ways people write "present" and "absent", and check the ids."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .config import Categorical, Node, PriorsConfig
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
    "read_value",
    "retired_problem",
    "state_word",
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


def _category(value: Any, node: Node) -> int | None:
    """The state index of a categorical factor's value: a state's name (any case), a number
    read through the factor's bands, or unobserved; ``ValueError`` otherwise."""
    cpd = node.cpd
    assert isinstance(cpd, Categorical)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        word = value.strip()
        folded = {s.lower(): i for i, s in enumerate(cpd.states)}
        if word.lower() in folded:
            return folded[word.lower()]
        if word.lower() in _UNOBSERVED:
            return None
        number = _number_word(word)
    elif isinstance(value, bool | np.bool_):
        raise ValueError(value)
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(value) from None
        if math.isnan(number):
            return None
    state = np.nan if number is None else _band_states(cpd, np.array([number]))[0]
    if np.isnan(state):
        raise ValueError(value)
    return int(state)


def _band_states(cpd: Categorical, numbers: np.ndarray) -> np.ndarray:
    """The state index each number falls in by the factor's bands (each state's lower
    bound); NaN for a number below the first band, not finite, or a factor without bands."""
    if cpd.bands is None:
        return np.full(len(numbers), np.nan)
    states = np.searchsorted(np.array(cpd.bands), numbers, side="right") - 1.0
    return np.where((states < 0) | ~np.isfinite(numbers), np.nan, states)


def expected_values(node: Node) -> str:
    """What a value of `node` may be, for error messages."""
    if not isinstance(node.cpd, Categorical):
        return ACCEPTED_VALUES
    bands = node.cpd.bands
    numbers = "" if bands is None else (
        f", or a number of at least {bands[0]:g} read by the bands "
        + ", ".join(f"{s} from {b:g}" for s, b in zip(node.states, bands, strict=True)))
    return (f"one of the states {', '.join(node.states)} (any case){numbers} (None, NaN, '',"
            " 'NA' or 'unknown' for unobserved)")


def read_value(value: Any, node: Node) -> int | None:
    """The state index of one value of `node` (1 present / 0 absent for a two-state node),
    or ``None`` (unobserved); ``ValueError`` when it is none of the accepted values."""
    if isinstance(node.cpd, Categorical):
        return _category(value, node)
    return read_state(value)


def state_word(config: PriorsConfig, nid: str, state: int | None) -> str:
    """The name of a normalised state: 'present'/'absent', a categorical factor's state, or
    'unobserved'."""
    return "unobserved" if state is None else config.nodes[nid].states[state]


def retired_problem(config: PriorsConfig, nid: str, where: str) -> str | None:
    """The error for an id this priors file retired (split, renamed or removed), naming its
    replacements; None for any other id."""
    retired = config.retired.get(nid)
    if retired is None:
        return None
    instead = (f"use {', '.join(retired.replaced_by)} instead" if retired.replaced_by
               else "it has no replacement; drop it")
    return (f"{where}: {nid!r} was retired from this priors file ({retired.reason}); "
            f"{instead}.")


def normalise_evidence(
    evidence: Mapping[str, Any] | None, config: PriorsConfig, where: str = "evidence"
) -> dict[str, int]:
    """Check `evidence` against the model and return ``{id: state}`` for the observed ids:
    1 (present) or 0 (absent), or a categorical factor's state index.

    Findings and contributing factors may be observed; causes and mechanisms are latent.
    Unobserved entries (``None``, ``NaN``, ``''``) are dropped. A categorical factor takes a
    state's name or, where the file gives bands, a number (``age=63``).

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
        if (retired := retired_problem(config, nid, f"{where}[{shorten(nid)}]")) is not None:
            problems.append(retired)
            continue
        if nid not in observable:
            problems.append(
                f"{where}[{shorten(nid)}]: unknown finding or factor.{suggest(nid, observable)}"
            )
            continue
        try:
            state = read_value(value, config.nodes[nid])
        except ValueError:
            problems.append(f"{where}[{nid!r}]: expected {expected_values(config.nodes[nid])},"
                            f" got {shorten(value)}.")
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
    the state (1, 0, or a categorical factor's state index) or NaN."""
    def rows(ids: tuple[str, ...]) -> np.ndarray:
        return np.array([[case.get(i, np.nan) for i in ids] for case in cases],
                        dtype=float).reshape(len(cases), len(ids))

    return rows(config.findings), rows(config.factors)


def read_column(column: pd.Series, node: Node | None = None) -> tuple[np.ndarray, pd.Series]:
    """A column as state floats (1/0/NaN; a categorical factor's state index), and the cells
    that could not be read.

    Text and mixed columns are factorised first: each distinct spelling is read once (a
    column of a million yes/no/empty cells has three), and the states are gathered by code,
    so reading costs a hash per cell rather than Python per cell.
    """
    if node is not None and isinstance(node.cpd, Categorical):
        return _read_categorical(column, node)
    if pd.api.types.is_bool_dtype(column.dtype):
        values = column.astype("float64").to_numpy()  # pandas nullable booleans keep NA
        return values, column.iloc[0:0]
    if pd.api.types.is_numeric_dtype(column.dtype):
        values = column.astype("float64").to_numpy()
        bad = ~(np.isnan(values) | (values == 0) | (values == 1))
        return np.where(bad, np.nan, values), column[bad]
    return _read_spellings(column, read_state)


def _read_spellings(column: pd.Series, read: Callable[[Any], int | None]
                    ) -> tuple[np.ndarray, pd.Series]:
    """A text or mixed column read one distinct spelling at a time by `read` (a state index,
    None for unobserved, ValueError when unreadable), gathered back by code."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    states = np.full(len(uniques) + 1, np.nan)  # the last: code -1, a missing cell
    readable = np.ones(len(uniques) + 1, dtype=bool)
    for i, value in enumerate(uniques):
        try:
            state = read(value)
        except ValueError:
            readable[i] = False
            continue
        states[i] = np.nan if state is None else state
    return states[codes], column[~readable[codes]]


def _read_categorical(column: pd.Series, node: Node) -> tuple[np.ndarray, pd.Series]:
    """A categorical factor's column as state indices (NaN unobserved), and the bad cells;
    numbers through the bands, vectorised."""
    cpd = node.cpd
    assert isinstance(cpd, Categorical)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype):
        numbers = column.astype("float64").to_numpy()
        states = _band_states(cpd, numbers)
        return states, column[~np.isnan(numbers) & np.isnan(states)]
    return _read_spellings(column, lambda value: _category(value, node))


def read_columns(frame: pd.DataFrame, ids: list[str], where: str, problems: list[str],
                 config: PriorsConfig | None = None) -> dict[str, np.ndarray]:
    """The columns `ids` of `frame` as state arrays (see :func:`read_column`); each
    unreadable cell (the first five per column, then a count) is added to `problems`, naming
    its row and column."""
    out = {}
    for nid in ids:
        node = None if config is None else config.nodes[nid]
        values, bad = read_column(frame[nid], node)
        expected = ACCEPTED_VALUES if node is None else expected_values(node)
        for row, value in list(bad.items())[:5]:
            problems.append(f"{where}: row {shorten(row)}, column {nid!r}: expected "
                            f"{expected}, got {shorten(value)}.")
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
        if (retired := retired_problem(config, str(name), f"{where}: column {shorten(name)}")
                ) is not None:
            problems.append(retired)
        elif name in latent:
            problems.append(f"{where}: column {name!r} is a {config.nodes[name].role}, which is "
                            "latent and cannot be observed; drop it (kneebayes sample "
                            "--no-latent writes none; kneebayes evaluate reads causes as "
                            "labels).")
        elif name not in observable:
            problems.append(
                f"{where}: column {shorten(name)} is not a finding or factor of this model."
                f"{suggest(str(name), observable)} Make it the index (kneebayes score "
                "--id-column NAME), drop it, pass --ignore-extra, or map it with --columns FILE."
            )
    if frame.columns.duplicated().any():
        duplicated = list(frame.columns[frame.columns.duplicated()])
        problems.append(f"{where}: duplicate columns {duplicated}.")
    if problems:
        raise EvidenceError("\n".join(problems))

    columns = read_columns(frame, [c for c in frame.columns if c in observable], where,
                           problems, config)

    def block(ids: tuple[str, ...]) -> np.ndarray:
        return as_columns([columns.get(i, np.full(len(frame), np.nan)) for i in ids],
                          len(frame))

    arrays = block(config.findings), block(config.factors)
    if problems:
        raise EvidenceError("\n".join(problems))
    return arrays
