"""Categorical factors (age bands, sex): the format, every engine against brute force and
pgmpy, evidence by state name or number, sampling, fitting, intervals and the file form."""

from __future__ import annotations

import copy
import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, record_disagreement
from enumeration import enumerate_posterior
from hypothesis import given, settings
from hypothesis import strategies as st

import kneebayes as kb
from kneebayes.config import parse_config
from kneebayes.engine import CompiledEngine
from kneebayes.errors import ConfigError, EvidenceError
from kneebayes.evidence import frame_arrays, normalise_evidence
from kneebayes.kinds import present_table
from kneebayes.learn import perturb
from kneebayes.network import build_network, variable_elimination
from kneebayes.sparse import SparseEngine
from kneebayes.writer import config_to_data

PATH = DATA / "categorical.toml"
AGE = ("12_17", "18_54", "55_69", "70_plus")


@pytest.fixture(scope="module")
def model() -> kb.DiagnosticModel:
    return kb.load_model(PATH)


@pytest.fixture(scope="module")
def raw() -> dict:
    return tomllib.loads(PATH.read_text())


def problems(data: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    return str(caught.value)


# --------------------------------------------------------------------------- the format

def test_a_categorical_factor_reads_as_states_with_probabilities(model):
    node = model.config.nodes["age"]
    assert node.states == AGE
    assert [p.value.mean for p in node.parameters] == [0.1, 0.5, 0.25, 0.15]
    assert {p.value.strength for p in node.parameters} == {60.0}  # the Dirichlet's marginals
    assert node.parameters[0].path == "factors.age.prior.12_17"
    oa = model.config.nodes["knee_oa"]
    assert oa.parents == ("age", "sex")
    assert oa.parent_cards == (4, 2)
    assert list(oa.cpd.weights) == ["age=55_69", "age=70_plus", "sex=female"]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["factors"]["age"]["prior"].update({"18_54": 0.4}),
     "factors.age.prior: expected probabilities summing to 1, got 0.9"),
    (lambda d: d["factors"]["age"]["prior"].update({"adult": 0.1}),
     "factors.age.prior.adult: expected one of the states"),
    (lambda d: d["factors"]["age"]["prior"].pop("12_17"),
     "missing the state(s) ['12_17']"),
    (lambda d: d["factors"]["age"].update(states=["a", "a"]),
     "factors.age.states: expected an array of at least two distinct state names"),
    (lambda d: d["factors"]["age"].update(bands=[12, 55, 18, 70]),
     "factors.age.bands: expected an increasing array of 4 numbers"),
    (lambda d: d["causes"]["fracture"]["factors"].update(age=0.3),
     "causes.fracture.factors.age: expected a table of weights by state of age"),
    (lambda d: d["causes"]["fracture"]["factors"].update(age={"old": 0.3}),
     "causes.fracture.factors.age.old: expected one of the parent's states"),
    (lambda d: d["causes"]["fracture"]["factors"].update(
        age={s: 0.3 for s in AGE}), "leave the reference state"),
    (lambda d: d["causes"]["fracture"]["factors"].update(age={"70_plus": 0.005}),
     "causes.fracture.factors.age.70_plus: expected a probability above the base 0.01"),
    (lambda d: d["red_flags"].update(old={"level": "urgent", "message": "m", "when": ["age"]}),
     "red_flags.old.when: expected findings, two-state factors or 'factor=state', got 'age'"),
])
def test_a_bad_categorical_factor_is_named_by_its_key_path(raw, edit, message):
    data = copy.deepcopy(raw)
    edit(data)
    assert message in problems(data)


def test_the_file_form_round_trips(model):
    again = parse_config(config_to_data(model.config))
    assert again.nodes == model.config.nodes


# --------------------------------------------------------------------------- exactness

def _arrays(config, cases):
    findings = np.array([[c.get(x, np.nan) for x in config.findings] for c in cases], float)
    factors = np.array([[c.get(f, np.nan) for f in config.factors] for c in cases], float)
    return findings, factors


observations = st.fixed_dictionaries({}, optional={
    "age": st.integers(0, 3), "sex": st.integers(0, 1), "runner": st.integers(0, 1),
    "anterior_pain": st.integers(0, 1), "stiffness": st.integers(0, 1),
    "cannot_bear_weight": st.integers(0, 1), "groin_pain": st.integers(0, 1)})


@settings(max_examples=60, deadline=None)
@given(st.lists(observations, min_size=1, max_size=6))
def test_dense_and_sparse_engines_match_brute_force_enumeration(model, cases):
    config = model.config
    findings, factors = _arrays(config, cases)
    dense = CompiledEngine(config).run(findings, factors)
    sparse = SparseEngine(config).run(findings, factors)
    for i, case in enumerate(cases):
        truth, evidence = enumerate_posterior(config, case)
        for name, result in (("dense", dense), ("sparse", sparse)):
            error = max(np.abs(result.marginals[i] - truth).max(),
                        abs(result.log_evidence[i] - np.log(evidence)))
            record_disagreement(f"{name} vs enumeration (categorical factors)", error)
            assert error < 1e-12


