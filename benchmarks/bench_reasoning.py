"""Reasoning benchmark on the shipped model, in one run: explain, next_findings,
most_probable_explanation, compare, credible_posterior (1,000 draws; target under a second)
and the sensitivity tornado, each against the cost of one pgmpy VariableElimination query.

    python benchmarks/bench_reasoning.py
"""

from __future__ import annotations

import os
import platform

from bench_engine import timed

import kneebayes as kb

EVIDENCE = {"groin_pain": "yes", "pain_with_hip_movement": "yes", "knee_exam_normal": "yes",
            "numbness_or_tingling": "no", "runner_or_cyclist": "no"}


def main() -> None:
    model = kb.load_model()
    model.posterior(EVIDENCE, method="pgmpy")  # build pgmpy's network first
    pgmpy = timed(lambda: model.posterior(EVIDENCE, method="pgmpy"), 20)
    rows = {
        "posterior()": timed(lambda: model.posterior(EVIDENCE), 50),
        "explain()": timed(lambda: model.explain(EVIDENCE, "hip_referred_pain")),
        "next_findings() (29 candidates)": timed(lambda: model.next_findings(EVIDENCE)),
        "most_probable_explanation()": timed(lambda: model.most_probable_explanation(EVIDENCE)),
        "compare()": timed(lambda: model.compare(EVIDENCE, "hip_referred_pain",
                                                 "lumbar_radiculopathy")),
        "credible_posterior(draws=1000)": timed(lambda: model.credible_posterior(EVIDENCE)),
        "sensitivity() tornado (196 parameters)": timed(
            lambda: model.sensitivity(EVIDENCE, "hip_referred_pain")),
    }
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"{'call':<42} {'seconds':>9} {'x one pgmpy query':>18}")
    print(f"{'pgmpy VariableElimination, one query':<42} {pgmpy:9.4f} {1:18.1f}")
    for name, seconds in rows.items():
        print(f"{name:<42} {seconds:9.4f} {seconds / pgmpy:18.2f}")


if __name__ == "__main__":
    main()
