"""Likelihood-ratio targets: what each finding implies for each cause, beside what the priors
file says it should.

The implied ratios are the model's own, every other node marginalised:

    LR+(x, c) = odds(c | x present) / odds(c),   LR-(x, c) = odds(c | x absent) / odds(c),

computed exactly in one engine run (the prior, then each finding present, then absent),
optionally within a population held fixed as evidence (`given`). Each pair is checked
against its target: the range the file states (``findings.X.targets.CAUSE``), or, where it
states none, the bounds every finding without an accuracy study must keep (LR+ at most 5,
LR- at least 0.2): no finding may act as near-diagnostic on elicited numbers alone. Clusters
of correlated findings (``[clusters]``) are checked on their joint LR+, all present. No pgmpy
and no presentation here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .config import NO_STUDY_LR_NEGATIVE_MIN, NO_STUDY_LR_POSITIVE_MAX, PriorsConfig
from .errors import KneebayesError
from .evidence import evidence_arrays

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = [
    "cluster_likelihood_ratios",
    "format_range",
    "implied_likelihood_ratios",
    "population_check",
    "target_failures",
]

_RELATIVE_SLACK = 1e-9  # a ratio on its bound to rounding is inside it


def _causes_behind(config: PriorsConfig, nid: str) -> set[str]:
    """The causes a node hangs from, directly or through mechanisms."""
    out: set[str] = set()
    for parent in config.nodes[nid].parents:
        role = config.nodes[parent].role
        if role == "cause":
            out.add(parent)
        elif role == "mechanism":
            out |= _causes_behind(config, parent)
    return out


def _log_odds(model: DiagnosticModel, cases: list[dict[str, int]], method: str
              ) -> np.ndarray:
    engine = model._backend(method)
    if engine is None:
        raise KneebayesError("method: likelihood ratios run on kneebayes' engines "
                             "('compiled', 'dense' or 'sparse'), not on 'pgmpy'.")
    return engine.run(*evidence_arrays(cases, model.config)).log_odds


def implied_likelihood_ratios(model: DiagnosticModel, given: Mapping[str, int] | None = None,
                              method: str = "compiled") -> pd.DataFrame:
    """Every finding's implied LR+ and LR- for every cause, beside its target.

    Parameters
    ----------
    model : DiagnosticModel
    given : mapping of str to int, optional
        Normalised evidence held in every case (the population the ratios are taken in);
        a finding in it is not rated.
    method : {'compiled', 'dense', 'sparse'}

    Returns
    -------
    pandas.DataFrame
        Indexed by (finding, cause): ``lr_positive``, ``lr_negative``; the target's
        ``positive_low``, ``positive_high``, ``negative_low``, ``negative_high`` (NaN: no
        bound); ``stated`` (the file states the target; else the no-study bounds apply),
        ``grade`` and ``source`` of the target, ``defining``, ``bears_on`` (the finding hangs
        from the cause), and ``within`` (both ratios inside the target).
    """
    config = model.config
    given = dict(given or {})
    findings = [x for x in config.findings if x not in given]
    cases = [given, *({**given, x: 1} for x in findings), *({**given, x: 0} for x in findings)]
    log_odds = _log_odds(model, cases, method)
    n = len(findings)
    with np.errstate(invalid="ignore", over="ignore"):
        positive = np.exp(log_odds[1:n + 1] - log_odds[0])
        negative = np.exp(log_odds[n + 1:] - log_odds[0])
    stated = {(t.finding, t.cause): t for t in config.targets}
    rows = []
    for i, x in enumerate(findings):
        behind = _causes_behind(config, x)
        for j, c in enumerate(config.causes):
            target = stated.get((x, c))
            if target is None:
                bounds = (np.nan, NO_STUDY_LR_POSITIVE_MAX, NO_STUDY_LR_NEGATIVE_MIN, np.nan)
                source, grade, defining = ("no target stated: the bounds of a finding without "
                                           "an accuracy study", "elicited", False)
            else:
                low_p, high_p = target.lr_positive or (np.nan, np.nan)
                low_n, high_n = target.lr_negative or (np.nan, np.nan)
                bounds = (low_p, high_p, low_n, high_n)
                source, grade, defining = target.source, target.grade, target.defining
            rows.append({"finding": x, "cause": c, "lr_positive": positive[i, j],
                         "lr_negative": negative[i, j],
                         "positive_low": bounds[0], "positive_high": bounds[1],
                         "negative_low": bounds[2], "negative_high": bounds[3],
                         "stated": target is not None, "grade": grade, "source": source,
                         "defining": defining, "bears_on": c in behind})
    frame = pd.DataFrame(rows).set_index(["finding", "cause"])
    frame["within"] = (_inside(frame["lr_positive"], frame["positive_low"],
                               frame["positive_high"])
                       & _inside(frame["lr_negative"], frame["negative_low"],
                                 frame["negative_high"]))
    frame.attrs["given"] = given
    return frame


def cluster_likelihood_ratios(model: DiagnosticModel, given: Mapping[str, int] | None = None,
                              method: str = "compiled") -> pd.DataFrame:
    """Each cluster's joint LR+ (all its findings present) beside its target, and the
    product of its findings' single LR+ (what the signs would claim if independent)."""
    config = model.config
    given = dict(given or {})
    if not config.clusters:
        return pd.DataFrame(columns=["findings", "cause", "lr_positive", "product_of_single",
                                     "positive_low", "positive_high", "source", "within"])
    singles = sorted({x for c in config.clusters for x in c.findings})
    cases = [given, *({**given, **{x: 1 for x in c.findings}} for c in config.clusters),
             *({**given, x: 1} for x in singles)]
    log_odds = _log_odds(model, cases, method)
    k = len(config.clusters)
    rows = []
    for i, cluster in enumerate(config.clusters):
        j = config.causes.index(cluster.cause)
        single = {x: np.exp(log_odds[1 + k + singles.index(x), j] - log_odds[0, j])
                  for x in cluster.findings}
        rows.append({"cluster": cluster.id, "findings": " + ".join(cluster.findings),
                     "cause": cluster.cause,
                     "lr_positive": float(np.exp(log_odds[1 + i, j] - log_odds[0, j])),
                     "product_of_single": float(np.prod(list(single.values()))),
                     "positive_low": cluster.lr_positive[0],
                     "positive_high": cluster.lr_positive[1], "source": cluster.source})
    frame = pd.DataFrame(rows).set_index("cluster")
    frame["within"] = _inside(frame["lr_positive"], frame["positive_low"],
                              frame["positive_high"])
    return frame