def test_pgmpy_agrees_and_names_the_states(model):
    config = model.config
    network = build_network(config)
    assert network.get_cpds("age").state_names["age"] == list(AGE)
    rng = np.random.default_rng(5)
    for _ in range(20):
        case = {"age": int(rng.integers(4)), "sex": int(rng.integers(2)),
                "groin_pain": int(rng.integers(2)), "stiffness": int(rng.integers(2))}
        expected = variable_elimination(network, config.causes, case)
        named = {**case, "age": AGE[case["age"]], "sex": ("female", "male")[case["sex"]]}
        got = model.posterior(named).reindex(config.causes).to_numpy()
        record_disagreement("engine vs pgmpy (categorical factors)",
                            np.abs(got - expected).max())
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_noisy_or_over_a_categorical_parent_follows_diez():
    """Each weighted state is a link of its own; the reference state activates nothing."""
    config = kb.load_model(PATH).config
    table = present_table(config.nodes["knee_oa"])  # age x sex
    leak = 0.02
    assert table[AGE.index("18_54"), 1] == pytest.approx(leak)  # reference states
    assert table[AGE.index("70_plus"), 1] == pytest.approx(0.5)
    both = 1 - (1 - leak) * (1 - 0.5) / (1 - leak) * (1 - 0.1) / (1 - leak)
    assert table[AGE.index("70_plus"), 0] == pytest.approx(both)


# --------------------------------------------------------------------------- evidence

def test_a_state_may_be_named_in_any_case_or_given_as_a_number_in_its_band(model):
    config = model.config
    assert normalise_evidence({"age": "55_69", "sex": "Female"}, config) == {
        "age": 2, "sex": 0}
    assert normalise_evidence({"age": 63}, config) == {"age": 2}
    assert normalise_evidence({"age": "70"}, config) == {"age": 3}
    assert normalise_evidence({"age": 17.9}, config) == {"age": 0}
    assert normalise_evidence({"age": None, "sex": "unknown"}, config) == {}


@pytest.mark.parametrize("value", [5, "old", True, "present", float("inf")])
def test_a_value_outside_the_states_is_refused_with_what_is_accepted(model, value):
    with pytest.raises(EvidenceError) as caught:
        model.posterior({"age": value})
    message = str(caught.value)
    assert "evidence['age']: expected one of the states 12_17, 18_54, 55_69, 70_plus" in message
    assert "a number of at least 12" in message


def test_a_column_of_ages_or_band_names_is_read_per_row(model):
    frame = pd.DataFrame({"age": [63, 12, np.nan, 90, 40], "sex": ["male", None, "F", "female",
                                                                   "MALE"]})
    with pytest.raises(EvidenceError) as caught:
        frame_arrays(frame, model.config)
    assert "row 2, column 'sex'" in str(caught.value) and "'F'" in str(caught.value)
    frame.loc[2, "sex"] = "female"
    _, factors = frame_arrays(frame, model.config)
    np.testing.assert_array_equal(factors[:, 0], [2, 0, np.nan, 3, 1])
    np.testing.assert_array_equal(factors[:, 1], [1, np.nan, 0, 0, 1])
    text = frame.astype(str).replace("nan", "")
    np.testing.assert_array_equal(frame_arrays(text, model.config)[1], factors)
    young = pd.DataFrame({"age": [11]})
    with pytest.raises(EvidenceError, match="row 0, column 'age'"):
        frame_arrays(young, model.config)


def test_explain_names_the_state(model):
    frame = model.explain({"age": 75, "stiffness": "yes"}, "knee_oa")
    assert frame.loc["age", "value"] == "70_plus"
    # the weights of evidence add up from the prior to the posterior log-odds
    assert frame["sequential_weight"].sum() == pytest.approx(
        frame.attrs["posterior_log10_odds"] - frame.attrs["prior_log10_odds"])


# --------------------------------------------------------------------------- sampling, fitting

def test_samples_follow_the_state_probabilities(model):
    cohort = model.sample(40_000, seed=2)
    shares = cohort["age"].value_counts(normalize=True).reindex(list(AGE)).to_numpy()
    expected = np.array([0.1, 0.5, 0.25, 0.15])
    assert np.abs(shares - expected).max() < 4 * np.sqrt(expected * (1 - expected) / 40_000).max()
    assert list(cohort["age"].cat.categories) == list(AGE)
    # the sampled cohort reads back as evidence without any conversion
    assert model.posterior_batch(cohort[list(model.factors)].head(3)).notna().all().all()
    # and the causes follow their tables over the factors: P(knee_oa | 70+, female)
    old_women = cohort[(cohort["age"] == "70_plus") & (cohort["sex"] == "female")]
    p = 1 - 0.98 * (0.5 / 0.98) * (0.9 / 0.98)
    assert abs(old_women["knee_oa"].mean() - p) < 4 * np.sqrt(p * (1 - p) / len(old_women))


