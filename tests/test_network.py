"""The pgmpy model of record: structure, CPD layout, and files other tools can open."""

from __future__ import annotations

import numpy as np
import pytest
from enumeration import enumerate_posterior

from kneebayes.config import NoisyOr
from kneebayes.tables import noisy_or_log_tables


def test_network_passes_check_model_with_named_states(default_model):
    network = default_model.network
    assert network.check_model()
    assert set(network.nodes) == set(default_model.config.nodes)
    for cpd in network.get_cpds():
        states = list(default_model.config.nodes[cpd.variable].states)
        assert cpd.state_names[cpd.variable] == states
        assert (states == ["absent", "present"]) != default_model.config.nodes[
            cpd.variable].categorical
        np.testing.assert_allclose(cpd.get_values().sum(axis=0), 1.0, atol=1e-12)
    assert set(network.latents) == set(default_model.causes) | set(default_model.mechanisms)


def test_cpd_layout_matches_the_noisy_or_formula(default_model):
    network = default_model.network
    config = default_model.config
    rng = np.random.default_rng(0)
    for node in config.nodes.values():
        if node.categorical:
            continue  # a root with named states: tests/test_categorical.py
        cpd = network.get_cpds(node.id)
        for _ in range(4):
            states = {p: int(rng.integers(0, len(config.nodes[p].states))) for p in node.parents}
            got = cpd.get_value(**{node.id: "present"},
                                **{p: config.nodes[p].states[s] for p, s in states.items()})
            if isinstance(node.cpd, NoisyOr):
                want = noisy_formula(node, states)
            else:
                want = node.cpd.rows[frozenset(p for p, s in states.items() if s)].mean
            assert got == pytest.approx(want, abs=1e-12), (node.id, states)


def noisy_formula(node, states) -> float:
    """Díez's leaky noisy-OR by hand: a link 'parent' is active when the parent is present,
    a link 'parent=state' when the parent is in that state."""
    leak = node.cpd.leak.mean
    absent = 1 - leak
    for name, w in node.cpd.weights.items():
        parent, _, state = name.partition("=")
        active = (states[parent] == node.cpd.parent_states[parent].index(state) if state
                  else states[parent] == 1)
        if active:
            absent *= (1 - w.mean) / (1 - leak)
    return 1 - absent


def test_noisy_or_table_golden_values():
    log_present, log_absent = noisy_or_log_tables(np.array([0.1]), np.array([[0.5, 0.8]]))
    table = np.exp(log_present[0]).reshape(2, 2)
    assert table[0, 0] == pytest.approx(0.1)
    assert table[1, 0] == pytest.approx(0.5)
    assert table[0, 1] == pytest.approx(0.8)
    # 1 - 0.9 * (0.5 / 0.9) * (0.2 / 0.9)
    assert table[1, 1] == pytest.approx(1 - 0.5 * 0.2 / 0.9)
    np.testing.assert_allclose(np.exp(log_present) + np.exp(log_absent), 1.0)
    tiny = noisy_or_log_tables(np.array([1e-15]), np.array([[2e-15]]))[0]
    assert np.exp(tiny[0, 1]) == pytest.approx(2e-15, rel=1e-9)  # no digits lost


def test_bif_and_xmlbif_round_trip_through_pgmpy(tiny_model, tmp_path):
    from pgmpy.inference import VariableElimination
    from pgmpy.readwrite import BIFReader, XMLBIFReader

    evidence = {"pain": "present", "fever": "absent"}
    truth, _ = enumerate_posterior(tiny_model.config, {"pain": 1, "fever": 0})
    for path, reader in ((tiny_model.to_bif(tmp_path / "m.bif"), BIFReader),
                         (tiny_model.to_xmlbif(tmp_path / "m.bifxml"), XMLBIFReader)):
        network = reader(str(path)).get_model()
        result = VariableElimination(network).query(
            list(tiny_model.causes), evidence=evidence, joint=False, show_progress=False)
        got = [result[c].get_value(**{c: "present"}) for c in tiny_model.causes]
        np.testing.assert_allclose(got, truth, atol=1e-6)


def test_bif_loads_in_pyagrum(default_model, tmp_path):
    gum = pytest.importorskip("pyagrum")
    path = default_model.to_bif(tmp_path / "kneebayes.bif")
    bn = gum.loadBN(str(path))
    assert bn.size() == len(default_model.config.nodes)
    evidence = {"groin_pain": "present", "pain_with_hip_movement": "present"}
    ie = gum.LazyPropagation(bn)
    ie.setEvidence(evidence)
    ie.makeInference()
    ours = default_model.posterior({k: v for k, v in evidence.items()})
    for cause in default_model.causes:
        theirs = ie.posterior(cause)[1]  # state 1 = present
        assert theirs == pytest.approx(ours[cause], abs=1e-5)  # pyAgrum reads BIF as float32


def test_xmlbif_is_written_where_pyagrum_reads_it_and_named_after_the_title(tiny_model,
                                                                           tmp_path):
    gum = pytest.importorskip("pyagrum")
    from kneebayes.errors import KneebayesError
    from kneebayes.network import network_name

    with pytest.raises(KneebayesError, match=r"expected a path ending in \.bifxml"):
        tiny_model.to_xmlbif(tmp_path / "m.xml")
    assert not (tmp_path / "m.xml").exists()
    bn = gum.loadBN(str(tiny_model.to_xmlbif(tmp_path / "m.bifxml")))
    assert bn.size() == len(tiny_model.config.nodes)
    assert bn.property("name") == network_name(tiny_model.config.title) != "unknown"
    tiny_model.to_bif(tmp_path / "m.bif")
    assert f"network {network_name(tiny_model.config.title)} " in (tmp_path / "m.bif"
                                                                   ).read_text()
