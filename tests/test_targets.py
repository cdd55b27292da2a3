"""Likelihood-ratio targets and the citation rule: the format, the implied ratios against
brute force, a deliberately overconfident file caught, and the shipped model's standing."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pytest
from conftest import DATA
from enumeration import enumerate_posterior

import kneebayes as kb
from kneebayes.config import grade_of, parse_config
from kneebayes.errors import ConfigError
from kneebayes.targets import (
    cluster_likelihood_ratios,
    implied_likelihood_ratios,
    population_check,
    target_failures,
)
from kneebayes.writer import config_to_data

TINY = tomllib.loads((DATA / "tiny.toml").read_text())


def problems(data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return str(caught.value)


def with_target(target: dict, finding: str = "pain") -> dict:
    data = copy.deepcopy(TINY)
    data["findings"][finding]["targets"] = {"overuse": target}
    return data


# --------------------------------------------------------------------------- the citation rule

@pytest.mark.parametrize(("source", "own", "grade"), [
    ("ref1: LR+ 2.2 (0.99-5.2)", True, "cited"),
    ("ref1: 33% of over-50s; elicited: radiating pain favours other causes", True, "anchored"),
    ("ref1; ref2; elicited: background", True, "elicited"),   # keys without a figure
    ("ref1", True, "elicited"),
    ("ref1: a figure-free remark", True, "elicited"),
    ("ref1: LR+ 2.2", False, "elicited"),   # a node-level citation over several numbers
    ("fitted: 300 cases; prior: ref1: LR+ 2.2", True, "fitted"),
])
def test_a_number_is_cited_only_where_its_own_source_names_the_figure(source, own, grade):
    assert grade_of(source, {"ref1": "A.", "ref2": "B."}, own) == grade


def test_a_node_level_citation_does_not_vouch_for_every_number():
    data = copy.deepcopy(TINY)
    data["findings"]["pain"]["source"] = "ref1: P(pain | overuse) 0.7 in a cohort"
    data["findings"]["pain"]["sources"] = {"leak": "elicited: background pain"}
    config = parse_config(data)
    by_path = {p.path: p for p in config.parameters()}
    assert by_path["findings.pain.leak"].grade == "elicited"
    # two numbers share the node-level source: it cannot say which one it supports
    assert by_path["findings.pain.causes.overuse"].grade == "elicited"
    data["findings"]["pain"]["sources"]["overuse"] = "ref1: P(pain | overuse) 0.7 in a cohort"
    by_path = {p.path: p for p in parse_config(data).parameters()}
    assert by_path["findings.pain.causes.overuse"].grade == "cited"
    # a node with a single number: its node-level source is its own
    lone = {p.path: p for p in parse_config(TINY).parameters()}["factors.runner.prior"]
    assert lone.grade == "elicited" and lone.source == "ref1"  # a key without a figure


# --------------------------------------------------------------------------- the format

def test_targets_are_read_and_written_back():
    data = with_target({"lr_positive": [1.2, 2.7], "lr_negative": [0.1, 0.3],
                        "source": "ref1: LR+ 1.8, LR- 0.2"})
    data["clusters"] = {"local": {"findings": ["pain", "normal_exam"], "cause": "overuse",
                                  "lr_positive": [1.5, 4.0], "source": "elicited: test"}}
    config = parse_config(data)
    (target,) = config.targets
    assert (target.finding, target.cause, target.lr_positive, target.lr_negative,
            target.grade) == ("pain", "overuse", (1.2, 2.7), (0.1, 0.3), "cited")
    assert config.clusters[0].findings == ("pain", "normal_exam")
    again = parse_config(config_to_data(config))
    assert again.targets == config.targets and again.clusters == config.clusters


@pytest.mark.parametrize(("target", "message"), [
    ({"lr_positive": [2, 1], "source": "ref1: LR+ 1.5"},
     "findings.pain.targets.overuse.lr_positive: expected [low, high]"),
    ({"source": "ref1: LR+ 1.5"}, "expected lr_positive and/or lr_negative, got neither"),
    ({"lr_positive": [1, 8], "source": "elicited: a strong sign in my experience"},
     "findings.pain.targets.overuse.lr_positive: expected a range up to at most 5"),
    ({"lr_negative": [0.05, 0.5], "source": "ref1; elicited: no figure named"},
     "findings.pain.targets.overuse.lr_negative: expected a range down to at least 0.2"),
    ({"lr_positive": [1, 8], "defining": True, "source": "elicited: strong"},
     "expected a source that says why this is the defining feature"),
    ({"lr_positive": [1, 2], "source": "ref9: LR+ 1.5"}, "source 'ref9' does not resolve"),
    ({"lr_positive": [1, 2], "source": "ref1: LR+ 1.5", "weight": 2}, "unknown key"),
])
def test_a_bad_target_is_named_by_its_key_path(target, message):
    assert message in problems(with_target(target))


def test_a_defining_feature_may_exceed_the_no_study_bounds_when_its_source_says_so():
    config = parse_config(with_target({
        "lr_positive": [5, 40], "defining": True,
        "source": "elicited: the defining feature of the condition: no case without it"}))
    assert config.targets[0].defining


def test_a_cluster_names_findings_and_a_cause():
    data = copy.deepcopy(TINY)
    data["clusters"] = {"c": {"findings": ["pain"], "cause": "overuse", "lr_positive": [1, 2],
                              "source": "elicited: test"}}
    assert "clusters.c.findings: expected an array of at least two finding ids" in problems(
        data)
    data["clusters"]["c"]["findings"] = ["pain", "runner"]
    assert "clusters.c.findings: expected the id of a finding, got 'runner'" in problems(data)


# --------------------------------------------------------------------------- implied ratios

def _odds(p: float) -> float:
    return p / (1 - p)


def test_implied_ratios_are_posterior_odds_over_prior_odds_by_brute_force(tiny_model):
    config = tiny_model.config
    table = implied_likelihood_ratios(tiny_model)
    prior, _ = enumerate_posterior(config, {})
    for x in config.findings:
        present, _ = enumerate_posterior(config, {x: 1})
        absent, _ = enumerate_posterior(config, {x: 0})
        for j, c in enumerate(config.causes):
            row = table.loc[(x, c)]
            assert row["lr_positive"] == pytest.approx(_odds(present[j]) / _odds(prior[j]),
                                                       rel=1e-12)
            assert row["lr_negative"] == pytest.approx(_odds(absent[j]) / _odds(prior[j]),
                                                       rel=1e-12)


def test_implied_ratios_are_the_ratio_of_the_finding_probabilities(tiny_model):
    """LR+ = P(x | c) / P(x | not c): the same number by the other definition."""
    config = tiny_model.config
    table = implied_likelihood_ratios(tiny_model)
    for x in config.findings:
        for j, c in enumerate(config.causes):
            # P(x, c) / P(c) from the posterior of c given x and P(x)
            post, p_x = enumerate_posterior(config, {x: 1})
            prior, _ = enumerate_posterior(config, {})
            given_c = post[j] * p_x / prior[j]
            given_not_c = (1 - post[j]) * p_x / (1 - prior[j])
            assert table.loc[(x, c), "lr_positive"] == pytest.approx(given_c / given_not_c,
                                                                     rel=1e-10)


def test_every_engine_gives_the_same_ratios(first_model):
    dense = implied_likelihood_ratios(first_model, method="dense")
    sparse = implied_likelihood_ratios(first_model, method="sparse")
    np.testing.assert_allclose(dense[["lr_positive", "lr_negative"]],
                               sparse[["lr_positive", "lr_negative"]], rtol=1e-10)


def test_a_deliberately_overconfident_file_fails():
    """An elicited finding made near-diagnostic (its weight 0.99 over a leak of 0.01)."""
    data = copy.deepcopy(TINY)
    data["findings"]["pain"].update(leak=0.01, causes={"overuse": 0.99})
    model = kb.DiagnosticModel(parse_config(data))
    failures = target_failures(model)
    assert any(line.startswith("pain -> overuse: LR+") and "no-study bounds" in line
               for line in failures), failures
    # the same finding with a published target that allows it passes
    data["findings"]["pain"]["targets"] = {"overuse": {
        "lr_positive": [20, 200], "source": "ref1: LR+ 60 (20-200)"}}
    model = kb.DiagnosticModel(parse_config(data))
    assert not any(line.startswith("pain -> overuse") for line in target_failures(model))
    # and a published target it misses fails, naming the stated range
    data["findings"]["pain"]["targets"]["overuse"]["lr_positive"] = [1.5, 3]
    model = kb.DiagnosticModel(parse_config(data))
    assert any("pain -> overuse" in line and "[1.5, 3]" in line and "stated" in line
               for line in target_failures(model))


def test_a_cluster_s_joint_ratio_is_exact():
    data = copy.deepcopy(TINY)
    data["clusters"] = {"local": {"findings": ["pain", "normal_exam"], "cause": "overuse",
                                  "lr_positive": [0.01, 5.0], "source": "elicited: test"}}
    model = kb.DiagnosticModel(parse_config(data))
    table = cluster_likelihood_ratios(model)
    row = table.loc["local"]
    truth, _ = enumerate_posterior(model.config, {"pain": 1, "normal_exam": 1})
    prior, _ = enumerate_posterior(model.config, {})
    j = model.causes.index("overuse")
    assert row["lr_positive"] == pytest.approx(_odds(truth[j]) / _odds(prior[j]), rel=1e-12)
    assert row["within"]


# --------------------------------------------------------------------------- the shipped model

def test_every_shipped_finding_and_cluster_is_inside_its_target(default_model):
    """All findings, all causes: the stated targets and, where none is stated, the bounds of
    a finding without an accuracy study; and every cluster's joint LR+."""
    table = implied_likelihood_ratios(default_model)
    assert len(table) == len(default_model.findings) * len(default_model.causes)
    assert len(default_model.config.clusters) >= 3
    assert target_failures(default_model) == []


