"""Posteriors are exact: hand-computed golden cases, the compiled engine, pgmpy's
VariableElimination and brute-force enumeration of the joint all agree."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import random_value, record_disagreement, small_model, state_indices
from enumeration import enumerate_posterior
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import configs, evidence_for

import kneebayes as kb

TOL = 1e-9


def test_one_cause_one_finding_is_bayes_rule():
    model = small_model(
        {"c": {"label": "C", "base": 0.2, "source": "elicited: t"}},
        {"f": {"label": "F", "kind": "history", "leak": 0.1, "causes": {"c": 0.9},
               "source": "elicited: t"}},
    )
    # Bayes' rule by hand: 0.2 * 0.9 / (0.2 * 0.9 + 0.8 * 0.1) = 0.18 / 0.26
    assert model.posterior({"f": True})["c"] == pytest.approx(0.18 / 0.26, abs=1e-12)
    # 0.2 * 0.1 / (0.2 * 0.1 + 0.8 * 0.9) = 0.02 / 0.74
    assert model.posterior({"f": "absent"})["c"] == pytest.approx(0.02 / 0.74, abs=1e-12)
    assert model.prior()["c"] == pytest.approx(0.2, abs=1e-12)


def test_two_causes_into_one_leaky_noisy_or_finding():
    model = small_model(
        {"a": {"label": "A", "base": 0.3, "source": "elicited: t"},
         "b": {"label": "B", "base": 0.1, "source": "elicited: t"}},
        {"f": {"label": "F", "kind": "history", "leak": 0.05,
               "causes": {"a": 0.6, "b": 0.8}, "source": "elicited: t"}},
    )
    # P(f | a, b) by the noisy-OR formula, then Bayes' rule over the four cause states.
    leak, pa, pb = 0.05, 0.6, 0.8
    qa, qb = (1 - pa) / (1 - leak), (1 - pb) / (1 - leak)
    like = {
        (0, 0): leak,
        (1, 0): pa,
        (0, 1): pb,
        (1, 1): 1 - (1 - leak) * qa * qb,  # = 1 - 0.95 * (0.4/0.95) * (0.2/0.95)
    }
    prior = {(a, b): (0.3 if a else 0.7) * (0.1 if b else 0.9) for a in (0, 1) for b in (0, 1)}
    joint = {s: prior[s] * like[s] for s in prior}
    total = sum(joint.values())
    expect_a = (joint[(1, 0)] + joint[(1, 1)]) / total
    expect_b = (joint[(0, 1)] + joint[(1, 1)]) / total
    post = model.posterior({"f": 1})
    assert post["a"] == pytest.approx(expect_a, abs=1e-12)
    assert post["b"] == pytest.approx(expect_b, abs=1e-12)
    # explaining away: with b known likely, a drops; here via the finding alone a rises
    assert post["a"] > 0.3


def test_factor_raises_cause_by_noisy_or():
    model = small_model(
        {"c": {"label": "C", "base": 0.05, "factors": {"g": 0.4}, "source": "elicited: t"}},
        {"f": {"label": "F", "kind": "history", "leak": 0.1, "causes": {"c": 0.9},
               "source": "elicited: t"}},
        factors={"g": {"label": "G", "prior": 0.25, "source": "elicited: t"}},
    )
    assert model.prior()["c"] == pytest.approx(0.75 * 0.05 + 0.25 * 0.4, abs=1e-12)
    assert model.posterior({"g": "yes"})["c"] == pytest.approx(0.4, abs=1e-12)


def _agree(model: kb.DiagnosticModel, observed: dict[str, int], label: str,
           include_unobserved_findings: bool = False) -> None:
    truth, _ = enumerate_posterior(model.config, state_indices(model, observed),
                                   include_unobserved_findings)
    answers = {}
    for method in ("compiled", "sparse", "pgmpy"):
        answers[method] = model.posterior(observed, method=method).reindex(model.causes)
        gap = float(np.max(np.abs(answers[method].to_numpy() - truth)))
        record_disagreement(f"{method} vs enumeration ({label})", gap)
        assert gap < TOL, (method, observed, answers[method], truth)
    for method in ("compiled", "sparse"):
        gap = float(np.max(np.abs(answers[method] - answers["pgmpy"])))
        record_disagreement(f"{method} vs pgmpy VariableElimination ({label})", gap)
    assert np.all((truth >= 0) & (truth <= 1))


def test_tiny_model_agrees_with_full_enumeration(tiny_model):
    rng = np.random.default_rng(1)
    observable = tiny_model.findings + tiny_model.factors
    for _ in range(40):
        chosen = rng.choice(observable, size=rng.integers(0, len(observable) + 1), replace=False)
        observed = {str(n): int(rng.integers(0, 2)) for n in chosen}
        _agree(tiny_model, observed, "tiny model", include_unobserved_findings=True)


def _agree_with_pgmpy(model: kb.DiagnosticModel, observed: dict[str, int], label: str
                      ) -> None:
    """Where brute-force enumeration is out of reach (the shipped model has 17 causes and
    65,536 joint factor states), kneebayes' engines against pgmpy, the model of record."""
    truth = model.posterior(observed, method="pgmpy").reindex(model.causes)
    for method in ("compiled", "sparse"):
        gap = float(np.max(np.abs(model.posterior(observed, method=method)
                                  .reindex(model.causes) - truth)))
        record_disagreement(f"{method} vs pgmpy VariableElimination ({label})", gap)
        assert gap < TOL, (method, observed)


def _random_evidence(model: kb.DiagnosticModel, rng: np.random.Generator, most: int
                     ) -> dict[str, object]:
    """Up to `most` - 1 findings and factors, each with a random value."""
    observable = model.findings + model.factors
    chosen = rng.choice(observable, size=int(rng.integers(0, most)), replace=False)
    return {str(n): random_value(model, str(n), rng) for n in chosen}


def test_first_vocabulary_agrees_with_enumeration_on_random_evidence(first_model):
    rng = np.random.default_rng(2)
    for _ in range(25):
        _agree(first_model, _random_evidence(first_model, rng, 15), "first vocabulary")


def test_first_vocabulary_with_every_finding_observed(first_model):
    rng = np.random.default_rng(3)
    observed = {n: int(rng.integers(0, 2)) for n in first_model.findings}
    _agree(first_model, observed, "first vocabulary")


def test_shipped_model_agrees_with_pgmpy_on_random_evidence(default_model):
    rng = np.random.default_rng(2)
    for _ in range(8):
        _agree_with_pgmpy(default_model, _random_evidence(default_model, rng, 20),
                          "shipped model")


def test_shipped_model_with_every_finding_observed(default_model):
    rng = np.random.default_rng(3)
    observed = {n: int(rng.integers(0, 2)) for n in default_model.findings}
    _agree_with_pgmpy(default_model, observed, "shipped model")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_priors_files_agree_with_brute_force(data):
    config = data.draw(configs())
    observed = data.draw(evidence_for(config))
    _agree(kb.DiagnosticModel(config), observed, "random priors files",
           include_unobserved_findings=True)