def test_both_e_steps_fit_the_same_numbers(model):
    cases = model.sample(1500, seed=4, latent=False)
    cases.loc[cases.index[::3], "age"] = np.nan  # partly observed factors
    start = kb.DiagnosticModel(perturb(model.config, 0.4, seed=1))
    dense = model.fit(cases, start=start, method="dense", max_iter=15)
    sparse = model.fit(cases, start=start, method="sparse", max_iter=15)
    a = np.array([p.value.mean for p in dense.config.parameters()])
    b = np.array([p.value.mean for p in sparse.config.parameters()])
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert dense.fit_result.log_likelihood[-1] == pytest.approx(
        sparse.fit_result.log_likelihood[-1], abs=1e-6)
    fitted = [p.value.mean for p in dense.config.nodes["age"].parameters]
    assert sum(fitted) == pytest.approx(1.0)


def test_a_fully_observed_factor_fits_to_its_dirichlet_posterior_mean(model):
    ages = pd.DataFrame({"age": ["12_17"] * 30 + ["18_54"] * 50 + ["55_69"] * 15 + ["70_plus"] * 5})
    fitted = model.fit(ages, max_iter=3)
    alpha = 60 * np.array([0.1, 0.5, 0.25, 0.15])
    expected = (alpha + np.array([30, 50, 15, 5])) / (alpha.sum() + 100)
    got = [p.value.mean for p in fitted.config.nodes["age"].parameters]
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_credible_intervals_draw_the_states_together(model):
    frame = model.credible_posterior({"age": "70_plus", "stiffness": "yes"}, draws=400, seed=3)
    assert ((frame["low"] <= frame["posterior"]) & (frame["posterior"] <= frame["high"])).all()
    assert (frame["high"] - frame["low"] > 0).all()
    tornado = model.sensitivity({"age": "70_plus"}, "knee_oa")
    assert tornado.index[0] == "causes.knee_oa.factors.age.70_plus"


# --------------------------------------------------------------------------- the user's tools

def test_the_command_line_reads_ages_and_writes_states(tmp_path):
    from test_cli import run

    done = run("posterior", "--priors", str(PATH), "--json", "age=63", "sex=Female",
               "stiffness=yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["evidence"]["age"] == "63"  # as the user wrote it
    assert max(payload["posterior"], key=payload["posterior"].get) == "knee_oa"
    bad = run("posterior", "--priors", str(PATH), "age=8", cwd=tmp_path)
    assert bad.returncode == 2 and "evidence['age']" in bad.stderr
    assert "Traceback" not in bad.stderr
    cases = tmp_path / "cases.csv"
    pd.DataFrame({"case": ["a", "b", "c"], "age": ["40", "70_plus", ""],
                  "sex": ["male", "", "FEMALE"]}).to_csv(cases, index=False)
    done = run("score", "--priors", str(PATH), str(cases), "-o", "out.csv", "--id-column",
               "case", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(tmp_path / "out.csv", dtype={"case": str})
    expected = kb.load_model(PATH).posterior_batch(pd.DataFrame(
        {"age": [40, "70_plus", None], "sex": ["male", None, "female"]}))
    np.testing.assert_allclose(scored[list(expected.columns)].to_numpy(), expected.to_numpy(),
                               rtol=1e-12)


def test_a_fitted_file_keeps_its_states_and_dirichlet(model, tmp_path):
    fitted = model.fit(model.sample(500, seed=6, latent=False), max_iter=5)
    path = fitted.to_toml(tmp_path / "fitted.toml")
    again = kb.load_model(path)
    node = again.config.nodes["age"]
    assert node.states == AGE and node.cpd.bands == (12, 18, 55, 70)
    assert {p.value.strength for p in node.parameters} == {60.0 + 500}
    assert sum(p.value.mean for p in node.parameters) == pytest.approx(1.0)


def test_the_widget_offers_the_states(model):
    pytest.importorskip("ipywidgets")
    from kneebayes.widget import TeachingWidget

    widget = TeachingWidget(model, vignettes={})
    assert widget.toggles["age"].options == ("?", *AGE)
    widget.set_evidence({"age": 63, "sex": "male", "stiffness": "positive"})
    assert widget.toggles["age"].value == "55_69"
    assert widget.toggles["stiffness"].value == "yes"
    assert widget.evidence() == {"age": "55_69", "sex": "male", "stiffness": "yes"}
    assert widget.posterior.round(12).equals(
        model.posterior({"age": "55_69", "sex": "male", "stiffness": 1}).round(12))


def test_the_vocabulary_lists_the_states_and_bands(model, tmp_path):
    from test_cli import run

    assert model.nodes().loc["age", "states"] == ", ".join(AGE)
    assert model.nodes().loc["runner", "states"] == "absent, present"
    done = run("nodes", "--priors", str(PATH), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "states: 12_17, 18_54, 55_69, 70_plus, or a number read by the bands" in done.stdout
    assert "states: female, male" in done.stdout
