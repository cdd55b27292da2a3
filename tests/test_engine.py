"""The compiled engine: batches, blocking, fallback, no underflow, and properties."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import record_disagreement, small_model
from enumeration import enumerate_posterior
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import configs, evidence_for

import kneebayes as kb
from kneebayes import engine as engine_module
from kneebayes import model as model_module
from kneebayes.config import NoisyOr
from kneebayes.engine import CompiledEngine
from kneebayes.sparse import SparseEngine


def random_cases(model: kb.DiagnosticModel, n: int, seed: int, rate: float = 0.3) -> pd.DataFrame:
    """Random cases, a fraction `rate` of cells observed: 1.0/0.0 for present/absent nodes,
    a state's name for a factor with named states."""
    rng = np.random.default_rng(seed)
    ids = list(model.findings + model.factors)
    values = rng.integers(0, 2, size=(n, len(ids))).astype(float)
    values[rng.random((n, len(ids))) > rate] = np.nan
    frame = pd.DataFrame(values, columns=ids, index=pd.RangeIndex(100, 100 + n, name="case"))
    for nid in ids:
        node = model.config.nodes[nid]
        if node.categorical:
            names = rng.choice(np.array(node.states, dtype=object), size=n)
            frame[nid] = pd.Series(names, index=frame.index).where(rng.random(n) < rate)
    return frame


def test_batch_equals_one_case_at_a_time_and_pgmpy(default_model):
    cases = random_cases(default_model, 60, seed=4)
    batch = default_model.posterior_batch(cases)
    assert batch.index.equals(cases.index)
    assert list(batch.columns) == list(default_model.causes)
    for label, row in cases.iterrows():
        evidence = row.dropna().to_dict()
        for method in ("compiled", "pgmpy"):
            one = default_model.posterior(evidence, method=method).reindex(default_model.causes)
            gap = float(np.max(np.abs(batch.loc[label].to_numpy() - one.to_numpy())))
            record_disagreement(f"posterior_batch vs posterior(method={method!r})", gap)
            assert gap < 1e-9


def test_blocks_and_chunks_do_not_change_the_answer(first_model, monkeypatch):
    cases = random_cases(first_model, 300, seed=5, rate=0.5)
    whole = first_model.posterior_batch(cases)
    monkeypatch.setattr(engine_module, "_BLOCK_STATES", 16)  # forces many blocks
    small = CompiledEngine(first_model.config, memory_budget=2**22)  # and row chunks
    assert small.block < 2 ** len(first_model.causes)
    monkeypatch.setattr(model_module, "_BATCH_ROWS", 7)
    model = kb.DiagnosticModel(first_model.config)
    model.__dict__["engine"] = small
    np.testing.assert_allclose(model.posterior_batch(cases), whole, atol=1e-12, rtol=0)


def test_batch_reads_every_spelling_and_dtype(tiny_model):
    cases = pd.DataFrame(
        {
            "pain": [True, False, None, True],
            "fever": ["yes", "No", "", "positive"],
            "cannot_walk": [1, 0, np.nan, 0],
            "runner": pd.array([True, pd.NA, False, True], dtype="boolean"),
        },
        index=["a", "b", "c", "d"],
    )
    batch = tiny_model.posterior_batch(cases)
    expected = {
        "a": {"pain": 1, "fever": 1, "cannot_walk": 1, "runner": 1},
        "b": {"pain": 0, "fever": 0, "cannot_walk": 0},
        "c": {"runner": 0},
        "d": {"pain": 1, "fever": 1, "cannot_walk": 0, "runner": 1},
    }
    for label, evidence in expected.items():
        one = tiny_model.posterior(evidence).reindex(tiny_model.causes)
        np.testing.assert_allclose(batch.loc[label], one, atol=1e-12)


def test_batch_errors_name_row_and_column(tiny_model):
    cases = pd.DataFrame({"pain": ["yes", "maybe", "no"], "fever": [0, 1, 2]},
                         index=["r1", "r2", "r3"])
    with pytest.raises(kb.EvidenceError) as info:
        tiny_model.posterior_batch(cases)
    text = str(info.value)
    assert "row 'r2', column 'pain'" in text and "'maybe'" in text
    assert "row 'r3', column 'fever'" in text


