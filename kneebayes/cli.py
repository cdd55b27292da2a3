"""The ``kneebayes`` command line: every differential is shown after its triage, with the notice."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .errors import EvidenceError, KneebayesError
from .model import DiagnosticModel, load_model
from .triage import NOTICE, Triage

__all__ = ["main"]

_BAR_WIDTH = 30


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``["groin_pain=yes", ...]`` -> ``{"groin_pain": "yes", ...}``."""
    evidence: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EvidenceError(
                f"{item!r}: expected FINDING=VALUE, for example groin_pain=yes or "
                "numbness_or_tingling=no."
            )
        if key.strip() in evidence:
            raise EvidenceError(f"{key.strip()!r} is given twice on the command line.")
        evidence[key.strip()] = value.strip()
    return evidence


def _label(model: DiagnosticModel, nid: str) -> str:
    return f"{model.config.nodes[nid].label} ({nid})"


def format_differential(model: DiagnosticModel, posterior: pd.Series,
                        intervals: pd.DataFrame | None = None) -> list[str]:
    width = max(len(_label(model, c)) for c in posterior.index)
    lines = []
    for cause, p in posterior.items():
        bar = "#" * round(p * _BAR_WIDTH)
        spread = ""
        if intervals is not None:
            row = intervals.loc[cause]
            spread = f"  [{row['low']:6.1%} - {row['high']:6.1%}]"
        lines.append(f"  {_label(model, cause):<{width}}  {p:6.1%}{spread}  {bar}")
    return lines


def _case(args: argparse.Namespace) -> tuple[DiagnosticModel, dict[str, str], pd.Series,
                                              Triage]:
    model = load_model(args.priors)
    evidence = parse_assignments(args.evidence)
    posterior = model.posterior(evidence)
    return model, evidence, posterior, model.triage(evidence, posterior=posterior)


def _emit(args: argparse.Namespace, evidence: dict[str, str], triage: Triage,
          body: list[str], payload: dict) -> int:
    """Triage first, then the body, then the notice; or JSON alone with the same parts."""
    if args.json:
        print(json.dumps({"triage": triage.to_dict(), **payload, "evidence": evidence,
                          "notice": NOTICE}, indent=2))
        return 0
    observed = ", ".join(f"{k}={v}" for k, v in evidence.items()) or "none (the prior)"
    print("\n".join([str(triage), "", f"Evidence: {observed}", *body, "", NOTICE]))
    return 0


def _cmd_posterior(args: argparse.Namespace) -> int:
    model, evidence, posterior, triage = _case(args)
    intervals = None
    head = ("Differential, P(cause present | evidence); causes can co-occur, so these need "
            "not sum to 100%:")
    payload: dict = {"posterior": {c: float(p) for c, p in posterior.items()},
                     "priors": model.config.path}
    if args.uncertainty:
        intervals = model.credible_posterior(evidence, draws=args.draws, level=args.level,
                                             seed=args.seed)
        head += (f"\n  [{args.level:.0%} credible interval over the priors' uncertainty, "
                 f"{args.draws} draws, seed {args.seed}]")
        payload["credible"] = json.loads(intervals.to_json(orient="index"))
    return _emit(args, evidence, triage, [head, *format_differential(model, posterior,
                                                                      intervals)], payload)


def _cmd_next(args: argparse.Namespace) -> int:
    model, evidence, posterior, triage = _case(args)
    table = model.next_findings(evidence, k=args.k, target=args.target)
    about = args.target or "all causes jointly"
    body = [f"Which finding to check next: expected information gain about {about}, in bits "
            f"(uncertainty now {table.attrs['entropy_bits']:.2f} bits):"]
    width = max((len(_label(model, f)) for f in table.index), default=0)
    for f, row in table.iterrows():
        cost = "" if pd.isna(row["cost"]) else (
            f"  cost {row['cost']:g}, {row['gain_per_cost']:.3f} bits per unit")
        body.append(f"  {_label(model, f):<{width}}  {row['information_gain']:.3f} bits  "
                    f"P(present) {row['p_present']:5.1%}{cost}")
    body += ["", "Current differential:", *format_differential(model, posterior)]
    payload = {"target": about, "next_findings": json.loads(table.to_json(orient="index")),
               "posterior": {c: float(p) for c, p in posterior.items()}}
    return _emit(args, evidence, triage, body, payload)


