"""One case as every output shows it: the triage first, then the answer, then the notice.

:class:`CaseSummary` holds what the command line, the HTML case report and the teaching
widget all show about a case, with one renderer per medium: plain text, strict JSON and
escaped HTML. Every piece of text that came from a priors file or from the user (labels,
messages, titles, evidence values) is escaped in HTML, and JSON never carries ``NaN`` or
``Infinity`` (which strict parsers refuse): a non-finite number is written as ``null``.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from .evidence import normalise_evidence, state_word
from .triage import LEVEL_COLOURS, NOTICE, Triage

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["CaseSummary", "frame_records", "markdown_text", "next_findings_heading",
           "next_findings_lines", "strict_json", "triage_banner_html"]

_BAR_WIDTH = 30


def _finite(value: Any) -> Any:
    """`value` with every non-finite float replaced by ``None``, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return _finite(value.item())
    return value


def strict_json(payload: Any, indent: int | None = 2) -> str:
    """JSON that any parser reads: ``NaN`` and ``±Infinity`` become ``null``."""
    return json.dumps(_finite(payload), indent=indent, allow_nan=False)


def frame_records(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A DataFrame as ``{index: {column: value}}`` of plain Python values, for JSON."""
    return {str(k): {c: _finite(v) for c, v in row.items()} for k, row in frame.iterrows()}


def markdown_text(text: str) -> str:
    """Text from a priors file made inert in Markdown: HTML special characters escaped (a
    label holding ``<script>`` must not become markup when the card is rendered), table
    pipes escaped, line breaks joined."""
    return html.escape(" ".join(str(text).split()), quote=False).replace("|", "\\|")


def triage_banner_html(triage: Triage) -> str:
    """The triage as an HTML banner (headline, one line per message, the notice), escaped.

    The one banner of the case report and the teaching widget."""
    messages = "".join(f"<li>{html.escape(m)}</li>" for m in triage.messages)
    return (f"<div class='banner' style='background:{LEVEL_COLOURS[triage.level]};"
            f"padding:.6em 1em;border-radius:6px'><b>{html.escape(triage.headline)}</b>"
            f"<ul>{messages}</ul><small>{html.escape(NOTICE)}</small></div>")


def next_findings_heading(table: pd.DataFrame) -> str:
    """One sentence on what a :meth:`~kneebayes.DiagnosticModel.next_findings` table ranks
    by, or its referral advice when the triage is already urgent (the table is empty)."""
    attrs = table.attrs
    if attrs.get("advice"):
        return attrs["advice"]
    if attrs.get("ranking") == "decision":
        return (f"Which finding to check next: the expected reduction in the loss of the "
                f"triage decision (the loss table's units; the decision now is "
                f"'{attrs['decision']}', expected loss {attrs['expected_loss']:.2f}). "
                "Questions whose answer cannot change that decision score 0 and are ranked "
                "by information gain (bits); a red-flag rule an answer would fire is not "
                "counted, so screen the red flags too.")
    return (f"Which finding to check next: expected information gain about "
            f"{attrs.get('target', 'the causes')}, in bits (uncertainty now "
            f"{attrs.get('entropy_bits', float('nan')):.2f} bits).")


def next_findings_lines(table: pd.DataFrame, label: Callable[[str], str]) -> list[str]:
    """One text line per row of a next-findings table: its label, what it scores and its
    predictive probability."""
    width = max((len(label(f)) for f in table.index), default=0)
    lines = []
    for f, row in table.iterrows():
        loss = (f"saves {row['loss_reduction']:.3f}  " if "loss_reduction" in table else "")
        cost = "" if pd.isna(row["cost"]) else (
            f"  cost {row['cost']:g}, {row['gain_per_cost']:.3f} bits per unit")
        lines.append(f"  {label(f):<{width}}  {loss}{row['information_gain']:.3f} bits  "
                     f"P(present) {row['p_present']:5.1%}{cost}")
    return lines


@dataclass(frozen=True)
class CaseSummary:
    """What every output shows about one case.

    Attributes
    ----------
    triage : Triage
    evidence : mapping of str to str
        The observations as the user wrote them (id to value).
    posterior : pandas.Series
        P(cause present | evidence), highest first.
    labels : mapping of str to str
        Node id to its label, for the text and HTML renderers.
    priors : str
        The priors file's path.
    title : str
        The priors file's title.
    states : mapping of str to str
        Each observation read: present, absent, a factor's state, or unobserved.
    """

    triage: Triage
    evidence: Mapping[str, str]
    posterior: pd.Series
    labels: Mapping[str, str]
    priors: str
    title: str
    states: Mapping[str, str]

    @classmethod
    def of(cls, model: DiagnosticModel, evidence: Mapping[str, Any] | None,
           posterior: pd.Series | None = None) -> CaseSummary:
        """Summarise `evidence` under `model` (posterior computed unless given)."""
        evidence = dict(evidence or {})
        if posterior is None:
            posterior = model.posterior(evidence)
        triage = model.triage(evidence, posterior=posterior)
        labels = {nid: node.label for nid, node in model.config.nodes.items()}
        observed = normalise_evidence(evidence, model.config)
        words = {str(k): state_word(model.config, str(k), observed.get(str(k)))
                 for k in evidence}
        return cls(triage, {str(k): str(v) for k, v in evidence.items()}, posterior, labels,
                   str(model.config.path), model.config.title, words)

    def label(self, nid: str) -> str:
        """``"Label (id)"``."""
        return f"{self.labels.get(nid, nid)} ({nid})"

    # -- text

    def differential_lines(self, intervals: pd.DataFrame | None = None) -> list[str]:
        """The differential as aligned text lines with bars (and intervals if given)."""
        width = max((len(self.label(c)) for c in self.posterior.index), default=0)
        lines = []
        for cause, p in self.posterior.items():
            spread = ""
            if intervals is not None:
                row = intervals.loc[cause]
                spread = f"  [{row['low']:6.1%} - {row['high']:6.1%}]"
            lines.append(f"  {self.label(cause):<{width}}  {p:6.1%}{spread}  "
                         f"{'#' * round(p * _BAR_WIDTH)}")
        return lines

    def to_text(self, body: Sequence[str]) -> str:
        """Triage, the evidence, `body` lines, then the notice."""
        observed = ", ".join(f"{k}={v}" for k, v in self.evidence.items()) or "none (the prior)"
        return "\n".join([str(self.triage), "", f"Evidence: {observed}", *body, "", NOTICE])

    # -- JSON

    def to_dict(self, **payload: Any) -> dict[str, Any]:
        """The triage first, the notice, then `payload`, the posterior, the evidence and the
        priors file: plain Python values, non-finite numbers as ``None``."""
        return _finite({"triage": self.triage.to_dict(), "notice": NOTICE, **payload,
                        "posterior": {str(c): float(p) for c, p in self.posterior.items()},
                        "evidence": dict(self.evidence), "priors": self.priors})

    def to_json(self, **payload: Any) -> str:
        """:meth:`to_dict` as strict JSON."""
        return strict_json(self.to_dict(**payload))

    # -- HTML

    def to_html(self, body: Sequence[str], heading: str = "kneebayes case report") -> str:
        """A self-contained page: the triage banner, the evidence, `body` (HTML fragments
        the caller has escaped), then the notice."""
        evidence = "".join(
            f"<li>{html.escape(self.labels.get(k, k))}: {html.escape(v)}</li>"
            for k, v in self.states.items()) or "<li>none (the prior)</li>"
        return "\n".join([
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(heading)}"
            f"</title><style>{_STYLE}</style></head><body>",
            triage_banner_html(self.triage),
            f"<h2>Evidence</h2><ul>{evidence}</ul>",
            *body,
            f"<p class='notice'>{html.escape(NOTICE)} Priors: {html.escape(self.title)}</p>"
            "</body></html>",
        ])


_STYLE = """body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}
.banner{font-size:1.1em}
.notice{color:#555;font-size:.9em;border-top:1px solid #ccc;margin-top:2em;padding-top:.5em}
table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;
text-align:left}img{max-width:100%}"""
