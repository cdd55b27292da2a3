"""Reports: a self-contained HTML page for one case (PNG figures embedded) and the model card
(Markdown: every node and parameter with its source, the references, the likelihood-ratio
check). Both are deterministic, so a committed model card can be checked for staleness."""

from __future__ import annotations

import base64
import html
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import plot
from .evidence import normalise_evidence
from .outputs import write_text
from .provenance import provenance
from .reasoning import reversal_notes
from .summary import CaseSummary, markdown_text, next_findings_heading
from .targets import cluster_likelihood_ratios, format_range, implied_likelihood_ratios
from .triage import NOTICE

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["case_report", "model_card"]

_STYLE = """body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}
.banner{padding:1em;border-radius:6px;font-size:1.1em}
.notice{color:#555;font-size:.9em;border-top:1px solid #ccc;margin-top:2em;padding-top:.5em}
table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #ddd;
text-align:left}img{max-width:100%}"""


def _img(data: bytes, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode()}">')


def case_report(model: DiagnosticModel, evidence: dict, draws: int = 500, seed: int = 0,
                path: str | Path | None = None) -> str:
    """One case as a self-contained HTML page: the triage banner first, the differential
    with credible intervals, the explanation of the leading cause, the next questions, and
    the notice.

    Parameters
    ----------
    model : DiagnosticModel
    evidence : mapping
        As for :meth:`DiagnosticModel.posterior`.
    draws, seed : int
        For the credible intervals.
    path : str or Path, optional
        Also write the page there, safely (:func:`kneebayes.outputs.write_text`).

    Returns
    -------
    str
        The HTML.
    """
    observed = normalise_evidence(evidence, model.config)
    nodes = model.config.nodes
    summary = CaseSummary.of(model, evidence)
    post = summary.posterior
    intervals = model.credible_posterior(observed, draws=draws, seed=seed)
    leading = post.index[0]
    body = [
        "<h2>Differential</h2><p>P(cause present | evidence), with "
        f"{intervals.attrs['level']:.0%} credible intervals from the priors' own uncertainty "
        f"({draws} draws). Causes can co-occur.</p>",
        _img(plot.png(lambda ax: plot.posterior(post, intervals, model=model, ax=ax),
                      (7, 3.4)), "differential"),
        intervals.rename(index=lambda c: nodes[c].label).to_html(float_format="{:.3f}".format),
    ]
    if observed:
        table = model.explain(observed, leading)
        body += [
            f"<h2>Why {html.escape(nodes[leading].label)}</h2><p>Weight of evidence: log10 "
            "likelihood ratio of each observation given the rest.</p>",
            _img(plot.png(lambda ax: plot.explanation(table, ax=ax),
                          (7, 0.4 * len(table) + 1.8)), "explanation"),
            table[["label", "value", "weight_of_evidence", "likelihood_ratio"]].to_html(
                float_format="{:.3f}".format),
            *(f"<p class='note'>{html.escape(note)}</p>"
              for note in reversal_notes(model, table)),
        ]
    # the decision ranking where the file has a loss table; referral advice once urgent
    ask = model.next_findings(observed, k=8)
    body += [f"<h2>What to check next</h2><p>{html.escape(next_findings_heading(ask))}</p>"]
    if len(ask):
        body.append(_img(plot.png(lambda ax: plot.next_findings(ask, ax=ax), (7, 3.6)),
                         "next questions"))
    page = summary.to_html(body)
    if path is not None:
        write_text(path, page)
    return page