def test_the_shipped_targets_cite_their_figures_or_stay_within_the_no_study_bounds(
        default_model):
    """A target either rests on a published figure its source names, or keeps LR+ <= 5 and
    LR- >= 0.2, or is one of at most ten defining features whose source says so (the
    pathognomonic signs of the rare must-not-miss conditions and the definitions of PFPS,
    ITBS and meralgia: without the exception a rare condition's defining sign would have to
    be common in everyone else)."""
    defining = [t for t in default_model.config.targets if t.defining]
    assert len(defining) <= 10
    for target in default_model.config.targets:
        if target.defining:
            assert "defining feature" in target.source, target
        elif target.grade != "cited":
            assert (target.lr_positive or (0, 0))[1] <= 5, target
            assert (target.lr_negative or (1, 1))[0] >= 0.2, target


def test_the_shipped_population_matches_its_prior_predictive(default_model):
    table = population_check(default_model)
    assert {"radiating", "none"} <= set(table.index)
    assert set(default_model.causes) <= set(table.index)
    assert table["within"].all(), table[~table["within"]]


def test_a_population_check_can_fail():
    data = copy.deepcopy(TINY)
    data["population"] = {
        "description": "test", "setting": "test", "entry": "pain", "inference": "conditioned",
        "source": "elicited: test",
        "shares": {"overuse": {"low": 0.8, "high": 0.9, "source": "elicited: wrong on purpose"},
                   "painful": {"low": 0.0, "high": 1.0, "findings": ["pain"],
                               "source": "elicited: anything"}}}
    table = population_check(kb.DiagnosticModel(parse_config(data)), n=5000)
    assert not table.loc["overuse", "within"] and table.loc["painful", "within"]
    data["population"]["inference"] = "observed"
    assert "population.inference: expected 'conditioned'" in problems(data)


def test_fit_reports_the_targets_the_fitted_model_leaves(tmp_path, capsys, monkeypatch):
    """Data that make a sign near-diagnostic: the fit says which target it now leaves."""
    from kneebayes.cli import main

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    n = 400
    overuse = rng.random(n) < 0.3  # runners, all with pain; almost nobody else has pain
    pain = np.where(overuse, True, rng.random(n) < 0.01)
    import pandas as pd

    pd.DataFrame({"pain": pain, "runner": overuse}).to_csv("cases.csv", index=False)
    status = main(["fit", "--priors", str(DATA / "tiny.toml"), "cases.csv", "-o", "fit.toml",
                   "--prior-weight", "0", "--json"])
    out = capsys.readouterr().out
    assert status == 0
    import json

    payload = json.loads(out)
    assert any(line.startswith("pain -> overuse: LR+") for line in payload["targets_left"])
    fitted = kb.load_model(tmp_path / "fit.toml")
    assert payload["targets_left"] == target_failures(fitted)
