"""Triage per must-not-miss condition, red-flag rules on a factor's state, and retired ids:
the pieces a larger vocabulary needs (one message per condition; Ottawa's 'aged 55 or over';
old ids refused with their replacements)."""

from __future__ import annotations

import copy
import tomllib

import numpy as np
import pandas as pd
import pytest
from conftest import DATA
from hypothesis import given, settings
from hypothesis import strategies as st

import kneebayes as kb
from kneebayes.config import parse_config
from kneebayes.errors import ConfigError, EvidenceError
from kneebayes.writer import config_to_data

RAW = tomllib.loads((DATA / "categorical.toml").read_text())


def conditions_data() -> dict:
    data = copy.deepcopy(RAW)
    data["triage"] = {
        "source": "elicited: test thresholds",
        "conditions": {
            "fracture": {"see_clinician_above": 0.05, "urgent_above": 0.3,
                         "message": "Possible fracture: X-ray the knee today."},
            "sufe": {"see_clinician_above": 0.02, "urgent_above": 0.2,
                     "message": "Possible slipped epiphysis: examine the hip today."},
        },
    }
    data["red_flags"]["fall_at_70"] = {
        "level": "urgent", "message": "Aged 70 or over and cannot bear weight: image today.",
        "when": ["cannot_bear_weight", "age=70_plus"]}
    data["retired"] = {
        "age_over_50": {"replaced_by": ["age"], "reason": "age is now in bands"},
        "old_exam": {"replaced_by": [], "reason": "removed"},
    }
    return data


@pytest.fixture(scope="module")
def model() -> kb.DiagnosticModel:
    return kb.DiagnosticModel(parse_config(conditions_data()))


def test_each_condition_triages_with_its_own_threshold_and_message(model):
    case = {"cannot_bear_weight": "yes", "age": "12_17", "sex": "male", "groin_pain": "yes"}
    triage = model.triage(case)
    posterior = model.posterior(case)
    assert set(triage.probabilities) == {"fracture", "sufe"}
    assert triage.probabilities["sufe"] == pytest.approx(posterior["sufe"])
    assert triage.probability == pytest.approx(posterior["fracture"])  # the first condition
    assert posterior["sufe"] > 0.2  # an adolescent who cannot bear weight, groin pain
    assert triage.level == "urgent"
    assert any("Slipped capital femoral epiphysis" in m and "examine the hip today" in m
               for m in triage.messages)
    # no threshold crossed, no red flag: no message at all
    calm = model.triage({"anterior_pain": "yes", "age": "18_54"})
    assert calm.level == "none" and calm.messages == ()


def test_a_rule_on_a_factor_state_fires_only_in_that_state(model):
    old = model.triage({"cannot_bear_weight": "yes", "age": 75})
    assert "fall_at_70" in old.flags
    young = model.triage({"cannot_bear_weight": "yes", "age": 40})
    assert "fall_at_70" not in young.flags and "cannot_bear_weight" in young.flags
    unknown_age = model.triage({"cannot_bear_weight": "yes"})
    assert "fall_at_70" not in unknown_age.flags


observations = st.fixed_dictionaries({}, optional={
    "age": st.sampled_from(["12_17", "18_54", "55_69", "70_plus", 14, 80]),
    "sex": st.sampled_from(["female", "male"]), "runner": st.sampled_from(["yes", "no"]),
    "anterior_pain": st.sampled_from(["yes", "no"]), "stiffness": st.sampled_from(["yes", "no"]),
    "cannot_bear_weight": st.sampled_from(["yes", "no"]),
    "groin_pain": st.sampled_from(["yes", "no"])})


@settings(max_examples=40, deadline=None)
@given(st.lists(observations, min_size=1, max_size=8))
def test_batch_triage_is_the_triage_of_each_case(model, cases):
    frame = pd.DataFrame(cases, index=range(len(cases)))
    batch = model.triage_batch(frame)
    for i, case in enumerate(cases):
        one = model.triage(case)
        assert batch.loc[i, "triage"] == one.level
        assert set(filter(None, batch.loc[i, "red_flags"].split(";"))) == set(one.flags)
        for cause, p in one.probabilities.items():
            assert batch.loc[i, f"p_{cause}"] == pytest.approx(p, abs=1e-12)


