"""Exceptions raised by kneebayes, and the close-match suggestion used in their messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "EvidenceError",
    "KneebayesError",
    "ModelTooLarge",
    "shorten",
    "suggest",
]

_SHOWN = 60  # characters of a bad value echoed in a message


class KneebayesError(ValueError):
    """Base class of every error kneebayes raises about its input."""


class ConfigError(KneebayesError):
    """A priors file is malformed.

    Parameters
    ----------
    path : str
        The file the problems were found in.
    problems : list of str
        One line per problem, each naming the key path, what was expected and what was got.
    kind : str
        What the file is ("priors file", "vignettes file").
    """

    def __init__(self, path: str, problems: list[str], kind: str = "priors file"):
        self.path = str(path)
        self.problems = list(problems)
        count = len(self.problems)
        head = f"{self.path}: {count} problem{'s' if count != 1 else ''} in the {kind}"
        super().__init__(head + "\n" + "\n".join(f"  - {p}" for p in self.problems))


class EvidenceError(KneebayesError):
    """Evidence names an unknown node, gives a value that cannot be read, or is impossible."""


class ModelTooLarge(KneebayesError):
    """A computation would need more memory than the model's budget; raised before any of it
    is allocated, with what to do instead."""


def shorten(value: object, width: int = _SHOWN) -> str:
    """``repr(value)``, cut to about `width` characters: a bad 100,000-character cell is
    named, not echoed whole."""
    text = repr(value)
    if len(text) <= width:
        return text
    return f"{text[:width]}... ({len(text):,} characters)"


def suggest(name: str, known: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the close matches of `name`, or an empty string."""
    matches = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(repr(m) for m in matches) + "?"
