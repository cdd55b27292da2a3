"""Figures: the differential, the explanation waterfall, the next question, the tornado and
the network. Every function takes ``ax=None`` (a new figure when omitted) and returns the
Axes; nothing here touches matplotlib's global state, and pyplot is imported only when a
new figure is needed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .model import DiagnosticModel

__all__ = ["class_case", "diagonal_reference", "explanation", "network", "next_findings",
           "png", "posterior", "reliability", "roc", "save", "tornado"]

_CAUSE = "#3b6ea8"
_FOR, _AGAINST = "#c0392b", "#2e86ab"
_DECIDES = "#c0392b"  # a question whose answer could change the triage


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=size, layout="constrained")[1]


def png(draw, size: tuple[float, float], dpi: int = 80) -> bytes:
    """Call ``draw(ax)`` on a new pyplot-free Figure and return the PNG bytes (for widgets
    and reports: no figure is left open, no global state is touched)."""
    import io

    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    draw(figure.add_subplot())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def save(ax: Axes, path, dpi: int = 100):
    """Write the figure holding `ax` as a PNG, safely (a temporary beside `path`, renamed
    when complete: :func:`kneebayes.outputs.atomic_output`). Returns the path."""
    import io

    from .outputs import write_bytes

    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=dpi)
    return write_bytes(path, buffer.getvalue())


def _labels(model: DiagnosticModel | None, ids) -> list[str]:
    if model is None:
        return [str(i) for i in ids]
    return [model.config.nodes[i].label for i in ids]


def posterior(post: pd.Series, intervals: pd.DataFrame | None = None,
              model: DiagnosticModel | None = None, ax: Axes | None = None) -> Axes:
    """Horizontal bars of P(cause present | evidence), with credible intervals if given.

    Parameters
    ----------
    post : pandas.Series
        From :meth:`DiagnosticModel.posterior`.
    intervals : pandas.DataFrame, optional
        From :meth:`DiagnosticModel.credible_posterior` (``low``, ``high``).
    model : DiagnosticModel, optional
        For readable labels.
    ax : matplotlib Axes, optional
    """
    ax = _axes(ax, (7, 0.45 * len(post) + 1))
    order = post.sort_values().index
    y = np.arange(len(order))
    ax.barh(y, post[order], color=_CAUSE, alpha=0.85)
    right = post[order].to_numpy()
    if intervals is not None:
        iv = intervals.reindex(order)
        ax.errorbar(post[order], y, xerr=[post[order] - iv["low"], iv["high"] - post[order]],
                    fmt="none", ecolor="black", capsize=3, lw=1)
        right = np.maximum(right, iv["high"].to_numpy())
    for yi, p, r in zip(y, post[order], right, strict=True):
        ax.text(min(r + 0.02, 0.92), yi, f"{p:.0%}", va="center", fontsize=9)
    ax.set_yticks(y, _labels(model, order))
    ax.set_xlim(0, 1)
    ax.set_xlabel("P(cause present | evidence)")
    ax.set_title("Differential" + (" with credible intervals" if intervals is not None else ""))
    return ax


def explanation(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Waterfall from the prior log10 odds through each observation to the posterior.

    Parameters
    ----------
    table : pandas.DataFrame
        From :meth:`DiagnosticModel.explain` (its ``sequential_weight`` steps add up).
    """
    ax = _axes(ax, (7, 0.45 * len(table) + 1.8))
    attrs = table.attrs
    steps = table["sequential_weight"].to_numpy()
    starts = attrs["prior_log10_odds"] + np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    y = np.arange(len(table) + 2)[::-1]
    ax.barh(y[0], attrs["prior_log10_odds"], color="grey", alpha=0.6)
    ax.barh(y[1:-1], steps, left=starts, color=np.where(steps >= 0, _FOR, _AGAINST))
    ax.barh(y[-1], attrs["posterior_log10_odds"], color=_CAUSE)
    names = [f"prior ({attrs['prior']:.0%})",
             *(f"{row['label']} = {row['value']}" for _, row in table.iterrows()),
             f"posterior ({attrs['posterior']:.0%})"]
    ax.set_yticks(y, names)
    ax.axvline(0, color="black", lw=0.8)
    ends = np.concatenate([[0.0, attrs["prior_log10_odds"]], starts, starts + steps])
    pad = 0.08 * max(np.ptp(ends), 0.5)  # bars are sticky to their edges: pad by hand
    ax.set_xlim(ends.min() - pad, ends.max() + pad)
    ax.set_xlabel("log10 odds (0 = even; +1 = 10:1)")
    ax.set_title(f"Why {attrs['cause']}")
    return ax