def _cmd_explain(args: argparse.Namespace) -> int:
    model, evidence, _, triage = _case(args)
    table = model.explain(evidence, args.cause)
    attrs = table.attrs
    body = [f"Why P({_label(model, args.cause)}) = {attrs['posterior']:.1%} (prior "
            f"{attrs['prior']:.1%}): weight of evidence = log10 likelihood ratio of each "
            "observation, given the rest:"]
    width = max((len(_label(model, k)) for k in table.index), default=0)
    for k, row in table.iterrows():
        body.append(f"  {row['weight_of_evidence']:+6.2f}  {_label(model, k):<{width}} = "
                    f"{row['value']:<7}  LR {row['likelihood_ratio']:7.3g}   "
                    f"{row['posterior_without']:6.1%} without it")
    body.append(f"  prior log10 odds {attrs['prior_log10_odds']:+.2f}, plus the observations "
                f"one at a time in this order, gives {attrs['posterior_log10_odds']:+.2f}")
    payload = {"cause": args.cause, **{k: attrs[k] for k in ("prior", "posterior",
                                                              "prior_log10_odds",
                                                              "posterior_log10_odds")},
               "weights": json.loads(table.to_json(orient="index"))}
    return _emit(args, evidence, triage, body, payload)


def _cmd_nodes(args: argparse.Namespace) -> int:
    model = load_model(args.priors)
    table = model.nodes()
    if args.json:
        print(table.reset_index().to_json(orient="records", indent=2))
        return 0
    for role, group in table.groupby("role", sort=False):
        print(f"{role}s:")
        for nid, row in group.iterrows():
            kind = f" [{row['kind']}]" if row["kind"] else ""
            print(f"  {nid:<34} {row['label']}{kind}")
            if row["description"]:
                print(f"  {'':<34}   {row['description']}")
        print()
    print(NOTICE)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import case_report

    model, evidence, _, triage = _case(args)
    case_report(model, evidence, draws=args.draws, seed=args.seed, path=args.output)
    print(str(triage))
    print(f"Wrote the case report (triage, differential with intervals, explanation, next "
          f"questions) to {args.output}.")
    print(NOTICE)
    return 0


def _cmd_model_card(args: argparse.Namespace) -> int:
    from .report import model_card

    model = load_model(args.priors)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(model_card(model), encoding="utf-8")
    print(f"Wrote the model card of {model.config.path} to {args.output}.")
    print(NOTICE)
    return 0


