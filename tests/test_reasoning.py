"""Explanation, next question, most probable explanation and comparison, each checked
against brute-force enumeration of the joint."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from enumeration import enumerate_cause_joint, enumerate_posterior
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import configs, evidence_for

import kneebayes as kb

SLOW = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def log10_odds(p: float) -> float:
    return math.log10(p / (1 - p))


@SLOW
@given(data=st.data())
def test_information_gain_equals_entropy_drop_by_enumeration(data):
    config = data.draw(configs())
    model = kb.DiagnosticModel(config)
    observed = data.draw(evidence_for(config))
    observed = {k: v for k, v in observed.items() if k in config.factors or data.draw(
        st.booleans())}
    ranked = model.next_findings(observed)
    base, p_e = enumerate_cause_joint(config, observed)
    assert set(ranked.index) == set(config.findings) - set(observed)
    for finding, row in ranked.iterrows():
        with_1, p_1 = enumerate_cause_joint(config, observed | {finding: 1})
        with_0, _ = enumerate_cause_joint(config, observed | {finding: 0})
        p = p_1 / p_e
        assert row["p_present"] == pytest.approx(p, abs=1e-9)
        expected = entropy(base) - p * entropy(with_1) - (1 - p) * entropy(with_0)
        assert row["information_gain"] == pytest.approx(max(expected, 0.0), abs=1e-9)
    gains = ranked["information_gain"].to_numpy()
    assert np.all(np.diff(gains) <= 1e-15)  # sorted, highest first


@SLOW
@given(data=st.data())
def test_information_gain_about_one_target(data):
    config = data.draw(configs())
    model = kb.DiagnosticModel(config)
    target = data.draw(st.sampled_from(config.causes))
    ranked = model.next_findings({}, target=target)
    t = config.causes.index(target)

    def h(p: float) -> float:
        return entropy(np.array([p, 1 - p]))

    prior, p_e = enumerate_posterior(config, {}, include_unobserved_findings=True)
    for finding, row in ranked.iterrows():
        post_1, p_1 = enumerate_posterior(config, {finding: 1}, True)
        post_0, _ = enumerate_posterior(config, {finding: 0}, True)
        p = p_1 / p_e
        expected = h(prior[t]) - p * h(post_1[t]) - (1 - p) * h(post_0[t])
        assert row["information_gain"] == pytest.approx(max(expected, 0), abs=1e-9)


@SLOW
@given(data=st.data())
def test_weight_of_evidence_sign_and_sums(data):
    config = data.draw(configs())
    model = kb.DiagnosticModel(config)
    observed = data.draw(evidence_for(config))
    cause = data.draw(st.sampled_from(config.causes))
    table = model.explain(observed, cause)
    c = config.causes.index(cause)
    full = enumerate_posterior(config, observed, True)[0][c]
    assert table.attrs["posterior"] == pytest.approx(full, abs=1e-9)
    for item, row in table.iterrows():
        without = enumerate_posterior(
            config, {k: v for k, v in observed.items() if k != item}, True)[0][c]
        assert row["posterior_without"] == pytest.approx(without, abs=1e-9)
        assert row["weight_of_evidence"] == pytest.approx(
            log10_odds(full) - log10_odds(without), abs=1e-7)
        if abs(full - without) > 1e-9:  # removing it moves the posterior the other way
            assert np.sign(row["weight_of_evidence"]) == np.sign(full - without)
    assert table.attrs["prior_log10_odds"] + table["sequential_weight"].sum() == pytest.approx(
        table.attrs["posterior_log10_odds"], abs=1e-9)
    assert list(table.index) == sorted(table.index, key=lambda k: -abs(
        table.loc[k, "weight_of_evidence"]))


@SLOW
@given(data=st.data())
def test_most_probable_explanation_is_the_argmax_of_the_joint(data):
    config = data.draw(configs())
    model = kb.DiagnosticModel(config)
    observed = data.draw(evidence_for(config))
    mpe = model.most_probable_explanation(observed, k=3)
    joint, _ = enumerate_cause_joint(config, observed)
    best = np.sort(joint)[::-1][: len(mpe)]
    np.testing.assert_allclose(mpe["probability"], best, atol=1e-9)
    top = mpe.iloc[0]
    state = sum(int(top[c]) << (len(config.causes) - 1 - i) for i, c in enumerate(config.causes))
    assert joint[state] == pytest.approx(joint.max(), abs=1e-12)


def test_shipped_explanation_reads_like_the_clinic(default_model):
    evidence = {"groin_pain": "yes", "pain_with_hip_movement": "yes", "knee_exam_normal": "yes",
                "numbness_or_tingling": "no"}
    table = default_model.explain(evidence, "hip_referred_pain")
    assert table.loc["groin_pain", "weight_of_evidence"] > 0
    assert table.loc["pain_with_hip_movement", "weight_of_evidence"] > 0
    assert table.attrs["posterior"] > table.attrs["prior"]
    # a normal knee examination speaks against the local knee causes
    assert default_model.explain(evidence, "pfps").loc["knee_exam_normal",
                                                       "weight_of_evidence"] < 0


def test_shipped_next_question_and_costs(default_model):
    ranked = default_model.next_findings({"groin_pain": "yes"}, k=5)
    assert len(ranked) == 5 and "groin_pain" not in ranked.index
    assert (ranked["information_gain"] > 0).all()
    costed = default_model.next_findings({"groin_pain": "yes"})
    have_cost = costed["cost"].notna()
    np.testing.assert_allclose(costed.loc[have_cost, "gain_per_cost"],
                               costed.loc[have_cost, "information_gain"]
                               / costed.loc[have_cost, "cost"])


def test_two_causes_at_once(first_model):
    evidence = {"groin_pain": 1, "pain_with_hip_movement": 1, "low_back_pain": 1,
                "numbness_or_tingling": 1, "femoral_nerve_stretch_positive": 1}
    mpe = first_model.most_probable_explanation(evidence, k=3)
    assert mpe.index[0] == 1 and mpe["probability"].is_monotonic_decreasing
    assert "+" in " ".join(mpe["causes"])  # a two-cause explanation is among the top three


@SLOW
@given(data=st.data())
def test_compare_against_enumeration(data):
    config = data.draw(configs(max_causes=3))
    if len(config.causes) < 2:
        return
    model = kb.DiagnosticModel(config)
    a, b = config.causes[0], config.causes[1]
    observed = data.draw(evidence_for(config))
    result = model.compare(observed, a, b)
    joint, p_e = enumerate_cause_joint(config, observed)
    n = len(config.causes)
    state_a = (np.arange(2**n) >> (n - 1)) & 1
    state_b = (np.arange(2**n) >> (n - 2)) & 1
    only_a, only_b = joint[(state_a == 1) & (state_b == 0)].sum(), joint[
        (state_a == 0) & (state_b == 1)].sum()
    assert result.exclusive_odds == pytest.approx(only_a / only_b, rel=1e-9)
    a_only, b_only = (state_a == 1) & (state_b == 0), (state_a == 0) & (state_b == 1)

    def which(joint: np.ndarray) -> float:  # entropy of "a rather than b" given exactly one
        return entropy(np.array([joint[a_only].sum(), joint[b_only].sum()])
                       / (joint[a_only].sum() + joint[b_only].sum()))

    for finding, row in result.findings.iterrows():
        j1, p1 = enumerate_cause_joint(config, observed | {finding: 1})
        j0, _ = enumerate_cause_joint(config, observed | {finding: 0})
        assert row["p_if_a_only"] == pytest.approx(p1 / p_e * j1[a_only].sum() / only_a,
                                                   abs=1e-9)
        one = only_a + only_b
        q1 = p1 / p_e * (j1[a_only].sum() + j1[b_only].sum()) / one  # P(f | e, exactly one)
        expected = which(joint) - q1 * which(j1) - (1 - q1) * which(j0)
        assert row["information_gain"] == pytest.approx(max(expected, 0.0), abs=1e-9)


def test_unknown_cause_is_a_clear_error(tiny_model):
    with pytest.raises(kb.KneebayesError, match="Did you mean 'overuse'"):
        tiny_model.explain({"pain": 1}, "overuze")
    with pytest.raises(kb.KneebayesError, match="two different causes"):
        tiny_model.compare({}, "overuse", "overuse")


def test_reasoning_that_needs_the_joint_says_so_when_the_dense_engine_cannot_fit(tiny_model):
    model = kb.DiagnosticModel(tiny_model.config, memory_budget=2**10)
    with pytest.raises(kb.ModelTooLarge, match="joint states of the causes"):
        model.most_probable_explanation({"pain": 1})
    # the next question falls back to the per-cause gains, summed, and says so
    assert model.next_findings({"pain": 1}).attrs["target"].startswith("each cause")
    # what needs only marginals runs on the sparse engine, exactly
    pd.testing.assert_frame_equal(model.explain({"pain": 1, "fever": 0}, "overuse"),
                                  tiny_model.explain({"pain": 1, "fever": 0}, "overuse"),
                                  atol=1e-12)
    pd.testing.assert_frame_equal(model.next_findings({"pain": 1}, target="serious"),
                                  tiny_model.next_findings({"pain": 1}, target="serious"),
                                  atol=1e-12)
