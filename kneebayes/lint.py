"""A lint for priors files: beside the hard errors the parser raises, modelling warnings a
file can load with and still get wrong.

- A finding that *raises* a cause it has no edge to (directly or through a mechanism): on
  its own, or among cases with a finding both hang from (the trap of a new local cause left
  off ``local_knee_pathology``, which a normal knee examination then raises, among patients
  with anterior knee pain, by explaining the other causes away). Where the cause shares a
  risk factor with the causes the finding hangs from, the warning says so (that path is
  often meant).
- A finding that moves a cause the opposite way to its stated target.
- An implied likelihood ratio that is extreme (LR+ above 20 or LR- below 0.05) for a finding
  that is not marked as the defining feature of the cause.
- A finding-cause pair or cluster that leaves its likelihood-ratio target.

>>> from kneebayes import load_model
>>> from kneebayes.lint import lint
>>> lint(load_model())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from .targets import _causes_behind, implied_likelihood_ratios, target_failures

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["EXTREME_LR_NEGATIVE", "EXTREME_LR_POSITIVE", "RAISES_WITHOUT_EDGE", "lint"]

RAISES_WITHOUT_EDGE = 1.2
"""An implied LR (of the finding present or absent) above this, for a cause the finding has
no edge to, is warned about."""
EXTREME_LR_POSITIVE, EXTREME_LR_NEGATIVE = 20.0, 0.05


def _partners(model: DiagnosticModel, finding: str, cause: str) -> dict[str, list[str]]:
    """The causes the finding hangs from that share a risk factor with `cause`, each with
    the factors shared."""
    nodes = model.config.nodes
    mine = set(nodes[cause].parents)
    partners = {c: sorted(mine & set(nodes[c].parents))
                for c in _causes_behind(model.config, finding)}
    return {c: shared for c, shared in partners.items() if shared}


def _why(model: DiagnosticModel, finding: str, cause: str) -> str:
    """Why a finding may move a cause it has no edge to: a risk factor the cause shares with
    the causes the finding hangs from (often meant), or else explaining away (rarely)."""
    partners = _partners(model, finding, cause)
    if partners:
        shared = sorted({f for fs in partners.values() for f in fs})
        return (f"it shares the risk factor(s) {', '.join(shared)} with "
                f"{', '.join(sorted(partners))}, which the finding hangs from; check that "
                "the co-occurrence is meant")
    return ("no shared risk factor: it explains the causes the finding hangs from away; "
            "link the cause to the finding (or its mechanism) if it should bear on it")


def lint(model: DiagnosticModel) -> pd.DataFrame:
    """The modelling warnings of a loaded model.

    Returns
    -------
    pandas.DataFrame
        One row per warning: ``check`` (``raises_without_edge``, ``opposite_to_target``,
        ``extreme``, ``leaves_target``), ``finding``, ``cause`` and ``message`` (what was
        found and what to look at). Empty when there is nothing to warn about.
    """
    table = implied_likelihood_ratios(model)
    rows = []
    for (finding, cause), r in table.iterrows():
        for value, lr in (("present", r["lr_positive"]), ("absent", r["lr_negative"])):
            if not r["bears_on"] and lr > RAISES_WITHOUT_EDGE:
                rows.append(("raises_without_edge", finding, cause,
                             f"{finding} {value} raises {cause} (LR {lr:.3g}) though it has "
                             f"no edge to it: {_why(model, finding, cause)}."))
        if r["stated"]:
            low, high = r["positive_low"], r["positive_high"]
            if (low > 1 and r["lr_positive"] < 1) or (high < 1 and r["lr_positive"] > 1):
                rows.append(("opposite_to_target", finding, cause,
                             f"{finding} present moves {cause} the other way to its target "
                             f"(LR+ {r['lr_positive']:.3g}, target [{low:g}, {high:g}])."))
        if not r["defining"] and (r["lr_positive"] > EXTREME_LR_POSITIVE
                                  or r["lr_negative"] < EXTREME_LR_NEGATIVE):
            rows.append(("extreme", finding, cause,
                         f"{finding} implies LR+ {r['lr_positive']:.3g}, LR- "
                         f"{r['lr_negative']:.3g} for {cause}: near-diagnostic without being "
                         "marked its defining feature; check its numbers and evidence."))
    rows += _explained_away(model, {(f, c) for _, f, c, _ in rows})
    rows += [("leaves_target", "", "", line) for line in target_failures(model, table=table)]
    return pd.DataFrame(rows, columns=["check", "finding", "cause", "message"])


def _explained_away(model: DiagnosticModel, seen: set[tuple[str, str]]) -> list[tuple]:
    """The trap that the marginal ratios cannot show: with a shared effect observed (a
    finding both causes hang from), a finding with no edge to a cause, and no risk factor
    shared with the causes it hangs from, raises it by explaining them away. Only such
    pairs are checked, each given each finding its cause hangs from; a finding present, not
    absent (an absent finding raising the other causes is reasoning by exclusion)."""
    config = model.config
    behind = {f: _causes_behind(config, f) for f in config.findings}
    candidates = {
        c: {f for f in config.findings if c not in behind[f] and (f, c) not in seen
            and not _partners(model, f, c)}
        for c in config.causes}
    rows, worst = [], {}
    for g in config.findings:
        relevant = [c for c in behind[g] if candidates[c]]
        if not relevant:
            continue
        table = implied_likelihood_ratios(model, given={g: 1})
        for c in relevant:
            for f in candidates[c] - {g}:
                # Only a finding *present*: one absent that raises the other causes of the
                # shared effect is ordinary reasoning by exclusion.
                lr = table.loc[(f, c), "lr_positive"]
                if lr > RAISES_WITHOUT_EDGE and lr > worst.get((f, c), (0,))[0]:
                    worst[(f, c)] = (lr, g)
    for (f, c), (lr, g) in worst.items():
        rows.append(("raises_without_edge", f, c,
                     f"{f} present raises {c} (LR {lr:.3g}, among cases with {g}) though it "
                     f"has no edge to it: {_why(model, f, c)}."))
    return rows
