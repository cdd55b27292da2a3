"""Nothing hidden: red flags always have a rule, extreme but valid priors stay honest, sizes
are checked before memory is taken, concurrent calls leave the process as they found it,
and text from a priors file never becomes markup."""

from __future__ import annotations

import json
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, small_model

import kneebayes as kb
from kneebayes.config import parse_config
from kneebayes.errors import ConfigError, KneebayesError, ModelTooLarge
from kneebayes.report import model_card
from kneebayes.summary import strict_json

TINY = (DATA / "tiny.toml").read_text()


def tiny_variant(tmp_path: Path, old: str, new: str) -> kb.DiagnosticModel:
    assert old in TINY
    path = tmp_path / "variant.toml"
    path.write_text(TINY.replace(old, new))
    return kb.load_model(path)


# -- red flags


def test_a_red_flag_finding_without_a_rule_does_not_load(tmp_path):
    text = TINY[:TINY.index("[red_flags.cannot_walk]")] + TINY[TINY.index("[references]"):]
    path = tmp_path / "no_rules.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        kb.load_model(path)
    problems = "\n".join(caught.value.problems)
    assert "findings.cannot_walk.kind" in problems and "findings.fever.kind" in problems
    assert "[red_flags.cannot_walk]" in problems


def test_a_red_flag_named_only_in_a_combined_rule_loads(tmp_path):
    text = TINY.replace('[red_flags.fever]\nlevel = "see_clinician"\nmessage = "Fever: see a '
                        'clinician."\n', "")
    path = tmp_path / "combined.toml"
    path.write_text(text)
    assert kb.load_model(path).triage({"fever": "yes", "trauma": "yes"}).level == "urgent"


# -- extreme but valid priors

EXTREMES = [("leak = 0.2\n", "leak = 1e-300\n"),
            ("causes = { overuse = 0.9 }", "causes = { overuse = 0.9999999999999999 }"),
            ("base = 0.01", "base = 1e-300"),
            ("factors = { trauma = 0.2 }", "factors = { trauma = 0.9999999999999999 }")]


@pytest.mark.parametrize(("old", "new"), EXTREMES)
@pytest.mark.parametrize("evidence", [{}, {"pain": "yes"}, {"pain": "no", "trauma": "yes"},
                                      {"cannot_walk": "yes", "fever": "no"}])
def test_intervals_contain_their_point_and_json_stays_strict(tmp_path, old, new, evidence):
    model = tiny_variant(tmp_path, old, new)
    intervals = model.credible_posterior(evidence, draws=300, seed=1)
    point = model.posterior(evidence)
    np.testing.assert_allclose(intervals["posterior"], point.loc[intervals.index], atol=1e-12)
    assert (intervals["low"] <= intervals["posterior"]).all()
    assert (intervals["posterior"] <= intervals["high"]).all()
    tornado = model.sensitivity(evidence, "serious")
    assert ((tornado["swing"] == 0) | (tornado["swing"] >= 1e-12)).all()
    if evidence:
        table = model.explain(evidence, "overuse")
        text = strict_json({"weights": table.to_dict(orient="index"), **table.attrs})
        json.loads(text, parse_constant=lambda word: pytest.fail(f"{word} in JSON"))


def test_strict_json_writes_non_finite_numbers_as_null():
    assert json.loads(strict_json({"a": float("-inf"), "b": [np.float64("nan"), 1.5]})) == {
        "a": None, "b": [None, 1.5]}


# -- sizes checked before anything is allocated


def wide_model(causes: int) -> kb.DiagnosticModel:
    """`causes` causes that all share one finding: a table of 2**causes rows."""
    return small_model(
        {f"c{i}": {"label": f"c{i}", "base": 0.1, "source": "elicited: test"}
         for i in range(causes)},
        {"shared": {"label": "shared", "kind": "history", "leak": 0.01,
                    "causes": {f"c{i}": 0.5 for i in range(causes)},
                    "source": "elicited: test"}})


