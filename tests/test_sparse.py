"""The sparse engine: exact against pgmpy and brute-force enumeration from 7 to 30 causes,
with many findings observed, improbable findings that would underflow a plain product, and
its size checks."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import random_value, record_disagreement, small_model
from enumeration import enumerate_posterior

import kneebayes as kb
from kneebayes.evidence import frame_arrays
from kneebayes.sparse import SparseEngine

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from networks import larger_network

TOL = 1e-9


def sampled_evidence(model: kb.DiagnosticModel, n: int, missing: float, seed: int):
    cohort = model.sample(n, seed=seed, latent=False, missing=missing)
    return frame_arrays(cohort, model.config)


@pytest.mark.parametrize(("causes", "mixed"), [(7, True), (10, True), (12, False)])
def test_sparse_agrees_with_the_dense_engine_and_enumeration(causes, mixed):
    """`mixed`: 2- and 4-state factors, a mechanism and a full-table finding (at 12 causes
    their joint states are too many for the brute force)."""
    model = kb.DiagnosticModel(larger_network(causes, 5 * causes, 6, seed=causes, mixed=mixed))
    findings, factors = sampled_evidence(model, 300, 0.5, seed=causes)
    sparse = model.sparse_engine.run(findings, factors)
    dense = model.dense_engine.run(findings, factors)
    gap = np.max(np.abs(sparse.marginals - dense.marginals))
    record_disagreement("sparse vs dense engine (generated networks)", gap)
    assert gap < TOL
    np.testing.assert_allclose(sparse.log_evidence, dense.log_evidence, rtol=1e-9, atol=1e-9)
    for i in range(5):
        observed = {x: int(v) for x, v in zip(model.findings, findings[i], strict=True)
                    if not np.isnan(v)}
        observed |= {f: int(v) for f, v in zip(model.factors, factors[i], strict=True)
                     if not np.isnan(v)}
        truth, _ = enumerate_posterior(model.config, observed)
        gap = np.max(np.abs(sparse.marginals[i] - truth))
        record_disagreement("sparse vs enumeration (generated networks)", gap)
        assert gap < TOL


def pgmpy_marginals(model: kb.DiagnosticModel, observed: dict[str, int]) -> np.ndarray:
    """P(cause present | observed) from pgmpy's VariableElimination, one cause at a time with
    the min-fill order: its joint query over 30 causes asks for an 8 GiB factor."""
    from pgmpy.inference import VariableElimination

    inference = VariableElimination(model.network)
    evidence = {k: model.config.nodes[k].states[v] for k, v in observed.items()}
    return np.array([inference.query([c], evidence=evidence, elimination_order="MinFill",
                                     show_progress=False).get_value(**{c: "present"})
                     for c in model.causes])


@pytest.mark.parametrize(("causes", "cases", "mixed"), [(16, 4, True), (20, 3, True),
                                                        (30, 2, False)])
def test_sparse_agrees_with_pgmpy_on_large_networks(causes, cases, mixed):
    """`mixed`: with 2- and 4-state factors, a mechanism and a full-table finding (at 30
    causes pgmpy's own elimination then takes minutes, so two-state factors there)."""
    model = kb.DiagnosticModel(larger_network(causes, 5 * causes, 8, seed=causes, mixed=mixed))
    assert isinstance(model.engine, SparseEngine)  # the dense tables would not fit
    findings, factors = sampled_evidence(model, cases, 0.5, seed=causes)
    sparse = model.sparse_engine.run(findings, factors).marginals
    for i in range(cases):
        observed = {x: int(v) for x, v in zip(model.findings, findings[i], strict=True)
                    if not np.isnan(v)}
        assert len(observed) >= 30 or causes < 20  # many observed findings
        observed |= {f: int(v) for f, v in zip(model.factors, factors[i], strict=True)
                     if not np.isnan(v)}
        reference = pgmpy_marginals(model, observed)
        gap = np.max(np.abs(sparse[i] - reference))
        record_disagreement(f"sparse vs pgmpy VariableElimination ({causes} causes)", gap)
        assert gap < TOL


def test_forty_improbable_findings_do_not_underflow():
    """Each finding present multiplies P(evidence) by about 1e-10: a plain product of forty
    would be 1e-400, below the smallest double; the sparse engine rescales as it goes."""
    n, leak, weight = 40, 1e-10, 3e-10
    findings = {f"x{i}": {"label": "x", "kind": "history", "leak": leak,
                          "causes": {"c": weight, "d": 2e-10}, "source": "elicited: t"}
                for i in range(n)}
    model = small_model({"c": {"label": "c", "base": 0.01, "source": "elicited: t"},
                         "d": {"label": "d", "base": 0.02, "source": "elicited: t"}},
                        findings)
    evidence = {f"x{i}": 1 for i in range(n)}
    sparse = model.posterior(evidence, method="sparse")
    dense = model.posterior(evidence, method="dense")
    np.testing.assert_allclose(sparse.reindex(model.causes), dense.reindex(model.causes),
                               rtol=1e-9)
    arrays = frame_arrays(pd.DataFrame([evidence]), model.config)
    log_evidence = model.sparse_engine.run(*arrays).log_evidence[0]
    assert math.isfinite(log_evidence) and math.exp(log_evidence) == 0.0  # beyond a double
    assert log_evidence == pytest.approx(model.dense_engine.run(*arrays).log_evidence[0],
                                         rel=1e-12)


def test_every_query_method_gives_the_same_answer(first_model):
    rng = np.random.default_rng(5)
    observable = first_model.findings + first_model.factors
    for _ in range(10):
        chosen = rng.choice(observable, size=int(rng.integers(0, 20)), replace=False)
        evidence = {str(x): random_value(first_model, str(x), rng) for x in chosen}
        answers = [first_model.posterior(evidence, method=m).reindex(first_model.causes)
                   for m in ("compiled", "dense", "sparse", "pgmpy")]
        for other in answers[1:]:
            np.testing.assert_allclose(other, answers[0], atol=TOL)
    with pytest.raises(kb.KneebayesError, match="method: expected one of"):
        first_model.posterior({}, method="fast")


def test_credible_intervals_and_the_tornado_work_at_twenty_causes():
    model = kb.DiagnosticModel(larger_network(20, 100, 8, seed=20))
    findings, _ = sampled_evidence(model, 1, 0.5, seed=3)
    evidence = {x: int(v) for x, v in zip(model.findings, findings[0], strict=True)
                if not np.isnan(v)}
    intervals = model.credible_posterior(evidence, draws=200, seed=0)
    point = model.posterior(evidence).reindex(intervals.index)
    np.testing.assert_allclose(intervals["posterior"], point, atol=1e-9)
    assert ((intervals["low"] <= point) & (point <= intervals["high"])).all()
    tornado = model.sensitivity(evidence, "c0")
    assert len(tornado) == sum(1 for _ in model.config.parameters())


def test_reasoning_on_either_engine_gives_the_same_answer(first_model):
    evidence = {"groin_pain": 1, "pain_with_hip_movement": 1, "numbness_or_tingling": 0}
    pd.testing.assert_frame_equal(
        first_model.explain(evidence, "hip_referred_pain", method="sparse"),
        first_model.explain(evidence, "hip_referred_pain", method="dense"), atol=1e-9)
    pd.testing.assert_frame_equal(
        first_model.next_findings(evidence, target="lumbar_radiculopathy",
                                  method="sparse"),
        first_model.next_findings(evidence, target="lumbar_radiculopathy",
                                  method="dense"), atol=1e-9)


def test_without_the_joint_the_next_question_sums_the_gains_about_each_cause(first_model):
    """On the sparse engine (no joint over the cause states) the next question ranks by the
    information about each cause, summed, and says so; the sum is the per-cause gains'."""
    evidence = {"groin_pain": 1, "numbness_or_tingling": 0}
    summed = first_model.next_findings(evidence, method="sparse")
    assert summed.attrs["target"].startswith("each cause")
    by_cause = sum(first_model.next_findings(evidence, target=c, method="sparse")
                   ["information_gain"] for c in first_model.causes)
    np.testing.assert_allclose(summed["information_gain"], by_cause[summed.index], atol=1e-9)


def test_the_joint_explanation_on_the_shipped_model_says_what_to_do_instead(default_model):
    with pytest.raises(kb.ModelTooLarge, match="only the dense engine gives"):
        default_model.most_probable_explanation({"groin_pain": "yes"})


def test_the_command_line_works_on_a_twenty_cause_model(tmp_path):
    import subprocess

    kb.DiagnosticModel(larger_network(20, 100, 8, seed=20)).to_toml(tmp_path / "g.toml")
    for args in (["posterior", "x1=yes", "x2=no", "--uncertainty", "--draws", "100"],
                 ["explain", "c0", "x1=yes"], ["next", "x1=yes", "--target", "c0"],
                 ["report", "x1=yes", "-o", "r.html", "--draws", "50"],
                 ["sample", "-n", "200", "-o", "s.csv", "--no-latent"],
                 ["fit", "s.csv", "--id-column", "case", "-o", "f.toml", "--max-iter", "2"],
                 ["score", "s.csv", "--id-column", "case", "-o", "scored.parquet"]):
        done = subprocess.run([sys.executable, "-m", "kneebayes", *args, "--priors", "g.toml"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, (args, done.stderr)
    done = subprocess.run([sys.executable, "-m", "kneebayes", "next", "x1=yes", "--priors",
                           "g.toml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr  # the per-cause sum


def test_identical_cases_are_solved_once_with_the_same_answer(default_model):
    rng = np.random.default_rng(8)
    observable = default_model.findings + default_model.factors
    cases = [{str(x): random_value(default_model, str(x), rng)
              for x in rng.choice(observable, size=6, replace=False)} for _ in range(5)]
    frame = pd.DataFrame([cases[i] for i in rng.integers(0, 5, size=40)])
    batch = default_model.posterior_batch(frame)
    for i, row in frame.iterrows():
        one = default_model.posterior(row.dropna().to_dict()).reindex(batch.columns)
        np.testing.assert_allclose(batch.loc[i], one, atol=1e-12)
