"""Credible intervals and sensitivity: exact at the point values, converging as the
strengths grow, and end points equal to posteriors recomputed by hand."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest
from conftest import DATA
from enumeration import enumerate_posterior
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import configs, evidence_for, priors_data

import kneebayes as kb
from kneebayes.config import NoisyOr, parse_config
from kneebayes.uncertainty import ParameterSweep, beta_parameters

TINY = tomllib.loads((DATA / "tiny.toml").read_text())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sweep_at_the_point_values_is_the_exact_posterior(data):
    config = data.draw(configs())
    observed = data.draw(evidence_for(config))
    sweep = ParameterSweep(config, observed)
    got = sweep.posterior(sweep.means)[0]
    truth, _ = enumerate_posterior(config, observed, include_unobserved_findings=True)
    np.testing.assert_allclose(got, truth, atol=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**16))
def test_sweep_at_drawn_parameters_is_the_exact_posterior_of_those_numbers(data, seed):
    """Each row of a sweep equals the dense engine on a priors file holding that row's
    numbers (written by the fitting code's own rewriter)."""
    from kneebayes.learn import _with_values

    config = data.draw(configs())
    observed = data.draw(evidence_for(config))
    sweep = ParameterSweep(config, observed)
    betas = beta_parameters(config)
    draws = np.random.default_rng(seed).beta(betas["a"], betas["b"], size=(3, len(betas)))
    draws = np.clip(draws, 1e-6, 1 - 1e-6)
    # a priors file cannot hold a noisy-OR weight below its leak (the sweep reads one as
    # the leak): lift such weights just above it, in both
    parameters = list(config.parameters())
    where = {(p.node, p.slot): i for i, p in enumerate(parameters)}
    for i, p in enumerate(parameters):
        if isinstance(config.nodes[p.node].cpd, NoisyOr) and p.slot != "leak":
            leak = draws[:, where[(p.node, "leak")]]
            draws[:, i] = np.maximum(draws[:, i], leak + (1 - leak) * 0.01)
    for nid in config.factors:  # a file holds a categorical factor's states summing to one
        if config.nodes[nid].categorical:
            columns = config.parameter_columns[nid]
            draws[:, columns] /= draws[:, columns].sum(axis=1, keepdims=True)
    rows = sweep.posterior(draws)
    for values, row in zip(draws, rows, strict=True):
        model = kb.DiagnosticModel(_with_values(config, values, 0, 0, 1.0))
        truth = model.posterior(observed, method="dense").reindex(config.causes)
        np.testing.assert_allclose(row, truth, atol=1e-9)


def _with_strength(data: dict, strength: float) -> dict:
    """Every probability of a parsed priors mapping rewritten as { mean, n = strength }."""
    def visit(value):
        if isinstance(value, dict) and set(value) in ({"mean", "n"}, {"low", "high"}):
            mean = value.get("mean", (value.get("low", 0) + value.get("high", 0)) / 2)
            return {"mean": mean, "n": strength}
        if isinstance(value, dict):
            return {k: (v if k in ("label", "source", "kind", "parents", "cause", "level",
                                   "message", "when", "title", "see_clinician_above",
                                   "urgent_above") else visit(v)) for k, v in value.items()}
        if isinstance(value, float) and 0 < value < 1:
            return {"mean": value, "n": strength}
        return value
    out = copy.deepcopy(data)
    for section in ("factors", "causes", "mechanisms", "findings"):
        out[section] = visit(out.get(section, {}))
    for spec in out["factors"].values():  # a categorical factor: one Dirichlet strength
        if "states" in spec:
            spec["prior"] = {s: v["mean"] for s, v in spec["prior"].items()}
            spec["n"] = strength
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_credible_mean_converges_to_the_point_posterior(data):
    raw = data.draw(priors_data())
    observed = data.draw(evidence_for(parse_config(raw)))
    gaps = []
    for strength in (1e2, 1e4, 1e6):
        model = kb.DiagnosticModel(parse_config(_with_strength(raw, strength)))
        table = model.credible_posterior(observed, draws=400, seed=1)
        gaps.append(float((table["mean"] - table["posterior"]).abs().max()))
        assert (table["low"] <= table["median"] + 1e-12).all()
        assert (table["median"] <= table["high"] + 1e-12).all()
    assert gaps[-1] < 2e-3
    assert gaps[-1] <= gaps[0] + 1e-9


def test_credible_posterior_is_reproducible_and_bounded(default_model):
    evidence = {"groin_pain": "yes", "pain_with_hip_movement": "yes"}
    a = default_model.credible_posterior(evidence, draws=300, seed=3)
    b = default_model.credible_posterior(evidence, draws=300, seed=3)
    c = default_model.credible_posterior(evidence, draws=300, seed=4)
    assert a.equals(b) and not a.equals(c)
    assert ((a[["mean", "median", "low", "high"]] >= 0) & (a[["mean", "median", "low", "high"]]
                                                             <= 1)).all().all()
    assert ((a["low"] <= a["posterior"]) & (a["posterior"] <= a["high"])).all()
    point = default_model.posterior(evidence)
    np.testing.assert_allclose(a["posterior"], point.reindex(a.index), atol=1e-12)
    narrow = default_model.credible_posterior(evidence, draws=300, seed=3, level=0.5)
    assert ((narrow["high"] - narrow["low"]) <= (a["high"] - a["low"]) + 1e-12).all()


def test_sensitivity_end_points_equal_posteriors_recomputed_by_hand(tiny_model):
    evidence = {"pain": 1, "normal_exam": 0, "fever": 1}
    tornado = tiny_model.sensitivity(evidence, "serious")
    betas = beta_parameters(tiny_model.config)
    assert set(tornado.index) == set(betas.index)
    assert tornado["swing"].is_monotonic_decreasing
    cases = {
        "findings.pain.causes.overuse": ("findings", "pain", "causes", "overuse"),
        "causes.serious.base": ("causes", "serious", "base"),
        "findings.normal_exam.table.irritability": ("findings", "normal_exam", "table",
                                                    "irritability"),
        "factors.runner.prior": ("factors", "runner", "prior"),
    }
    for path, keys in cases.items():
        for end in ("low", "high"):
            data = copy.deepcopy(TINY)
            target = data
            for key in keys[:-1]:
                target = target[key]
            target[keys[-1]] = float(tornado.loc[path, end])
            by_hand = kb.DiagnosticModel(parse_config(data)).posterior(evidence)["serious"]
            assert tornado.loc[path, f"posterior_{end}"] == pytest.approx(by_hand, abs=1e-9)


def test_one_way_curve(tiny_model):
    path = "findings.fever.causes.serious"
    grid = np.array([0.05, 0.2, 0.5, 0.9])
    curve = tiny_model.sensitivity({"fever": 1}, "serious", parameter=path, grid=grid)
    np.testing.assert_allclose(curve["value"], grid)
    assert curve["posterior"].is_monotonic_increasing  # a stronger link, a likelier cause
    data = copy.deepcopy(TINY)
    data["findings"]["fever"]["causes"]["serious"] = 0.5
    by_hand = kb.DiagnosticModel(parse_config(data)).posterior({"fever": 1})["serious"]
    assert curve["posterior"].iloc[2] == pytest.approx(by_hand, abs=1e-9)
    default = tiny_model.sensitivity({"fever": 1}, "serious", parameter=path)
    assert len(default) == 41


def test_sensitivity_errors(tiny_model):
    with pytest.raises(kb.KneebayesError, match=r"Did you mean 'findings\.pain\.leak'"):
        tiny_model.sensitivity({}, "serious", parameter="findings.pain.lek")
    with pytest.raises(kb.KneebayesError, match="level"):
        tiny_model.credible_posterior({}, level=1.5)
