"""Measure the model on your own labelled cases: discrimination (ROC AUC with bootstrap
confidence intervals), accuracy of the probabilities (Brier score, expected calibration
error, a reliability diagram), top-1 and top-3 accuracy, and the triage's sensitivity for
every must-not-miss condition.

Labels come as a column per cause (present / absent / empty for not labelled, in any of the
spellings evidence accepts) or as one diagnosis column with a mapping from its values to
cause ids. A cause is scored on the cases that label it; partly labelled causes are fine.

>>> from kneebayes import load_model
>>> from kneebayes.evaluation import evaluate
>>> result = evaluate(load_model(), cases)                    # doctest: +SKIP
>>> result.per_cause[["labelled", "roc_auc", "auc_low", "auc_high", "brier"]]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .checks import check_count, check_seed
from .config import TRIAGE_LEVELS, PriorsConfig
from .errors import EvidenceError, suggest
from .evidence import read_columns
from .provenance import Provenance, provenance

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["OTHERS", "Evaluation", "evaluate", "read_labels", "read_mapping",
           "wilson_interval", "write_evaluation_report"]

OTHERS = ("absent", "unknown")
"""With a diagnosis column, what the causes it does not name are: absent (a final
diagnosis rules the others out) or unknown (only the named cause is labelled)."""

_SEPARATOR = ";"  # several diagnoses in one cell: "pfps; lumbar_radiculopathy"


def read_labels(frame: pd.DataFrame, config: PriorsConfig, diagnosis: str | None = None,
                mapping: Mapping[str, str | None] | None = None, others: str = "absent",
                where: str = "cases") -> pd.DataFrame:
    """The labels of a table of cases: one column per cause, 1.0 / 0.0 / NaN (not labelled).

    Parameters
    ----------
    frame : pandas.DataFrame
    config : PriorsConfig
    diagnosis : str, optional
        A column holding each case's diagnosis (or several, separated by ``;``). Without
        it, the labels are the columns named as cause ids.
    mapping : mapping of str to str or None, optional
        Diagnosis text -> cause id; None (or ``""``) for a diagnosis that is none of the
        model's causes. Cause ids map to themselves. An empty cell is not labelled.
    others : {'absent', 'unknown'}
        With a diagnosis column: what the causes a case's diagnosis does not name are.
    where : str
        How to name the table in errors (the file name).

    Raises
    ------
    EvidenceError
        Naming the column, the rows and the values that cannot be read.
    """
    causes = list(config.causes)
    if diagnosis is None:
        columns = [c for c in frame.columns if c in causes]
        if not columns:
            raise EvidenceError(
                f"{where}: expected labels, as a column per cause ({', '.join(causes)}) or "
                "one diagnosis column with a mapping (diagnosis=..., or --diagnosis-column "
                f"on the command line); got none among the columns {list(frame.columns)[:8]}.")
        problems: list[str] = []
        read = read_columns(frame, columns, where, problems)
        if problems:
            raise EvidenceError("\n".join(problems))
        labels = pd.DataFrame(read, index=frame.index)
        return labels.reindex(columns=causes)
    if others not in OTHERS:
        raise EvidenceError(f"others: expected one of {list(OTHERS)}, got {others!r}.")
    if diagnosis not in frame.columns:
        raise EvidenceError(f"{where}: expected a diagnosis column {diagnosis!r}, got the "
                            f"columns {list(frame.columns)[:8]}."
                            + suggest(diagnosis, map(str, frame.columns)))
    known = {c: c for c in causes} | {str(k).strip(): (v or None)
                                       for k, v in (mapping or {}).items()}
    bad_targets = sorted({str(v) for v in known.values() if v is not None and v not in causes})
    if bad_targets:
        raise EvidenceError(f"mapping: {bad_targets} are not causes of the model; expected "
                            f"cause ids {causes} (or nothing, for none of them).")
    labels = np.full((len(frame), len(causes)), np.nan)
    unknown: dict[str, list] = {}
    for i, (row, cell) in enumerate(frame[diagnosis].items()):
        if cell is None or (isinstance(cell, float) and math.isnan(cell)) \
                or not str(cell).strip():
            continue
        names = [part.strip() for part in str(cell).split(_SEPARATOR) if part.strip()]
        missing = [n for n in names if n not in known]
        for name in missing:
            unknown.setdefault(name, []).append(row)
        if missing:
            continue
        labels[i] = 0.0 if others == "absent" else np.nan
        for name in names:
            if known[name] is not None:
                labels[i, causes.index(known[name])] = 1.0
    if unknown:
        shown = "; ".join(f"{name!r} (rows {', '.join(map(str, rows[:3]))}"
                          f"{', ...' if len(rows) > 3 else ''})"
                          for name, rows in list(unknown.items())[:8])
        raise EvidenceError(
            f"{where}: column {diagnosis!r}: diagnoses the mapping does not name: {shown}. "
            "Map each to a cause id, or to nothing for none of the model's causes.")
    return pd.DataFrame(labels, index=frame.index, columns=causes)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (NaN, NaN when n = 0)."""
    from scipy.stats import norm

    if n == 0:
        return math.nan, math.nan
    z = float(norm.ppf(0.5 + level / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _auc(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """ROC AUC along the last axis (the Mann-Whitney statistic from mid-ranks, so ties count
    a half); NaN where a row has no positive or no negative."""
    from scipy.stats import rankdata

    ranks = rankdata(predicted, axis=-1)
    positives = truth.sum(axis=-1)
    negatives = truth.shape[-1] - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        u = (ranks * truth).sum(axis=-1) - positives * (positives + 1) / 2
        return np.where((positives > 0) & (negatives > 0), u / (positives * negatives), np.nan)


def _bootstrap_auc(truth: np.ndarray, predicted: np.ndarray, draws: int, level: float,
                   rng: np.random.Generator) -> tuple[float, float]:
    """Percentile bootstrap interval of the AUC, resampling cases (draws without both
    classes are skipped)."""
    n = len(truth)
    low, high = (1 - level) / 2, (1 + level) / 2
    values = []
    for start in range(0, draws, 200):  # in blocks: draws x cases of ranks at a time
        rows = rng.integers(0, n, size=(min(200, draws - start), n))
        values.append(_auc(truth[rows], predicted[rows]))
    values = np.concatenate(values)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return math.nan, math.nan
    return float(np.quantile(values, low)), float(np.quantile(values, high))


@dataclass(frozen=True)
class Evaluation:
    """The model measured on labelled cases.

    Attributes
    ----------
    per_cause : pandas.DataFrame
        Per cause: ``labelled`` (cases that label it), ``positives``, ``prevalence``,
        ``mean_predicted``, ``roc_auc`` with its bootstrap interval ``auc_low`` /
        ``auc_high``, ``brier`` and ``ece`` (expected calibration error, 10 bins). Causes
        no case labels have NaN.
    accuracy : pandas.Series
        Over the cases with at least one cause labelled present: ``cases``, ``top1`` (the
        model's leading cause is one of them), ``top3`` (one of them is in its top three),
        each with a Wilson interval.
    triage : pandas.DataFrame
        Per must-not-miss condition labelled present in some case: ``cases``, the share
        triaged ``see_clinician`` or ``urgent`` (its sensitivity, with a Wilson interval)
        and the share ``urgent``.
    levels : pandas.Series
        Every case's triage level.
    posterior, labels : pandas.DataFrame
        What the metrics were computed from.
    provenance : Provenance
    level : float
        The confidence level of the intervals.
    draws : int
        Bootstrap draws of each AUC interval.
    """

    per_cause: pd.DataFrame
    accuracy: pd.Series
    triage: pd.DataFrame
    levels: pd.Series
    posterior: pd.DataFrame
    labels: pd.DataFrame
    provenance: Provenance
    level: float = 0.95
    draws: int = 1000
    notes: tuple[str, ...] = field(default_factory=tuple)

    def reliability(self, cause: str, bins: int = 10) -> pd.DataFrame:
        """The reliability table of one cause over the cases that label it."""
        from .validation import reliability_table

        known = self.labels[cause].notna().to_numpy()
        return reliability_table(self.labels[cause].to_numpy()[known],
                                 self.posterior[cause].to_numpy()[known], bins)


def read_mapping(path: str | Path) -> dict[str, str | None]:
    """A diagnosis mapping file: TOML with a ``[diagnoses]`` table of diagnosis text ->
    cause id (``""`` for none of the model's causes)."""
    from .config import read_toml
    from .errors import ConfigError

    data = read_toml(path, "mapping file")
    table = data.get("diagnoses")
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ConfigError(str(path), ['diagnoses: expected a table of "diagnosis" = '
                                      '"cause_id" (or "" for none of the causes), got '
                                      f"{table!r}."], "mapping file")
    return {k: v or None for k, v in table.items()}


def evaluate(model: DiagnosticModel, cases: pd.DataFrame, labels: pd.DataFrame | None = None,
             diagnosis: str | None = None, mapping: Mapping[str, str | None] | None = None,
             others: str = "absent", draws: int = 1000, level: float = 0.95, seed: int = 0,
             ignore_extra: bool = False, data: str | Path | None = None) -> Evaluation:
    """See :meth:`kneebayes.DiagnosticModel.evaluate`."""
    from .validation import expected_calibration_error, triage_recall

    draws = check_count(draws, "draws", minimum=0)
    rng = np.random.default_rng(check_seed(seed))
    if not 0 < level < 1:
        raise EvidenceError(f"level: expected a number between 0 and 1, got {level!r}.")
    where = Path(data).name if data is not None else "cases"
    config = model.config
    if labels is None:
        labels = read_labels(cases, config, diagnosis, mapping, others, where)
    # causes are the labels; mechanisms (kneebayes sample writes them) are latent truths,
    # not evidence: neither is read as a finding
    label_columns = (set(config.causes) | set(config.mechanisms)
                     | ({diagnosis} if diagnosis else set()))
    observable = set(config.findings) | set(config.factors)
    evidence = cases[[c for c in cases.columns if c not in label_columns
                      and (c in observable or not ignore_extra)]]
    posterior = model.posterior_batch(evidence)
    levels = model.triage_batch(evidence, posterior)["triage"]
    truth_all = labels.to_numpy(dtype=float)
    rows = []
    for j, cause in enumerate(config.causes):
        known = ~np.isnan(truth_all[:, j])
        truth, p = truth_all[known, j], posterior[cause].to_numpy()[known]
        row = {"cause": cause, "labelled": int(known.sum()), "positives": int(truth.sum())}
        if known.any():
            auc = float(_auc(truth, p))
            low, high = (_bootstrap_auc(truth, p, draws, level, rng)
                         if draws and not math.isnan(auc) else (math.nan, math.nan))
            row.update(prevalence=float(truth.mean()), mean_predicted=float(p.mean()),
                       roc_auc=auc, auc_low=low, auc_high=high,
                       brier=float(np.mean((p - truth) ** 2)),
                       ece=expected_calibration_error(truth, p))
        rows.append(row)
    columns = ["labelled", "positives", "prevalence", "mean_predicted", "roc_auc", "auc_low",
               "auc_high", "brier", "ece"]
    per_cause = pd.DataFrame(rows).set_index("cause").reindex(columns=columns)
    present = np.nan_to_num(truth_all) == 1
    with_label = present.any(axis=1)
    order = np.argsort(-posterior[list(config.causes)].to_numpy(), axis=1, kind="stable")
    top1 = present[np.arange(len(order)), order[:, 0]][with_label]
    top3 = np.take_along_axis(present, order[:, :3], axis=1).any(axis=1)[with_label]
    n = int(with_label.sum())
    accuracy = pd.Series({"cases": n, "top1": top1.mean() if n else math.nan,
                          **dict(zip(("top1_low", "top1_high"),
                                     wilson_interval(int(top1.sum()), n, level), strict=True)),
                          "top3": top3.mean() if n else math.nan,
                          **dict(zip(("top3_low", "top3_high"),
                                     wilson_interval(int(top3.sum()), n, level), strict=True))})
    # the triage's recall per condition labelled present, as validate computes it, with a
    # Wilson interval; conditions no case is labelled with are left out
    triage = triage_recall(labels.eq(1), levels, config.triage.causes)
    triage = triage[triage["cases"] > 0]
    raised = (triage["see_clinician_or_urgent"] * triage["cases"]).round().astype(int)
    intervals = [wilson_interval(r, c, level) for r, c in zip(raised, triage["cases"],
                                                              strict=True)]
    triage.insert(2, "low", [low for low, _ in intervals])
    triage.insert(3, "high", [high for _, high in intervals])
    notes = tuple(f"{c}: no case labels it" for c in config.causes
                  if per_cause.loc[c, "labelled"] == 0)
    return Evaluation(per_cause, accuracy, triage, levels, posterior, labels,
                      provenance(config, data), level, draws, notes)


def write_evaluation_report(model: DiagnosticModel, evaluation: Evaluation,
                            out_dir: str | Path) -> Path:
    """Write ``evaluation.md`` (triage first, then the metrics with their intervals and
    the provenance), its figures and ``evaluation_per_cause.csv`` into `out_dir`, safely."""
    from . import plot
    from .outputs import write_bytes, write_text
    from .summary import markdown_text
    from .triage import NOTICE

    out = Path(out_dir)
    labels, posterior = evaluation.labels, evaluation.posterior
    scored = evaluation.per_cause[evaluation.per_cause["labelled"] > 0]

    def reliability_figure(ax):
        plot.reliability({c: evaluation.reliability(c) for c in scored.index},
                         "Reliability diagram (labelled cases)", ax)

    def roc_figure(ax):
        known = {c: labels[c].notna() for c in scored.index[scored["roc_auc"].notna()]}
        plot.roc({c: (labels.loc[k, c], posterior.loc[k, c], scored.loc[c, "roc_auc"])
                  for c, k in known.items()}, ax=ax)

    for name, draw in (("evaluation_reliability.png", reliability_figure),
                       ("evaluation_roc.png", roc_figure)):
        write_bytes(out / name, plot.png(draw, (6.5, 5)))
    write_text(out / "evaluation_per_cause.csv", evaluation.per_cause.to_csv())

    def md(frame: pd.DataFrame) -> str:
        """Counts as integers, other numbers to 3 decimals, empty for NaN, text inert."""
        counts = {"cases", "labelled", "positives"}
        table = pd.DataFrame({
            name: ["" if pd.isna(v) else f"{v:.0f}" if name in counts else f"{v:.3f}"
                   for v in frame[name]] for name in frame.columns}, index=frame.index)
        return table.rename(index=markdown_text).to_markdown(disable_numparse=True)

    acc, pct = evaluation.accuracy, f"{evaluation.level:.0%}"
    shares = evaluation.levels.value_counts(normalize=True).reindex(TRIAGE_LEVELS,
                                                                    fill_value=0)
    text = "\n".join([
        "# Evaluation on labelled cases", "", f"> {NOTICE}", "",
        *evaluation.provenance.markdown(), "",
        "## Triage", "",
        f"Triage of the {len(evaluation.levels):,} cases: "
        + ", ".join(f"{level} {share:.1%}" for level, share in shares.items()) + ".", "",
        ("Sensitivity of the triage for each must-not-miss condition labelled present (the "
         f"share raised to see_clinician or urgent, with its {pct} Wilson interval; an "
         "under-triage is the worst error this model can make):" if len(evaluation.triage)
         else "No case is labelled with a must-not-miss condition: the triage's sensitivity "
         "cannot be measured on these data."), "",
        md(evaluation.triage) if len(evaluation.triage) else "", "",
        "## Leading causes", "",
        (f"Over the {int(acc['cases']):,} cases with a cause labelled present: top-1 accuracy "
         f"{acc['top1']:.1%} ({pct} CI {acc['top1_low']:.1%}-{acc['top1_high']:.1%}), top-3 "
         f"{acc['top3']:.1%} ({acc['top3_low']:.1%}-{acc['top3_high']:.1%})."
         if acc["cases"] else "No case has a cause labelled present."), "",
        "## Per cause", "",
        f"Each cause on the cases that label it. ROC AUC with a {pct} percentile bootstrap "
        f"interval ({evaluation.draws} resamples of the cases); Brier score (0 best); ECE, "
        "the expected calibration error over 10 bins of the prediction.", "",
        md(evaluation.per_cause), "",
        *(f"- {markdown_text(n)}" for n in evaluation.notes), "",
        "![reliability](evaluation_reliability.png) ![roc](evaluation_roc.png)", "",
    ])
    return write_text(out / "evaluation.md", text)
