"""The ``kneebayes`` command line: every differential is shown after its triage, with the notice."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .engine import DEFAULT_MEMORY_BUDGET
from .errors import EvidenceError, KneebayesError, shorten
from .evaluation import OTHERS
from .fitted_strength import INTERVAL_RULES
from .model import METHODS, DiagnosticModel, load_model
from .outputs import Interrupted, check_signals, check_target, signals_raise, write_text
from .reasoning import RANKINGS, reversal_notes
from .summary import (
    CaseSummary,
    frame_records,
    next_findings_heading,
    next_findings_lines,
    strict_json,
)
from .triage import NOTICE, Triage

__all__ = ["main"]


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """``["groin_pain=yes", ...]`` -> ``{"groin_pain": "yes", ...}``."""
    evidence: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EvidenceError(
                f"{shorten(item)}: expected FINDING=VALUE, for example groin_pain=yes or "
                "numbness_or_tingling=no."
            )
        if key.strip() in evidence:
            raise EvidenceError(f"{shorten(key.strip())} is given twice on the command line.")
        evidence[key.strip()] = value.strip()
    return evidence


def _model(args: argparse.Namespace) -> DiagnosticModel:
    return load_model(args.priors, memory_budget=args.memory_budget * 2**20)


def _case(args: argparse.Namespace) -> tuple[DiagnosticModel, CaseSummary]:
    model = _model(args)
    return model, CaseSummary.of(model, parse_assignments(args.evidence))


def _show(args: argparse.Namespace, summary: CaseSummary, body: list[str], **payload) -> int:
    """Triage first, then the body, then the notice; or one strict JSON object alone."""
    print(summary.to_json(**payload) if args.json else summary.to_text(body))
    return 0


def _done(args: argparse.Namespace, sentence: str, triage: Triage | None = None,
          **payload) -> int:
    """What a command that writes a file prints: the triage if it has one, one sentence,
    the notice; or the same as one JSON object."""
    if args.json:
        head = {} if triage is None else {"triage": triage.to_dict()}
        print(strict_json({**head, "notice": NOTICE, **payload}))
    else:
        print("\n".join([*([str(triage)] if triage is not None else []), sentence, NOTICE]))
    return 0


def _cmd_posterior(args: argparse.Namespace) -> int:
    model = _model(args)
    evidence = parse_assignments(args.evidence)
    summary = CaseSummary.of(model, evidence, model.posterior(evidence, method=args.method))
    intervals, payload = None, {}
    head = ("Differential, P(cause present | evidence); causes can co-occur, so these need "
            "not sum to 100%:")
    if args.uncertainty:
        intervals = model.credible_posterior(summary.evidence, draws=args.draws,
                                             level=args.level, seed=args.seed)
        head += (f"\n  [{args.level:.0%} credible interval over the priors' uncertainty, "
                 f"{args.draws} draws, seed {args.seed}]")
        payload["credible"] = frame_records(intervals)
    return _show(args, summary, [head, *summary.differential_lines(intervals)], **payload)


def _cmd_next(args: argparse.Namespace) -> int:
    model, summary = _case(args)
    table = model.next_findings(summary.evidence, k=args.k, target=args.target, by=args.by)
    body = [next_findings_heading(table), *next_findings_lines(table, summary.label),
            "", "Current differential:", *summary.differential_lines()]
    return _show(args, summary, body, target=table.attrs["target"],
                 ranking=table.attrs["ranking"], advice=table.attrs["advice"],
                 next_findings=frame_records(table))


def _cmd_explain(args: argparse.Namespace) -> int:
    model, summary = _case(args)
    table = model.explain(summary.evidence, args.cause)
    attrs = table.attrs
    body = [f"Why P({summary.label(args.cause)}) = {attrs['posterior']:.1%} (prior "
            f"{attrs['prior']:.1%}): weight of evidence = log10 likelihood ratio of each "
            "observation, given the rest:"]
    width = max((len(summary.label(k)) for k in table.index), default=0)
    for k, row in table.iterrows():
        body.append(f"  {row['weight_of_evidence']:+6.2f}  {summary.label(k):<{width}} = "
                    f"{row['value']:<7}  LR {row['likelihood_ratio']:7.3g}   "
                    f"{row['posterior_without']:6.1%} without it")
    body.append(f"  prior log10 odds {attrs['prior_log10_odds']:+.2f}, plus the observations "
                f"one at a time in this order, gives {attrs['posterior_log10_odds']:+.2f}")
    body += [f"  Note: {note}" for note in reversal_notes(model, table)]
    numbers = {k: attrs[k] for k in ("prior", "posterior", "prior_log10_odds",
                                     "posterior_log10_odds")}
    return _show(args, summary, body, cause=args.cause, **numbers,
                 weights=frame_records(table))


def _cmd_nodes(args: argparse.Namespace) -> int:
    model = _model(args)
    table = model.nodes()
    if args.json:
        print(strict_json({"notice": NOTICE, "nodes": [
            {"id": nid, **row} for nid, row in frame_records(table).items()]}))
        return 0
    for role, group in table.groupby("role", sort=False):
        print(f"{role}s:")
        for nid, row in group.iterrows():
            kind = f" [{row['kind']}]" if row["kind"] else ""
            print(f"  {nid:<34} {row['label']}{kind}")
            if row["states"] != "absent, present":  # a factor with named states
                node = model.config.nodes[nid]
                bands = ("" if node.cpd.bands is None else
                         ", or a number read by the bands " + ", ".join(
                             f"{state} from {edge:g}"
                             for state, edge in zip(node.states, node.cpd.bands, strict=True)))
                print(f"  {'':<34}   states: {row['states']}{bands}")
            if row["description"]:
                print(f"  {'':<34}   {row['description']}")
        print()
    print(NOTICE)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from .report import case_report

    model, summary = _case(args)
    case_report(model, summary.evidence, draws=args.draws, seed=args.seed, path=args.output)
    return _done(args, f"Wrote the case report (triage, differential with intervals, "
                 f"explanation, next questions) to {args.output}.", summary.triage,
                 output=args.output)


def _cmd_model_card(args: argparse.Namespace) -> int:
    from .report import model_card

    model = _model(args)
    write_text(args.output, model_card(model), inputs=[model.config.path])
    return _done(args, f"Wrote the model card of {model.config.path} to {args.output}.",
                 output=args.output, priors=model.config.path)


def _cmd_sample(args: argparse.Namespace) -> int:
    from .batch import file_format, write_frame

    file_format(Path(args.output))  # a wrong suffix or path fails before the sampling
    check_target(args.output)
    cohort = _model(args).sample(args.n, seed=args.seed, missing=args.missing,
                                 latent=not args.no_latent)
    write_frame(cohort, args.output)
    return _done(args, f"Wrote {len(cohort)} synthetic cases ({cohort.shape[1]} columns) to "
                 f"{args.output}.", output=args.output, cases=len(cohort),
                 columns=int(cohort.shape[1]))


def _cmd_fit(args: argparse.Namespace) -> int:
    from .fitted_strength import information_e_steps
    from .learn import check_fit_arguments, dense_e_step
    from .targets import target_failures
    from .writer import write_toml

    model = _model(args)
    check_target(args.output, inputs=[args.cases, model.config.path])
    cases = _read_mapped(args, model)
    # refused before the note below
    check_fit_arguments(args.prior_weight, args.max_iter, args.intervals)
    dense, detail = dense_e_step(model.config)
    if not dense and not args.json:  # said before the work, on stderr
        cost = (f"; then up to {information_e_steps(model.config):,} E-steps for the "
                "observed information"
                if args.intervals == "observed-information" else "")
        print(f"kneebayes: note: {detail}; {len(cases):,} cases, at most "
              f"{args.max_iter} iterations{cost}.", file=sys.stderr)
    fitted = model.fit(cases, prior_weight=args.prior_weight, max_iter=args.max_iter,
                       data=args.cases, intervals=args.intervals)
    write_toml(fitted.config, args.output, inputs=[args.cases, model.config.path])
    result = fitted.fit_result
    # The data may move a number past what its evidence allows: say which targets the fitted
    # model leaves, so that a fit cannot quietly make a finding near-diagnostic.
    left = target_failures(fitted)
    targets = (f" The fitted model leaves {len(left)} likelihood-ratio target(s):\n  "
               + "\n  ".join(left) if left else " Every likelihood-ratio target is met.")
    return _done(args, f"Fitted {len(cases)} cases in {result.iterations} EM iterations "
                 f"({'converged' if result.converged else 'not converged'}; log-likelihood "
                 f"{result.log_likelihood[-1]:.1f}); wrote the priors file {args.output}. "
                 f"Strengths (so credible intervals) from the {result.strengths}." + targets,
                 output=args.output, cases=len(cases), iterations=result.iterations,
                 converged=bool(result.converged), strengths=result.strengths,
                 log_likelihood=float(result.log_likelihood[-1]), targets_left=left)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import read_mapping, write_evaluation_report

    if args.map is not None and args.diagnosis_column is None:
        raise KneebayesError("--map: expected together with --diagnosis-column (it maps that "
                             "column's diagnoses to cause ids), got it alone.")
    model = _model(args)
    labels = [args.diagnosis_column] if args.diagnosis_column else []
    cases = _read_mapped(args, model, labels)
    mapping = read_mapping(args.map) if args.map is not None else None
    result = model.evaluate(cases, diagnosis=args.diagnosis_column, mapping=mapping,
                            others=args.others, draws=args.draws, seed=args.seed,
                            ignore_extra=args.ignore_extra, data=args.cases)
    path = write_evaluation_report(model, result, args.output)
    lines = [f"Triage sensitivity for {c}: {r['see_clinician_or_urgent']:.0%} of {int(r['cases'])} "
             f"(95% CI {r['low']:.0%}-{r['high']:.0%}), urgent {r['urgent']:.0%}"
             for c, r in result.triage.iterrows()]
    acc = result.accuracy
    if acc["cases"]:
        lines.append(f"Top-1 accuracy {acc['top1']:.1%}, top-3 {acc['top3']:.1%} over "
                     f"{int(acc['cases'])} cases with a cause labelled present.")
    lines += [f"ROC AUC {c}: {r['roc_auc']:.3f} [{r['auc_low']:.3f}, {r['auc_high']:.3f}] "
              f"on {int(r['labelled'])} labelled cases"
              for c, r in result.per_cause.iterrows() if r["roc_auc"] == r["roc_auc"]]
    return _done(args, "\n".join([*lines, f"Wrote {path}, its figures and per-cause table."]),
                 output=str(path), accuracy=result.accuracy.to_dict(),
                 per_cause=frame_records(result.per_cause),
                 triage_sensitivity=frame_records(result.triage),
                 provenance=result.provenance.to_dict())


def _cmd_check(args: argparse.Namespace) -> int:
    from .lint import lint

    args.priors = args.file
    model = _model(args)  # a malformed file raises its hard errors here: exit 2
    warnings = lint(model)
    head = (f"{args.file}: no hard errors ({len(model.causes)} causes, {len(model.findings)} "
            f"findings); {len(warnings)} modelling warning(s)"
            + (":" if len(warnings) else "."))
    limits = model.limits()
    lines = [head, *(f"  [{row.check}] {row.message}" for row in warnings.itertuples()),
             "What its size allows:",
             *(f"  {'yes' if r.available else 'NO '}  {name}: {r.detail}"
               for name, r in limits.iterrows())]
    return _done(args, "\n".join(lines), file=str(args.file),
                 warnings=warnings.to_dict(orient="records"),
                 limits=limits.reset_index().to_dict(orient="records"))


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validation import write_validation_report

    path = write_validation_report(_model(args), args.output, n=args.n, seed=args.seed)
    return _done(args, f"Wrote {path} and its figures.", output=str(path))


def _column_map(args: argparse.Namespace):
    """The column map of --columns FILE and --ignore-extra (None: neither given)."""
    from dataclasses import replace

    from .columns import ColumnMap, read_column_map

    if args.columns is None and not args.ignore_extra:
        return None
    columns = read_column_map(args.columns) if args.columns else ColumnMap()
    return replace(columns, ignore_extra=columns.ignore_extra or args.ignore_extra)


def _read_mapped(args: argparse.Namespace, model: DiagnosticModel, labels=()):
    """The cases of args.cases through the column map (its kept columns set aside)."""
    from .batch import read_cases

    cases = read_cases(args.cases, args.id_column)
    columns = _column_map(args)
    if columns is None:
        return cases
    return columns.apply(cases, model.config, labels, Path(args.cases).name)[0]


def _cmd_score(args: argparse.Namespace) -> int:
    from .batch import score_dask_file, score_file

    if args.scheduler is not None and not args.dask:
        raise KneebayesError("--scheduler: expected together with --dask (it names the Dask "
                             "scheduler to score on), got it alone; add --dask or drop it.")
    model = _model(args)
    columns = _column_map(args)
    if args.dask:
        levels = score_dask_file(model, args.cases, args.output, args.id_column, args.scheduler,
                                 columns=columns)
    else:
        levels = score_file(model, args.cases, args.output, args.id_column,
                            progress=False if args.no_progress else None, columns=columns)
    counts = ", ".join(f"{level} {count}" for level, count in levels.items())
    return _done(args, f"Triage of {levels.sum()} cases: {counts} (column 'triage', red flags "
                 "in 'red_flags'; every urgent row needs same-day medical assessment).\n"
                 f"Wrote triage and P(cause present | evidence) per case to {args.output}.",
                 cases=int(levels.sum()), output=str(args.output),
                 triage_counts={k: int(v) for k, v in levels.items()})


def _columns_arguments(parser: argparse.ArgumentParser, ignore_help: str) -> None:
    parser.add_argument("--ignore-extra", action="store_true", help=ignore_help)
    parser.add_argument("--columns", metavar="FILE.toml",
                        help="a column map: [rename] file column = model id (age in years "
                        "renamed to age reads through its bands), [keep] columns = [...] "
                        "passed through, ignore_extra = true")


class _IntermixedParser(argparse.ArgumentParser):
    """A sub-command parser that takes options anywhere among the evidence
    (``posterior groin_pain=yes --json fadir_positive=no``)."""

    _inside = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inside:  # parse_known_intermixed_args calls back into this method
            return super().parse_known_args(args, namespace)
        self._inside = True
        try:
            return super().parse_known_intermixed_args(args, namespace)
        finally:
            self._inside = False


def _whole(minimum: int):
    """An argparse type: an integer of at least `minimum` (its message is argparse's)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {shorten(text)}"
                                             ) from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer of at least {minimum}, "
                                             f"got {value}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kneebayes",
        description="Differential diagnosis of knee pain radiating up the leg, as a Bayesian "
        "network. " + NOTICE,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_IntermixedParser)
    priors = argparse.ArgumentParser(add_help=False)
    priors.add_argument("--priors", metavar="FILE", help="priors TOML file (default: shipped)")
    priors.add_argument("--json", action="store_true", help="print JSON alone on stdout")
    priors.add_argument("--memory-budget", metavar="MIB", type=_whole(1),
                        default=DEFAULT_MEMORY_BUDGET // 2**20,
                        help="memory the inference may use, in MiB "
                        f"({DEFAULT_MEMORY_BUDGET // 2**20})")

    evidence_arg = {"nargs": "*", "metavar": "FINDING=VALUE",
                    "help": "e.g. groin_pain=yes numbness_or_tingling=no"}
    post = sub.add_parser(
        "posterior", parents=[priors], help="triage and posterior cause probabilities",
        description="Triage and P(cause present | evidence) for one case.",
    )
    post.add_argument("evidence", **evidence_arg)
    post.add_argument("--method", choices=METHODS, default="compiled",
                      help="the engine: compiled (the fastest exact one for the model, "
                      "default), dense, sparse, or pgmpy (the reference)")
    post.add_argument("--uncertainty", action="store_true",
                      help="credible intervals from the priors' own uncertainty")
    post.add_argument("--draws", type=int, default=1000, help="with --uncertainty (1000)")
    post.add_argument("--level", type=float, default=0.9, help="with --uncertainty (0.9)")
    post.add_argument("--seed", type=int, default=0, help="with --uncertainty (0)")
    post.set_defaults(run=_cmd_posterior)

    nxt = sub.add_parser("next", parents=[priors], help="which finding to check next",
                         description="Unobserved findings ranked by the expected reduction "
                         "in the loss of the triage decision (where the priors file has a "
                         "[decision] loss table; ties by information) or by expected "
                         "information gain (bits) about the causes. When the triage is "
                         "already urgent, says to refer instead.")
    nxt.add_argument("evidence", **evidence_arg)
    nxt.add_argument("-k", type=int, default=10, help="how many (10)")
    nxt.add_argument("--target", metavar="CAUSE",
                     help="information about this cause only (the information ranking)")
    nxt.add_argument("--by", choices=RANKINGS, default=None,
                     help="the ranking: decision (the default where the priors file has a "
                     "loss table) or information (bits)")
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
    _columns_arguments(score, "ignore the other columns the model does not know (the "
                       "map's keep.columns pass through to the output)")
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
    fit.add_argument("--intervals", choices=INTERVAL_RULES,
                     help="how each fitted number's Beta strength is found (default: the "
                     "observed information where the E-step is dense, else informed cases)")
    _columns_arguments(fit, "ignore columns that are not nodes of the model")
    fit.set_defaults(run=_cmd_fit)

    ev = sub.add_parser(
        "evaluate", parents=[priors], help="measure the model on labelled cases",
        description="Measure the model on your own labelled cases (CSV or Parquet): ROC AUC "
        "with bootstrap confidence intervals, Brier score, calibration, top-1 and top-3 "
        "accuracy, and the triage's sensitivity for each must-not-miss condition; written "
        "to DIR/evaluation.md with figures and a per-cause CSV. Labels: a column per cause "
        "id (yes/no/empty), or one diagnosis column with --diagnosis-column and --map.")
    ev.add_argument("cases", help=".csv or .parquet: findings and factors, and the labels")
    ev.add_argument("-o", "--output", default="evaluation", metavar="DIR")
    ev.add_argument("--id-column", metavar="NAME")
    ev.add_argument("--diagnosis-column", metavar="NAME",
                    help="a column of diagnoses (several separated by ';')")
    ev.add_argument("--map", metavar="FILE.toml",
                    help="a TOML file whose [diagnoses] table maps each diagnosis to a cause "
                    "id (\"\" for none of the model's causes)")
    ev.add_argument("--others", choices=OTHERS, default="absent",
                    help="with --diagnosis-column: the causes a diagnosis does not name are "
                    "absent (default) or not labelled")
    _columns_arguments(ev, "ignore columns that are neither findings, factors nor labels")
    ev.add_argument("--draws", type=int, default=1000, help="bootstrap resamples (1000)")
    ev.add_argument("--seed", type=int, default=0)
    ev.set_defaults(run=_cmd_evaluate)

    chk = sub.add_parser(
        "check", parents=[priors], help="lint a priors file",
        description="Load a priors file (its hard errors: exit 2) and report modelling "
        "warnings: a finding that raises a cause it has no edge to, a finding that moves a "
        "cause the opposite way to its target, an extreme implied likelihood ratio for a "
        "finding not marked defining, a pair or cluster that leaves its target.")
    chk.add_argument("file", help="the priors .toml file")
    chk.set_defaults(run=_cmd_check)

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


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush of what could not be
    written (a closed pipe, a full device) raises nothing more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (under pytest)
        pass


def _describe(exc: OSError) -> str:
    where = f"{exc.filename}: " if exc.filename else ""
    return f"{where}{exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    0 on success; 2 for bad input or a file that cannot be read or written (one message on
    stderr, no traceback); 130 after Ctrl-C and 128 + N after signal N (SIGTERM, SIGHUP),
    with every partial output removed. Any other exception is a bug and is not caught.
    """
    try:
        with signals_raise():
            args = build_parser().parse_args(argv)
            status = args.run(args)
            check_signals()
            sys.stdout.flush()
            return status
    except BrokenPipeError:  # `kneebayes nodes | head`: the reader has what it wanted
        _quiet_stdout()
        return 0
    except (KneebayesError, OSError) as exc:
        try:
            sys.stdout.flush()
        except OSError:
            _quiet_stdout()
        message = _describe(exc) if isinstance(exc, OSError) else str(exc)
        print(f"kneebayes: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kneebayes: interrupted; no partial output was left.", file=sys.stderr)
        return 130
    except Interrupted as exc:
        print(f"kneebayes: stopped by {exc}; no partial output was left.", file=sys.stderr)
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())
