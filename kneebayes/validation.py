"""Checks of the model: single-finding likelihood ratios beside the targets the priors file
states, synthetic-cohort metrics, parameter recovery and the vignettes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .checks import check_count, check_seed
from .config import TRIAGE_LEVELS
from .errors import KneebayesError
from .lint import lint
from .outputs import write_bytes, write_text
from .provenance import provenance
from .summary import markdown_text
from .targets import cluster_likelihood_ratios, implied_likelihood_ratios, population_check

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = [
    "cohort_metrics",
    "expected_calibration_error",
    "likelihood_ratios",
    "parameter_recovery",
    "recovery_budget",
    "reliability_table",
    "triage_recall",
    "vignette_accuracy",
    "write_validation_report",
]


_MIN_COHORT = 100  # fewer synthetic cases leave most ROC curves without a positive case


def likelihood_ratios(model: DiagnosticModel) -> pd.DataFrame:
    """Every finding-cause pair the priors file states a target for, and every pair that
    leaves its target (the no-study bounds included): the implied LR+ and LR- beside the
    target (see :func:`kneebayes.targets.implied_likelihood_ratios`)."""
    table = implied_likelihood_ratios(model)
    return table[table["stated"] | ~table["within"]]


# --------------------------------------------------------------------------- metrics

def expected_calibration_error(outcome: np.ndarray, predicted: np.ndarray, bins: int = 10
                               ) -> float:
    """Expected calibration error: the case-weighted mean |observed rate - mean prediction|
    over `bins` equal-width bins of the prediction."""
    table = reliability_table(outcome, predicted, bins)
    return float((table["count"] * (table["observed"] - table["predicted"]).abs()).sum()
                 / table["count"].sum())


def reliability_table(outcome: np.ndarray, predicted: np.ndarray, bins: int = 10
                      ) -> pd.DataFrame:
    """Per non-empty bin of the prediction: its mean prediction, the observed rate, the
    count (the data of a reliability diagram)."""
    outcome, predicted = np.asarray(outcome, float), np.asarray(predicted, float)
    which = np.minimum((predicted * bins).astype(int), bins - 1)
    frame = pd.DataFrame({"bin": which, "predicted": predicted, "observed": outcome})
    table = frame.groupby("bin").agg(predicted=("predicted", "mean"),
                                     observed=("observed", "mean"),
                                     count=("observed", "size"))
    return table


# --------------------------------------------------------------------------- the report

def vignette_accuracy(model: DiagnosticModel, library: dict | None = None) -> pd.DataFrame:
    """Per vignette: the model's leading causes, whether the first is expected (top-1),
    whether every expected cause is in the top three (top-3), the triage level, and
    ``result``: pass when the expected causes lead, every cause of the differential is in
    the top three or named by the triage (a must-not-miss condition with weak features is
    carried by the triage, not inflated into the top three), and the triage is at least
    the expected level."""
    from . import vignettes

    library = vignettes.load() if library is None else library
    known = set(model.findings) | set(model.factors)
    rows = []
    for vid, vignette in library.items():
        wanted = vignette.expected or vignette.differential
        if not set(vignette.evidence) <= known or not set(wanted) <= set(model.causes):
            continue  # written for another vocabulary
        post = model.posterior(vignette.evidence)
        triage = model.triage(vignette.evidence, posterior=post)
        rows.append({"vignette": vid, "expected": " + ".join(wanted),
                     "model_top": post.index[0], "p_top": float(post.iloc[0]),
                     # a differential-only case (a must-not-miss condition with weak
                     # features) is judged on the top three and its triage, not on top-1
                     "top1": float(post.index[0] in vignette.expected) if vignette.expected
                     else np.nan,
                     "top3": set(wanted) <= set(post.index[:3]),
                     "triage": (level := triage.level),
                     "named": " + ".join(triage.named),
                     "result": "pass" if (
                         set(post.index[:len(vignette.expected)]) == set(vignette.expected)
                         and set(vignette.differential)
                         <= set(post.index[:3]) | set(triage.named)
                         and TRIAGE_LEVELS.index(level)
                         >= TRIAGE_LEVELS.index(vignette.triage or "none"))
                     else "FAIL"})
    columns = ["vignette", "expected", "model_top", "p_top", "top1", "top3", "triage",
               "named", "result"]
    return pd.DataFrame(rows, columns=columns).set_index("vignette")


def cohort_metrics(model: DiagnosticModel, cohort: pd.DataFrame) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    """Discrimination and calibration on a synthetic cohort whose causes are known.

    Returns
    -------
    metrics : pandas.DataFrame
        Per cause: prevalence, ROC AUC, Brier score, expected calibration error.
    posterior : pandas.DataFrame
        The posteriors the metrics were computed from.
    """
    from sklearn.metrics import brier_score_loss, roc_auc_score

    observable = [c for c in cohort.columns if c in model.findings or c in model.factors]
    posterior = model.posterior_batch(cohort[observable])
    rows = []
    for cause in model.causes:
        truth = cohort[cause].to_numpy().astype(int)
        p = posterior[cause].to_numpy()
        both = 0 < truth.sum() < len(truth)  # AUC needs cases with and without the cause
        rows.append({"cause": cause, "prevalence": truth.mean(),
                     "roc_auc": roc_auc_score(truth, p) if both else np.nan,
                     "brier": brier_score_loss(truth, p, labels=[0, 1]),
                     "ece": expected_calibration_error(truth, p)})
    return pd.DataFrame(rows).set_index("cause"), posterior


def recovery_budget(model: DiagnosticModel, n: int) -> tuple[int, int]:
    """The cases and EM iterations :func:`write_validation_report` spends on parameter
    recovery: all `n` and up to 200 iterations where the dense E-step enumerates the latent
    states; otherwise (the sparse E-step solves each distinct case apart, about 10 ms a
    case on the shipped 17-cause model) at most 1,000 cases and 20 iterations, so that a
    validation finishes in minutes."""
    from .learn import _enumerable

    return (n, 200) if _enumerable(model.config) else (min(n, 1_000), 20)


def parameter_recovery(model: DiagnosticModel, n: int = 20_000, seed: int = 0,
                       hidden_causes: bool = True, max_iter: int = 200
                       ) -> tuple[pd.DataFrame, object]:
    """Sample `n` cases, fit by maximum likelihood from perturbed starting values (at most
    `max_iter` EM iterations), and set each fitted parameter beside the truth."""
    from .learn import perturb

    cohort = model.sample(n, seed=seed, latent=True)
    keep = [c for c in cohort.columns
            if c in model.findings or c in model.factors
            or (c in model.causes and not hidden_causes)]
    start = type(model)(perturb(model.config, scale=0.5, seed=seed + 1))
    # the recovery table reads the fitted means only: no second-order work
    fitted = model.fit(cohort[keep], prior_weight=0.0, start=start, max_iter=max_iter,
                       intervals="informed-cases")
    truth = [p.value.mean for p in model.config.parameters()]
    got = [p.value.mean for p in fitted.config.parameters()]
    table = pd.DataFrame({"truth": truth, "fitted": got},
                         index=pd.Index([p.path for p in model.config.parameters()],
                                        name="parameter"))
    table["abs_error"] = (table["fitted"] - table["truth"]).abs()
    return table, fitted.fit_result


def triage_recall(cohort: pd.DataFrame, levels: pd.Series, conditions: tuple[str, ...]
                  ) -> pd.DataFrame:
    """Per must-not-miss condition: the cases with it present in a sampled cohort and the
    share triaged at least 'see_clinician' and 'urgent'."""
    rows = []
    for condition in conditions:
        present = cohort[condition].to_numpy(dtype=bool)
        level = levels.to_numpy()[present]
        rows.append({"condition": condition, "cases": int(present.sum()),
                     "see_clinician_or_urgent": float(np.mean(level != "none"))
                     if len(level) else np.nan,
                     "urgent": float(np.mean(level == "urgent")) if len(level) else np.nan})
    return pd.DataFrame(rows).set_index("condition")


def write_validation_report(model: DiagnosticModel, out_dir: str | Path = "reports",
                            n: int = 20_000, seed: int = 0) -> Path:
    """Run the validation and write ``validation.md`` with its figures into `out_dir`."""
    import time

    from . import plot
    from .triage import NOTICE

    check_count(n, "n", minimum=_MIN_COHORT)
    check_seed(seed)
    started = time.perf_counter()
    out = Path(out_dir)
    skipped: dict[str, str] = {}

    def attempt(section: str, compute):
        """Run one section; a size limit or another refusal marks it as not run (and
        why) instead of losing the sections that can run."""
        try:
            return compute()
        except KneebayesError as exc:
            skipped[section] = str(exc).splitlines()[0]
            return None

    vig = vignette_accuracy(model)
    cohort = model.sample(n, seed=seed, missing=0.5)
    metrics, posterior = cohort_metrics(model, cohort)
    triage = model.triage_batch(cohort[[c for c in cohort.columns if c in model.findings
                                        or c in model.factors]], posterior)
    recall = triage_recall(cohort, triage["triage"], model.config.triage.causes)
    recovery_n, recovery_iter = recovery_budget(model, n)
    recovered = attempt("Parameter recovery", lambda: (
        parameter_recovery(model, recovery_n, seed, hidden_causes=False,
                           max_iter=recovery_iter),
        parameter_recovery(model, recovery_n, seed, hidden_causes=True,
                           max_iter=recovery_iter)))
    (recovery_obs, fit_obs), (recovery_hid, fit_hid) = recovered or ((None, None),) * 2
    lrs = likelihood_ratios(model)
    clusters = cluster_likelihood_ratios(model)
    population = population_check(model, seed=seed)
    warnings = attempt("Lint", lambda: lint(model))

    def reliability_figure(ax):
        plot.reliability({c: reliability_table(cohort[c].to_numpy(), posterior[c].to_numpy())
                          for c in model.causes}, "Reliability diagram (synthetic cohort)", ax)

    def roc_figure(ax):
        plot.roc({c: (cohort[c], posterior[c], metrics.loc[c, "roc_auc"])
                  for c in metrics.index[metrics["roc_auc"].notna()]}, ax=ax)

    def recovery_figure(ax):
        ax.scatter(recovery_obs["truth"], recovery_obs["fitted"], s=8, label="causes observed")
        ax.scatter(recovery_hid["truth"], recovery_hid["fitted"], s=8, marker="x",
                   label="causes hidden")
        plot.diagonal_reference(ax, "true parameter", "fitted (maximum likelihood, EM)",
                                f"Parameter recovery, {recovery_n:,} cases", legend_size=8)

    figures = [("validation_reliability.png", reliability_figure),
               ("validation_roc.png", roc_figure)]
    if recovered is not None:
        figures.append(("validation_recovery.png", recovery_figure))
    for name, draw in figures:
        write_bytes(out / name, plot.png(draw, (6.5, 5)))
    elapsed = time.perf_counter() - started

    def md(frame: pd.DataFrame) -> str:
        def safe(value):
            return markdown_text(value) if isinstance(value, str) else value

        inert = frame.map(safe).rename(index=safe, columns=safe)
        return inert.to_markdown(floatfmt=".3f")

    text = "\n".join([
        "# Validation report", "", f"> {NOTICE}", "",
        f"Generated by `kneebayes validate` for *{markdown_text(model.config.title)}* "
        f"(seed {seed}).", "", *provenance(model.config).markdown(), "",
        "## Vignettes", "",
        (f"{int((vig['result'] == 'pass').sum())} of {len(vig)} teaching vignettes pass "
         "(the expected causes lead, the differential is in the top three or named by the "
         "triage, the triage reaches its level). Top-1 accuracy "
         f"{vig['top1'].mean():.0%} over the {int(vig['top1'].notna().sum())} with an expected "
         f"cause; top-3 accuracy {vig['top3'].mean():.0%}." if len(vig) else
         "No shipped vignette uses this model's vocabulary."), "", md(vig), "",
        f"## Synthetic cohort ({n:,} cases, every finding missing at random with rate 0.5)",
        "",
        "Triage of the cohort: " + ", ".join(
            f"{level} {share:.1%}" for level, share in
            triage["triage"].value_counts(normalize=True).reindex(TRIAGE_LEVELS, fill_value=0)
            .items()) + ".", "",
        "Triage of the cases with each must-not-miss condition present (its recall; an "
        "under-triage is the worst error):", "", md(recall), "",
        md(metrics), "",
        "![reliability](validation_reliability.png) ![roc](validation_roc.png)", "",
        "## Parameter recovery", "",
        *(_recovery_section(n, recovery_n, recovery_iter, recovery_obs, fit_obs,
                            recovery_hid, fit_hid, md) if recovered is not None
          else [f"Not run: {skipped['Parameter recovery']}", ""]),
        "## Single-finding likelihood ratios: implied vs target", "",
        (f"{int((~lrs['within']).sum())} of the {len(lrs)} pairs below leave their target "
         "(FAIL). Targets are those the priors file states (from published figures) or, "
         "where it states none, the bounds of a finding without an accuracy study "
         "(LR+ at most 5, LR- at least 0.2)."), "",
        md(lrs.assign(result=lrs["within"].map({True: "pass", False: "FAIL"}))[
            ["lr_positive", "positive_low", "positive_high", "lr_negative", "negative_low",
             "negative_high", "stated", "result"]]), "",
        "## Clusters of correlated findings: joint LR+ vs target", "",
        (md(clusters.assign(result=clusters["within"].map({True: "pass", False: "FAIL"}))[
            ["findings", "cause", "lr_positive", "product_of_single", "positive_low",
             "positive_high", "result"]]) if len(clusters) else "The file states none."), "",
        "## The population: prior predictive vs the file's stated shares", "",
        (md(population.assign(result=population["within"].map(
            {True: "pass", False: "FAIL"}))[["what", "low", "high", "sampled", "result"]])
         if len(population) else "The file states no population."), "",
        "## Lint (kneebayes check)", "",
        *(_lint_section(warnings, md) if warnings is not None
          else [f"Not run: {skipped['Lint']}", ""]),
        *([f"Sections not run: {', '.join(skipped)} (see each for why)."] if skipped else []),
        f"Run time: {elapsed:.0f} s.", "",
    ])
    return write_text(out / "validation.md", text)


def _recovery_section(n, recovery_n, recovery_iter, recovery_obs, fit_obs, recovery_hid,
                      fit_hid, md) -> list[str]:
    return [
        f"{recovery_n:,} cases sampled from the model, fitted by EM (maximum likelihood, no "
        f"pseudo-counts, at most {recovery_iter} iterations) from a start perturbed by "
        "N(0, 0.5) on the logit scale"
        + ("." if recovery_n == n else
           f" (fewer cases and iterations than the cohort's {n:,}: the sparse E-step "
           "solves each case apart at this model's size, see `recovery_budget`)."), "",
        "| causes in the data | iterations | max abs error | median abs error | "
        "parameters within 0.05 |", "| --- | --- | --- | --- | --- |",
        *(f"| {label} | {res.iterations} | {tab['abs_error'].max():.3f} | "
          f"{tab['abs_error'].median():.4f} | {(tab['abs_error'] <= 0.05).mean():.0%} |"
          for label, tab, res in (("observed", recovery_obs, fit_obs),
                                  ("hidden", recovery_hid, fit_hid))), "",
        "Largest errors (causes hidden):", "",
        md(recovery_hid.sort_values("abs_error", ascending=False).head(8)), "",
        "![recovery](validation_recovery.png)", ""]


def _lint_section(warnings: pd.DataFrame, md) -> list[str]:
    if warnings.empty:
        return ["No modelling warning.", ""]
    return [f"{len(warnings)} modelling warning(s) (`kneebayes check` explains each):", "",
            md(warnings.set_index("check")), ""]