def test_a_retired_id_is_refused_naming_its_replacement(model, tmp_path):
    with pytest.raises(EvidenceError) as caught:
        model.posterior({"age_over_50": "yes"})
    message = str(caught.value)
    assert "evidence['age_over_50']: 'age_over_50' was retired" in message
    assert "age is now in bands" in message and "use age instead" in message
    with pytest.raises(EvidenceError, match=r"column 'old_exam': 'old_exam' was retired .* "
                                            r"no replacement"):
        model.posterior_batch(pd.DataFrame({"old_exam": ["yes"]}))
    with pytest.raises(EvidenceError, match="column 'age_over_50'"):
        model.fit(pd.DataFrame({"age_over_50": [True, False]}), max_iter=2)
    cases = tmp_path / "old.csv"
    pd.DataFrame({"groin_pain": ["yes"], "age_over_50": ["no"]}).to_csv(cases, index=False)
    from test_cli import run

    path = tmp_path / "priors.toml"
    model.to_toml(path)
    done = run("score", "--priors", str(path), str(cases), "-o", "out.csv", cwd=tmp_path)
    assert done.returncode == 2 and "'age_over_50' was retired" in done.stderr
    assert not (tmp_path / "out.csv").exists()


def test_conditions_and_retired_ids_round_trip(model):
    again = parse_config(config_to_data(model.config))
    assert again.triage == model.config.triage
    assert again.retired == model.config.retired
    assert again.red_flags == model.config.red_flags


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["retired"].update(fracture={"replaced_by": [], "reason": "x"}),
     "retired.fracture: expected an id this file no longer has"),
    (lambda d: d["retired"]["age_over_50"].update(replaced_by=["agee"]),
     "retired.age_over_50.replaced_by: expected the id of a node, got 'agee'"),
    (lambda d: d["triage"]["conditions"]["sufe"].update(urgent_above=0.01),
     "triage.conditions.sufe: expected see_clinician_above < urgent_above"),
    (lambda d: d["triage"]["conditions"].update(pfpss={"see_clinician_above": 0.1,
                                                       "urgent_above": 0.2, "message": "m"}),
     "triage.conditions.pfpss: expected the id of a cause"),
    (lambda d: d["red_flags"]["fall_at_70"].update(when=["age=80_plus"]),
     "red_flags.fall_at_70.when: expected a state of age"),
])
def test_bad_conditions_rules_and_retired_ids_are_named(edit, message):
    data = conditions_data()
    edit(data)
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert message in str(caught.value)


def test_the_single_cause_form_still_loads_and_reads_the_same(first_model):
    """A user's own schema-1 file (the first shipped vocabulary) still loads and triages."""
    assert first_model.config.triage.causes == ("serious_pathology",)
    triage = first_model.triage({"unable_to_bear_weight": "yes"})
    assert triage.level == "urgent"
    assert triage.probabilities == {"serious_pathology": pytest.approx(triage.probability)}
    assert np.isfinite(triage.probability)


def test_the_shipped_file_refuses_the_first_vocabulary_s_ids_naming_replacements(
        default_model):
    for old, new in (("leg_weakness", "neurological_weakness, knee_giving_way"),
                     ("persistent_despite_rest", "pain_at_rest, night_pain"),
                     ("swelling_warmth_redness", "knee_effusion, hot_red_joint"),
                     ("age_over_50", "age")):
        with pytest.raises(kb.EvidenceError, match=new):
            default_model.posterior({old: "yes"})
    assert "fracture" in default_model.config.retired["serious_pathology"].replaced_by


def test_a_rule_names_its_conditions_and_round_trips(default_model, tmp_path):
    rule = next(r for r in default_model.config.red_flags if r.id == "hot_red_joint")
    assert rule.names == ("septic_arthritis", "crystal_arthritis")
    default_model.to_toml(tmp_path / "again.toml")
    again = kb.load_model(tmp_path / "again.toml")
    assert again.config.red_flags == default_model.config.red_flags