def test_batch_rejects_unknown_and_latent_columns(tiny_model):
    with pytest.raises(kb.EvidenceError, match=r"'pian'.*Did you mean 'pain'"):
        tiny_model.posterior_batch(pd.DataFrame({"pian": [1]}))
    with pytest.raises(kb.EvidenceError, match="'overuse' is a cause"):
        tiny_model.posterior_batch(pd.DataFrame({"overuse": [1]}))


def test_empty_batch(tiny_model):
    out = tiny_model.posterior_batch(pd.DataFrame({"pain": pd.Series([], dtype=float)}))
    assert out.shape == (0, len(tiny_model.causes))


def test_forty_observed_findings_do_not_underflow():
    """Forty unlikely findings: P(evidence) ~ 1e-400, below float64; the answer by hand is
    prior odds times the product of the likelihood ratios, summed in log space."""
    n, leak, weight = 40, 1e-10, 3e-10
    findings = {f"x{i}": {"label": "x", "kind": "history", "leak": leak,
                          "causes": {"c": weight}, "source": "elicited: t"} for i in range(n)}
    findings["y"] = {"label": "y", "kind": "history", "leak": 0.5, "causes": {"c": 0.6},
                     "source": "elicited: t"}
    model = small_model({"c": {"label": "c", "base": 0.01, "source": "elicited: t"}},
                        findings)
    evidence = {f"x{i}": 1 for i in range(n)} | {"y": 0}
    log_odds = math.log(0.01 / 0.99) + n * math.log(weight / leak) + math.log(0.4 / 0.5)
    assert model.posterior(evidence)["c"] == pytest.approx(1 / (1 + math.exp(-log_odds)),
                                                           rel=1e-12)


def test_a_network_too_large_for_the_dense_engine_is_answered_by_the_sparse_one(tiny_model):
    model = kb.DiagnosticModel(tiny_model.config, memory_budget=2**10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exact either way: nothing to warn about
        post = model.posterior({"pain": 1})
        assert isinstance(model.engine, SparseEngine)
        cases = pd.DataFrame({"pain": [1, 0], "fever": [np.nan, 1]})
        np.testing.assert_allclose(model.posterior_batch(cases),
                                   tiny_model.posterior_batch(cases), atol=1e-12)
    np.testing.assert_allclose(post, tiny_model.posterior({"pain": 1}), atol=1e-12)
    with pytest.raises(kb.ModelTooLarge):
        _ = model.dense_engine


def test_importing_and_a_first_posterior_do_not_import_pgmpy():
    import subprocess
    import sys

    code = ("import sys, kneebayes as kb; m = kb.load_model(); m.posterior({'groin_pain': 1}); "
            "m.triage({'groin_pain': 1}); print(any(k.startswith('pgmpy') for k in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "False", done.stderr


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), block=st.sampled_from([1, 2, 4, 2**14]))
def test_engine_exact_on_random_files_in_any_block_size(data, block):
    config = data.draw(configs(max_causes=4, max_mechanisms=3, max_findings=5))
    engine = CompiledEngine(config)
    engine.block = min(block, engine.block)
    observed = data.draw(evidence_for(config))
    findings = np.array([[observed.get(x, np.nan) for x in config.findings]])
    factors = np.array([[observed.get(f, np.nan) for f in config.factors]])
    got = engine.posterior(findings, factors)[0]
    truth, _ = enumerate_posterior(config, observed, include_unobserved_findings=True)
    gap = float(np.max(np.abs(got - truth)))
    record_disagreement("compiled (random block sizes) vs enumeration", gap)
    assert gap < 1e-9
    assert np.all((got >= 0) & (got <= 1))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_supporting_finding_never_lowers_its_cause(data):
    """With noisy-OR links every influence is positive, so observing a finding present
    raises each cause it depends on, and observing it absent lowers it (factor evidence
    alone besides)."""
    config = data.draw(configs())
    model = kb.DiagnosticModel(config)
    factor_evidence = {f: v for f, v in data.draw(evidence_for(config)).items()
                       if f in config.factors}
    base = model.posterior(factor_evidence)
    for x in config.findings:
        node = config.nodes[x]
        if not isinstance(node.cpd, NoisyOr):
            continue
        up = model.posterior(factor_evidence | {x: 1})
        down = model.posterior(factor_evidence | {x: 0})
        for cause in set(node.parents) & set(config.causes):
            assert up[cause] >= base[cause] - 1e-12
            assert down[cause] <= base[cause] + 1e-12
