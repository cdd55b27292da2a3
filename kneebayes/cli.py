"""The ``kneebayes`` command line: every differential is shown after its triage, with the notice."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

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


def format_differential(model: DiagnosticModel, posterior: pd.Series) -> list[str]:
    labels = {c: model.config.nodes[c].label for c in posterior.index}
    width = max(len(f"{labels[c]} ({c})") for c in posterior.index)
    lines = []
    for cause, p in posterior.items():
        bar = "#" * round(p * _BAR_WIDTH)
        lines.append(f"  {f'{labels[cause]} ({cause})':<{width}}  {p:6.1%}  {bar}")
    return lines


def format_case(
    model: DiagnosticModel, evidence: dict[str, str], posterior: pd.Series, triage: Triage
) -> str:
    observed = ", ".join(f"{k}={v}" for k, v in evidence.items()) or "none (the prior)"
    return "\n".join(
        [
            str(triage),
            "",
            f"Evidence: {observed}",
            "Differential, P(cause present | evidence); causes can co-occur, so these need "
            "not sum to 100%:",
            *format_differential(model, posterior),
            "",
            NOTICE,
        ]
    )


def _cmd_posterior(args: argparse.Namespace) -> int:
    model = load_model(args.priors)
    evidence = parse_assignments(args.evidence)
    posterior = model.posterior(evidence)
    triage = model.triage(evidence, posterior=posterior)
    if args.json:
        payload = {
            "triage": triage.to_dict(),
            "posterior": {c: float(p) for c, p in posterior.items()},
            "evidence": evidence,
            "priors": model.config.path,
            "notice": NOTICE,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(format_case(model, evidence, posterior, triage))
    return 0


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

    post = sub.add_parser(
        "posterior", parents=[priors], help="triage and posterior cause probabilities",
        description="Triage and P(cause present | evidence) for one case.",
    )
    post.add_argument("evidence", nargs="*", metavar="FINDING=VALUE",
                      help="e.g. groin_pain=yes numbness_or_tingling=no")
    post.set_defaults(run=_cmd_posterior)

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
