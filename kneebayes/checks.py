"""Argument checks shared by the Python API and the command line.

Each check raises :class:`~kneebayes.errors.KneebayesError` in the package's message style
(where, what was expected, what was got), so that ``model.sample(n=-1)`` and
``kneebayes sample -n -1`` fail with the same sentence, and the command line turns it into
exit status 2.
"""

from __future__ import annotations

import math
import numbers

from .errors import KneebayesError, ModelTooLarge, shorten

__all__ = ["check_count", "check_fraction", "check_memory", "check_seed"]

_MAX_SEED = 2**63 - 1


def check_count(value: object, name: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in ``[minimum, maximum]`` (a bool is not a count)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise KneebayesError(f"{name}: expected an integer of at least {minimum}, got "
                             f"{shorten(value)}.")
    if value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and at most {maximum:,}"
        raise KneebayesError(f"{name}: expected an integer of at least {minimum}{upper}, got "
                             f"{value}.")
    return int(value)


def check_fraction(value: object, name: str) -> float:
    """A number strictly between 0 and 1 (a credible level, a missing rate)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            math.isfinite(value) and 0 < value < 1):
        raise KneebayesError(f"{name}: expected a number strictly between 0 and 1, got "
                             f"{shorten(value)}.")
    return float(value)


def check_seed(value: object, name: str = "seed") -> int | None:
    """``None`` (fresh entropy) or an integer in ``[0, 2**63 - 1]``, as numpy takes."""
    if value is None:
        return None
    return check_count(value, name, minimum=0, maximum=_MAX_SEED)


def check_memory(needed: float, budget: int, what: str, remedy: str) -> None:
    """Refuse, before allocating, a computation whose arrays would exceed `budget` bytes.

    Parameters
    ----------
    needed : float
        Bytes the computation would allocate (a float: it may overflow an int64 estimate).
    budget : int
        The model's memory budget in bytes.
    what : str
        What would be allocated, for the message.
    remedy : str
        What to do instead.
    """
    if needed > budget:
        raise ModelTooLarge(f"{what} would need {needed / 2**20:,.0f} MiB, more than the "
                            f"memory budget of {budget / 2**20:,.0f} MiB; {remedy}.")