@pytest.mark.parametrize("causes", [26, 31])
def test_a_model_too_large_is_refused_before_allocating(causes):
    model = wide_model(causes)
    # absent, the shared finding splits into one term per cause: cheap and exact
    assert model.posterior({"shared": "no"}).between(0, 0.1).all()
    tracemalloc.start()
    try:
        with pytest.raises(ModelTooLarge, match="memory budget"):
            model.posterior({"shared": "yes"})  # present, it ties all causes together
        with pytest.raises(ModelTooLarge, match="memory budget"):
            model.posterior({"shared": "yes"}, method="pgmpy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated before refusing"
    assert isinstance(ModelTooLarge("x"), KneebayesError)


def test_raising_the_budget_lets_a_wide_model_run():
    model = wide_model(12)
    assert model.posterior({"shared": "yes"}).between(0, 1).all()
    small = kb.DiagnosticModel(model.config, memory_budget=2**16)
    with pytest.raises(ModelTooLarge):
        small.posterior({"shared": "yes"})


def test_draws_and_cohorts_past_the_budget_are_refused(default_model):
    with pytest.raises(ModelTooLarge, match="draws"):
        default_model.credible_posterior({}, draws=10**12)
    with pytest.raises(ModelTooLarge, match="cohort"):
        default_model.sample(10**12)


# -- arguments checked the same way in the API and the CLI


@pytest.mark.parametrize(("call", "message"), [
    (lambda m: m.sensitivity({}, "pfps", level=1.5), "level: expected"),
    (lambda m: m.credible_posterior({}, seed=-1), "seed: expected"),
    (lambda m: m.next_findings({}, k=-1), "k: expected"),
    (lambda m: m.next_findings({}, k=0), "k: expected"),
    (lambda m: m.sample(-5), "n: expected"),
    (lambda m: m.sample(2.5), "n: expected"),
    (lambda m: m.fit(pd.DataFrame({"groin_pain": [True]}), max_iter=0), "max_iter"),
    (lambda m: m.fit(pd.DataFrame({"groin_pain": [True]}), prior_weight=float("nan")),
     "prior_weight"),
])
def test_api_arguments_are_checked(default_model, call, message):
    with pytest.raises(KneebayesError, match=message):
        call(default_model)


# -- evidence read the same way everywhere


def test_single_case_accepts_what_batches_accept(default_model):
    frame = pd.DataFrame({"groin_pain": pd.array([True, pd.NA], dtype="boolean"),
                          "fadir_positive": ["1.0", "0.0"]})
    batch = default_model.posterior_batch(frame)
    for i in range(2):
        row = frame.iloc[i].to_dict()
        single = default_model.posterior(row)
        np.testing.assert_allclose(single.loc[batch.columns], batch.iloc[i], atol=1e-12)
        assert default_model.triage(row).level in ("none", "see_clinician", "urgent")


def test_a_huge_bad_value_is_named_not_echoed(default_model):
    with pytest.raises(kb.EvidenceError) as caught:
        default_model.posterior({"groin_pain": "y" * 100_000})
    assert len(str(caught.value)) < 1_000 and "100,002 characters" in str(caught.value)


# -- concurrent calls


def test_concurrent_calls_leave_blas_threads_as_they_were(default_model):
    from threadpoolctl import threadpool_info

    before = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    errors = []

    small = pd.DataFrame({"groin_pain": ["yes", "no", ""] * 4})  # pinned: under 256 rows

    def work():
        try:
            for _ in range(200):
                default_model.posterior_batch(small)
        except Exception as exc:  # any failure in a thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert errors == [] and after == before


# -- text from a priors file never becomes markup


def test_labels_and_references_are_escaped_in_the_model_card():
    data = {
        "schema_version": 1, "title": "<script>alert('title')</script>",
        "triage": {"cause": "c", "see_clinician_above": 0.1, "urgent_above": 0.5,
                   "source": "elicited: test"},
        "causes": {"c": {"label": "<img src=x onerror=alert(1)>", "base": 0.1,
                         "source": "r1"}},
        "findings": {"f": {"label": "a | pipe", "kind": "history", "leak": 0.1,
                           "causes": {"c": 0.5}, "source": "elicited: <b>bold</b>"}},
        "references": {"r1": "<script>alert('ref')</script>"},
    }
    card = model_card(kb.DiagnosticModel(parse_config(data)))
    assert "<script>" not in card and "<img" not in card and "<b>" not in card
    assert "&lt;script&gt;" in card and "a \\| pipe" in card


def test_to_toml_never_overwrites_the_file_it_was_read_from(tmp_path):
    path = tmp_path / "clinic.toml"
    path.write_text(TINY)
    with pytest.raises(KneebayesError, match="its input"):
        kb.load_model(path).to_toml(path)
    assert path.read_text() == TINY


def test_validation_report_escapes_text_from_the_priors_file(tmp_path):
    from kneebayes.validation import write_validation_report

    model = tiny_variant(tmp_path, 'title = "Tiny test network"',
                         'title = "<script>alert(1)</script>"')
    path = write_validation_report(model, tmp_path / "out", n=300, seed=0)
    text = path.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