def next_findings(table: pd.DataFrame, k: int = 10, ax: Axes | None = None) -> Axes:
    """Bars of expected information gain (bits) of the top `k` unobserved findings, in the
    table's order; in the decision ranking, the findings whose answer could change the
    triage decision are drawn in the red-flag colour and labelled with the loss they save.

    Parameters
    ----------
    table : pandas.DataFrame
        From :meth:`DiagnosticModel.next_findings`.
    """
    top = table.head(k).iloc[::-1]
    ax = _axes(ax, (7, 0.4 * len(top) + 1))
    y = np.arange(len(top))
    decides = (top["loss_reduction"] > 0).to_numpy() if "loss_reduction" in top else \
        np.zeros(len(top), dtype=bool)
    ax.barh(y, top["information_gain"], color=np.where(decides, _DECIDES, _CAUSE), alpha=0.85)
    ax.set_yticks(y, [f"{row['label']}  (P={row['p_present']:.0%}"
                      + (f"; saves {row['loss_reduction']:.2g})" if d else ")")
                      for d, (_, row) in zip(decides, top.iterrows(), strict=True)])
    ax.set_xlabel("expected information gain (bits)")
    if table.attrs.get("ranking") == "decision":
        ax.set_title("What to check next: first what could change the triage (red), "
                     "then information", fontsize=9)
    else:
        ax.set_title(f"What to check next, about {table.attrs.get('target', 'the causes')}")
    return ax


def class_case(answers: pd.DataFrame, vignette: str, model: DiagnosticModel | None = None,
               ax: Axes | None = None) -> Axes:
    """How a class did on one case: the share of students who under-triaged, over-triaged,
    put a cause the key does not accept first, and left out each cause the key says must be
    considered.

    Parameters
    ----------
    answers : pandas.DataFrame
        From :func:`kneebayes.classroom.read_answers`.
    vignette : str
        The case's id.
    model : DiagnosticModel, optional
        For the causes' labels.
    """
    rows = answers[answers["vignette"] == vignette]
    n = len(rows)
    label = (lambda c: model.config.nodes[c].label) if model is not None else str
    shares = {
        "under-triaged": (rows["triage_result"] == "under").mean(),
        "over-triaged": (rows["triage_result"] == "over").mean(),
        "leading cause not the key's": 1 - rows["leading_correct"].astype(bool).mean(),
    }
    missed = [c for m in rows["missed"].astype(str) for c in m.split()]
    for cause in dict.fromkeys(missed):
        shares[f"left out {label(cause)}"] = missed.count(cause) / n
    ax = _axes(ax, (6, 0.4 * len(shares) + 1.2))
    y = np.arange(len(shares))[::-1]
    colours = [_FOR if name == "under-triaged" else _CAUSE for name in shares]
    ax.barh(y, list(shares.values()), color=colours, alpha=0.85)
    ax.set_yticks(y, list(shares))
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"share of the {n} student(s)")
    ax.set_title(vignette)
    return ax


def diagonal_reference(ax: Axes, xlabel: str, ylabel: str, title: str,
                       legend_size: float = 7) -> Axes:
    """Finish a plot of one probability against another: the dashed y = x line (perfect
    calibration, chance, or perfect recovery), the labels, the title and the legend."""
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=legend_size)
    return ax


def reliability(tables: Mapping[str, pd.DataFrame], title: str = "Reliability diagram",
                ax: Axes | None = None) -> Axes:
    """Reliability diagram: observed rate against mean prediction per bin, one line each.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Label -> :func:`kneebayes.validation.reliability_table`.
    """
    ax = _axes(ax, (6.5, 5))
    for label, table in tables.items():
        ax.plot(table["predicted"], table["observed"], marker="o", ms=3, label=label)
    return diagonal_reference(ax, "predicted P(cause present)", "observed rate", title)