def population_check(model: DiagnosticModel, n: int = 40_000, seed: int = 0) -> pd.DataFrame:
    """The shares the priors file's population should show, beside the model's prior
    predictive (`n` cases forward-sampled): ``low``, ``high``, ``sampled`` and ``within``
    (the sampled share inside the range, allowing three standard errors of sampling)."""
    population = model.config.population
    columns = ["what", "low", "high", "sampled", "within", "source"]
    if population is None or not population.shares:
        return pd.DataFrame(columns=columns)
    cohort = model.sample(n, seed=seed)
    causes = cohort[list(model.causes)].to_numpy(dtype=bool)
    rows = []
    for share in population.shares:
        if share.what == "cause":
            hits = cohort[share.name].to_numpy(dtype=bool)
        elif share.what == "none":
            hits = ~causes.any(axis=1)
        else:
            hits = cohort[list(share.findings)].to_numpy(dtype=bool).any(axis=1)
        sampled = float(hits.mean())
        slack = 3 * np.sqrt(max(sampled * (1 - sampled), 1e-12) / n)
        rows.append({"share": share.name, "what": share.what, "low": share.low,
                     "high": share.high, "sampled": sampled,
                     "within": share.low - slack <= sampled <= share.high + slack,
                     "source": share.source})
    return pd.DataFrame(rows, columns=["share", *columns]).set_index("share")


def target_failures(model: DiagnosticModel, given: Mapping[str, int] | None = None,
                    method: str = "compiled", table: pd.DataFrame | None = None) -> list[str]:
    """One line per finding-cause pair or cluster outside its target (empty: all inside);
    `table`: the :func:`implied_likelihood_ratios` already computed for the same `given`."""
    lines = []
    if table is None:
        table = implied_likelihood_ratios(model, given, method)
    for (x, c), row in table[~table["within"]].iterrows():
        lines.append(
            f"{x} -> {c}: LR+ {row['lr_positive']:.3g} (target {_range(row, 'positive')}), "
            f"LR- {row['lr_negative']:.3g} (target {_range(row, 'negative')}); "
            f"{'stated' if row['stated'] else 'no-study bounds'}")
    clusters = cluster_likelihood_ratios(model, given, method)
    for cid, row in clusters[~clusters["within"].astype(bool)].iterrows():
        lines.append(f"cluster {cid} ({row['findings']}) -> {row['cause']}: joint LR+ "
                     f"{row['lr_positive']:.3g} (target {_range(row, 'positive')})")
    return lines


def _inside(value: pd.Series, low: pd.Series, high: pd.Series) -> pd.Series:
    above = low.isna() | (value >= low * (1 - _RELATIVE_SLACK))
    below = high.isna() | (value <= high * (1 + _RELATIVE_SLACK))
    return above & below


def format_range(low: float, high: float) -> str:
    """``[low, high]`` as the reports write a target, ``-`` for an open end."""
    return "[{}, {}]".format("-" if pd.isna(low) else f"{low:g}",
                             "-" if pd.isna(high) else f"{high:g}")


def _range(row: pd.Series, which: str) -> str:
    return format_range(row[f"{which}_low"], row[f"{which}_high"])