def _cmd_sample(args: argparse.Namespace) -> int:
    model = load_model(args.priors)
    cohort = model.sample(args.n, seed=args.seed, missing=args.missing,
                          latent=not args.no_latent)
    from .batch import write_frame

    write_frame(cohort, Path(args.output))
    print(f"Wrote {len(cohort)} synthetic cases ({cohort.shape[1]} columns) to {args.output}.")
    print(NOTICE)
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from .batch import read_chunks

    model = load_model(args.priors)
    cases = pd.concat(list(read_chunks(args.cases)), ignore_index=True)
    if args.id_column:
        cases = cases.set_index(args.id_column)
    fitted = model.fit(cases, prior_weight=args.prior_weight, max_iter=args.max_iter)
    fitted.to_toml(args.output)
    result = fitted.fit_result
    print(f"Fitted {len(cases)} cases in {result.iterations} EM iterations "
          f"({'converged' if result.converged else 'not converged'}; log-likelihood "
          f"{result.log_likelihood[-1]:.1f}); wrote the priors file {args.output}.")
    print(NOTICE)
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validation import write_validation_report

    model = load_model(args.priors)
    path = write_validation_report(model, args.output, n=args.n, seed=args.seed)
    print(f"Wrote {path} and its figures.")
    print(NOTICE)
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from .batch import score_dask_file, score_file

    model = load_model(args.priors)
    if args.dask:
        levels = score_dask_file(model, args.cases, args.output, args.id_column, args.scheduler)
    else:
        levels = score_file(model, args.cases, args.output, args.id_column,
                            progress=False if args.no_progress else None)
    counts = ", ".join(f"{level} {count}" for level, count in levels.items())
    summary = {"cases": int(levels.sum()), "output": str(args.output),
               "triage": {k: int(v) for k, v in levels.items()}, "notice": NOTICE}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Triage of {levels.sum()} cases: {counts} (column 'triage', red flags in "
              "'red_flags'; every urgent row needs same-day medical assessment).")
        print(f"Wrote triage and P(cause present | evidence) per case to {args.output}.")
        print(NOTICE)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kneebayes",
        description="Differential diagnosis of knee pain radiating up the leg, as a Bayesian "
        "network. " + NOTICE,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    priors = argparse.ArgumentParser(add_help=False)
    priors.add_argument("--priors", metavar="FILE", help="priors TOML file (default: shipped)")
    priors.add_argument("--json", action="store_true", help="print JSON alone on stdout")

    evidence_arg = {"nargs": "*", "metavar": "FINDING=VALUE",
                    "help": "e.g. groin_pain=yes numbness_or_tingling=no"}
    post = sub.add_parser(
        "posterior", parents=[priors], help="triage and posterior cause probabilities",
        description="Triage and P(cause present | evidence) for one case.",
    )
    post.add_argument("evidence", **evidence_arg)
    post.add_argument("--uncertainty", action="store_true",
                      help="credible intervals from the priors' own uncertainty")
    post.add_argument("--draws", type=int, default=1000, help="with --uncertainty (1000)")
    post.add_argument("--level", type=float, default=0.9, help="with --uncertainty (0.9)")
    post.add_argument("--seed", type=int, default=0, help="with --uncertainty (0)")
    post.set_defaults(run=_cmd_posterior)

    nxt = sub.add_parser("next", parents=[priors], help="which finding to check next",
                         description="Unobserved findings ranked by expected information "
                         "gain (bits) about the causes.")
    nxt.add_argument("evidence", **evidence_arg)
    nxt.add_argument("-k", type=int, default=10, help="how many (10)")
    nxt.add_argument("--target", metavar="CAUSE", help="gain about this cause only")
    nxt.set_defaults(run=_cmd_next)

    why = sub.add_parser("explain", parents=[priors], help="why a cause is as likely as it is",
                         description="Each observation's weight of evidence (log10 likelihood "
                         "ratio, leave-one-out) for one cause.")
    why.add_argument("cause", help="a cause id, e.g. hip_referred_pain")
    why.add_argument("evidence", **evidence_arg)
    why.set_defaults(run=_cmd_explain)

    score = sub.add_parser(
        "score", parents=[priors], help="triage and posteriors for a file of cases",
        description="Score a CSV or Parquet file of cases (a column per finding or factor id; "
        "values yes/no, 1/0, true/false, present/absent, empty for unobserved) into a CSV or "
        "Parquet file: triage, red flags and P(cause present | evidence) per case.",
    )
    score.add_argument("cases", help="input .csv or .parquet")
    score.add_argument("-o", "--output", required=True, help="output .csv or .parquet")
    score.add_argument("--id-column", metavar="NAME", help="column of case ids to keep")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    score.add_argument("--dask", action="store_true",
                       help="score with Dask (files larger than memory; input may be a glob)")
    score.add_argument("--scheduler", metavar="ADDRESS",
                       help="with --dask: a dask.distributed scheduler, e.g. tcp://host:8786 "
                       "(default: a local cluster)")
    score.set_defaults(run=_cmd_score)

    rep = sub.add_parser("report", parents=[priors], help="a case report (HTML)",
                         description="A self-contained HTML case report: triage banner, "
                         "differential with credible intervals, explanation, next questions.")
    rep.add_argument("evidence", **evidence_arg)
    rep.add_argument("-o", "--output", required=True, help="e.g. reports/case.html")
    rep.add_argument("--draws", type=int, default=500, help="for the intervals (500)")
    rep.add_argument("--seed", type=int, default=0)
    rep.set_defaults(run=_cmd_report)

    card = sub.add_parser("model-card", parents=[priors], help="the model card (Markdown)")
    card.add_argument("-o", "--output", required=True, help="e.g. reports/model_card.md")
    card.set_defaults(run=_cmd_model_card)

    smp = sub.add_parser("sample", parents=[priors], help="a synthetic cohort")
    smp.add_argument("-n", type=int, required=True, help="number of cases")
    smp.add_argument("-o", "--output", required=True, help=".csv or .parquet")
    smp.add_argument("--seed", type=int, default=0)
    smp.add_argument("--missing", type=float, help="rate of missing findings (MCAR)")
    smp.add_argument("--no-latent", action="store_true",
                     help="drop the cause and mechanism columns")
    smp.set_defaults(run=_cmd_sample)

    fit = sub.add_parser("fit", parents=[priors], help="fit the parameters to case data",
                         description="Update the priors' parameters from a CSV or Parquet "
                         "file of cases by EM; write the fitted priors file.")
    fit.add_argument("cases", help=".csv or .parquet: a column per factor, cause or finding")
    fit.add_argument("-o", "--output", required=True, help="fitted priors .toml")
    fit.add_argument("--id-column", metavar="NAME")
    fit.add_argument("--prior-weight", type=float, default=1.0,
                     help="scales the priors' pseudo-counts (0 = maximum likelihood)")
    fit.add_argument("--max-iter", type=int, default=200)
    fit.set_defaults(run=_cmd_fit)

    val = sub.add_parser("validate", parents=[priors], help="the validation report",
                         description="Vignettes, a synthetic cohort (ROC AUC, Brier score, "
                         "calibration) and parameter recovery, written to DIR/validation.md.")
    val.add_argument("-o", "--output", default="reports", metavar="DIR")
    val.add_argument("-n", type=int, default=20_000, help="synthetic cases (20000)")
    val.add_argument("--seed", type=int, default=0)
    val.set_defaults(run=_cmd_validate)

    nodes = sub.add_parser("nodes", parents=[priors], help="the node vocabulary")
    nodes.set_defaults(run=_cmd_nodes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for bad input, with no traceback)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KneebayesError as exc:
        print(f"kneebayes: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `kneebayes nodes | head`
        return 0


if __name__ == "__main__":
    sys.exit(main())