def _md_table(frame: pd.DataFrame) -> str:
    def cell(value) -> str:
        return markdown_text(f"{value:.4g}" if isinstance(value, float) else str(value))

    header = "| " + " | ".join(markdown_text(c) for c in frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _population_section(config) -> list[str]:
    """Who the file describes and the shares it states (the check itself samples the model:
    `kneebayes validate`)."""
    pop = config.population
    shares = pd.DataFrame([{"share": s.name, "of": s.what if not s.findings
                            else "any of " + ", ".join(s.findings),
                            "range": format_range(s.low, s.high), "source": s.source}
                           for s in pop.shares])
    return ["## Population", "",
            f"{markdown_text(pop.description)}; setting: {markdown_text(pop.setting)}; entry "
            f"criterion: {markdown_text(pop.entry)}. Inference: {pop.inference} (every number "
            "is conditional on the entry criterion; no evidence is added to a case). "
            f"{markdown_text(pop.source)}", "",
            "Shares its prior predictive must show (checked by `kneebayes validate` and the "
            "tests):", "", _md_table(shares), ""]


def model_card(model: DiagnosticModel) -> str:
    """The model card (Markdown): structure, triage rules, every node and parameter with its
    source, the single-finding likelihood ratios beside the published ones, the references."""
    config = model.config
    prior = model.prior()
    nodes = pd.DataFrame([
        {"id": n.id, "role": n.role, "kind": n.kind or "", "label": n.label,
         "parents": ", ".join(n.parents),
         "P(present), no evidence": f"{prior[n.id]:.3f}" if n.id in prior.index else ""}
        for n in config.nodes.values()])
    parameters = pd.DataFrame([
        {"parameter": p.path, "value": p.value.mean,
         "Beta(a, b)": ("" if p.value.beta is None
                        else "({:.3g}, {:.3g})".format(*p.value.beta)),
         "grade": p.grade,
         "source": p.source}
        for p in config.parameters()])
    implied = implied_likelihood_ratios(model)
    # every finding: each cause it hangs from or has a target for, implied beside target
    shown = implied[implied["bears_on"] | implied["stated"] | ~implied["within"]].reset_index()
    lrs = pd.DataFrame({
        "finding": shown["finding"], "cause": shown["cause"],
        "LR+ implied": shown["lr_positive"],
        "LR+ target": [format_range(r.positive_low, r.positive_high) for r in shown.itertuples()],
        "LR- implied": shown["lr_negative"],
        "LR- target": [format_range(r.negative_low, r.negative_high) for r in shown.itertuples()],
        "target": ["stated: " + r.source if r.stated else "no accuracy study (default bounds)"
                   for r in shown.itertuples()],
        "result": shown["within"].map({True: "pass", False: "FAIL"})})
    clusters = cluster_likelihood_ratios(model)
    grades = Counter(p.grade for p in config.parameters())
    rules = pd.DataFrame([{"rule": r.id, "when all present": ", ".join(r.when),
                           "level": r.level, "message": r.message} for r in config.red_flags])
    lines = [
        f"# Model card: {markdown_text(config.title)}",
        "",
        f"> {NOTICE}",
        "",
        "Generated by `kneebayes model-card` from the priors file; do not edit by hand.",
        "",
        *provenance(config).markdown(),
        *(["- **Fitted**: every number sourced `fitted:` was learnt from data; "
           + "; ".join(f"{markdown_text(k)}: {markdown_text(v)}"
                       for k, v in config.provenance.items())] if config.provenance else []),
        "",
        markdown_text(config.description),
        "",
        f"- {len(config.causes)} causes, {len(config.factors)} contributing factors, "
        f"{len(config.mechanisms)} mechanism nodes, {len(config.findings)} findings; every "
        "node present or absent, except factors with named states "
        f"({', '.join(f for f in config.factors if config.nodes[f].categorical) or 'none'}).",
        f"- {len(parameters)} parameters: {grades['cited']} cited (their own source names "
        f"the published figure), {grades['anchored']} anchored on a cited figure with "
        f"stated reasoning, {grades['elicited']} elicited (reasoning, background references, "
        f"or a node-level citation that cannot say which number it supports)"
        + (f", {grades['fitted']} fitted from data" if grades["fitted"] else "")
        + f"; {len(config.references)} references.",
        f"- Likelihood ratios: {int((~implied['within']).sum())} of {len(implied)} "
        "finding-cause pairs leave their target (table below).",
        f"- Triage: P({config.triage.cause}) above {config.triage.see_clinician_above:g} -> "
        f"see a clinician, above {config.triage.urgent_above:g} -> urgent; and the red-flag "
        "rules below, which fire on the findings alone.",
        "",
        "## Red-flag rules",
        "",
        _md_table(rules),
        "",
        "## Nodes",
        "",
        _md_table(nodes),
        "",
        "## Single-finding likelihood ratios: implied vs target",
        "",
        "LR+ = P(finding | cause) / P(finding | no cause) and LR- = P(no finding | cause) / "
        "P(no finding | no cause), every other node marginalised (posterior odds over prior "
        "odds). Targets are the ranges the priors file states (from published figures: "
        "inside the 95% CI where given, else within x1.5 of the estimate) or, where it "
        "states none, the bounds of a finding without an accuracy study: LR+ at most 5, "
        "LR- at least 0.2. Every finding is listed with each cause it hangs from.",
        "",
        _md_table(lrs),
        "",
        *(["## Clusters of correlated findings: joint LR+ vs target", "",
           _md_table(clusters.reset_index()), ""] if len(clusters) else []),
        *(_population_section(config) if config.population else []),
        "## Parameters",
        "",
        "Noisy-OR weights are P(present | only that parent present); `leak`, `base` and "
        "`prior` are P(present | no parent present).",
        "",
        _md_table(parameters),
        "",
        "## References",
        "",
        *(f"- **{markdown_text(key)}**: {markdown_text(text)}"
          for key, text in sorted(config.references.items())),
        "",
    ]
    return "\n".join(lines)