def roc(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
        title: str = "ROC curves (AUC)", ax: Axes | None = None) -> Axes:
    """ROC curves, one per label: ``(truth, predicted, auc)``, the AUC in the legend."""
    from sklearn.metrics import roc_curve

    ax = _axes(ax, (6.5, 5))
    for label, (truth, predicted, auc) in curves.items():
        fpr, tpr, _ = roc_curve(np.asarray(truth, dtype=int), predicted)
        ax.plot(fpr, tpr, label=f"{label} ({auc:.2f})")
    return diagonal_reference(ax, "false positive rate", "true positive rate", title)


def tornado(table: pd.DataFrame, k: int = 12, ax: Axes | None = None) -> Axes:
    """Tornado chart: the cause's posterior at each parameter's low and high end.

    Parameters
    ----------
    table : pandas.DataFrame
        From :meth:`DiagnosticModel.sensitivity` (without ``parameter=``).
    """
    top = table.head(k).iloc[::-1]
    ax = _axes(ax, (8, 0.4 * len(top) + 1.2))
    base = table.attrs["posterior"]
    y = np.arange(len(top))
    low, high = top["posterior_low"].to_numpy(), top["posterior_high"].to_numpy()
    ax.barh(y, low - base, left=base, color=_AGAINST, label="parameter at its low end")
    ax.barh(y, high - base, left=base, color=_FOR, label="parameter at its high end")
    ax.axvline(base, color="black", lw=0.8)
    ax.set_yticks(y, list(top.index), fontsize=8)
    ax.set_xlabel(f"P({table.attrs['cause']} | evidence)")
    ax.set_title(f"Sensitivity ({table.attrs['level']:.0%} range of each parameter)")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def network(model: DiagnosticModel, post: pd.Series | None = None,
            evidence: dict | None = None, ax: Axes | None = None) -> Axes:
    """The network in layers (factors, causes, mechanisms, findings), causes shaded by
    posterior, observed nodes marked (filled present, hollow absent).

    Parameters
    ----------
    model : DiagnosticModel
    post : pandas.Series, optional
        From :meth:`DiagnosticModel.posterior`; shades the causes.
    evidence : mapping, optional
        The observed findings and factors (any accepted spelling).
    """
    import matplotlib as mpl

    from .evidence import normalise_evidence

    observed = normalise_evidence(evidence, model.config)
    ax = _axes(ax, (14, 7))
    layers = [model.factors, model.causes, model.mechanisms, model.findings]
    position = {}
    for depth, ids in enumerate(layers):
        for i, nid in enumerate(ids):
            position[nid] = ((i + 0.5) / max(len(ids), 1), 1 - depth / 3)
    for node in model.config.nodes.values():
        for parent in node.parents:
            (x0, y0), (x1, y1) = position[parent], position[node.id]
            ax.plot([x0, x1], [y0, y1], color="#bbbbbb", lw=0.4, zorder=1)
    cmap = mpl.colormaps["Blues"]
    for nid, (x, y) in position.items():
        role = model.config.nodes[nid].role
        face = "white"
        if role == "cause" and post is not None:
            face = cmap(0.15 + 0.85 * float(post[nid]))
        elif nid in observed:
            face = "#333333" if observed[nid] else "white"
        edge = "#c0392b" if nid in observed else "#555555"
        ax.scatter([x], [y], s=260 if role == "cause" else 90, c=[face], edgecolors=edge,
                   linewidths=2 if nid in observed else 0.8, zorder=2)
        text = nid if role != "cause" or post is None else f"{nid}\n{post[nid]:.0%}"
        rotation = 90 if role == "finding" else (30 if role == "factor" else 0)
        offset = -0.035 if role == "finding" else 0.045
        ax.text(x, y + offset, text, fontsize=6 if role == "finding" else 7.5,
                rotation=rotation, ha="center", va="top" if role == "finding" else "bottom")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.45, 1.25)
    ax.axis("off")
    ax.set_title("factors -> causes -> mechanisms -> findings (red ring: observed; "
                 "filled: present)")
    return ax
