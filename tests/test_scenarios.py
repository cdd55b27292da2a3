"""The shipped model reasons the way the source article describes each presentation, and
its published likelihood ratios are targets in its priors file (tests/test_targets.py checks
them)."""

from __future__ import annotations

import pytest

from kneebayes.validation import likelihood_ratios

PRESENTATIONS = {
    "itb_syndrome": {
        "lateral_knee_pain": "yes", "radiates_outer_thigh": "yes",
        "runner_or_cyclist": "yes", "noble_test_positive": "yes",
    },
    "pfps": {
        "anterior_knee_pain": "yes", "pain_with_prolonged_sitting": "yes",
        "pain_on_stairs_or_squatting": "yes", "patellar_grind_positive": "yes",
    },
    "quadriceps_tendinopathy": {
        "pain_above_kneecap": "yes", "tender_above_kneecap": "yes",
        "pain_on_resisted_knee_extension": "yes",
    },
    "hip_referred_pain": {
        "groin_pain": "yes", "pain_with_hip_movement": "yes", "knee_exam_normal": "yes",
    },
    "lumbar_radiculopathy": {
        "low_back_pain": "yes", "burning_or_electric_pain": "yes",
        "numbness_or_tingling": "yes", "altered_knee_reflex": "yes",
        "femoral_nerve_stretch_positive": "yes",
    },
}

SERIOUS = {  # a must-not-miss presentation, and the condition it must lead to
    "fracture": {"recent_trauma": "yes", "unable_to_bear_weight": "yes"},
    "fracture ": {"recent_trauma": "yes", "visible_deformity": "yes"},
    "septic_arthritis": {"hot_red_joint": "yes", "knee_effusion": "yes",
                         "fever_or_malaise": "yes", "previous_crystal_arthritis": "no"},
    "extensor_mechanism_rupture": {"cannot_straight_leg_raise": "yes",
                                   "palpable_gap_in_extensor": "yes"},
}


@pytest.mark.parametrize("cause", list(PRESENTATIONS))
def test_presentation_leads_to_its_cause(default_model, cause):
    posterior = default_model.posterior(PRESENTATIONS[cause])
    assert posterior.index[0] == cause, posterior
    assert posterior[cause] > 0.5, posterior
    # signs that read one thing no longer multiply, so a lead is clear but not overwhelming
    assert posterior[cause] > 1.5 * posterior.iloc[1], posterior


@pytest.mark.parametrize("condition", list(SERIOUS))
def test_must_not_miss_presentations_lead_to_their_condition_and_urgent_triage(
    default_model, condition
):
    evidence = SERIOUS[condition]
    posterior = default_model.posterior(evidence)
    assert posterior.index[0] == condition.strip(), posterior
    triage = default_model.triage(evidence, posterior)
    assert triage.level == "urgent" and condition.strip() in triage.named


def test_each_presentation_moves_its_cause_up_from_the_prior(default_model):
    prior = default_model.prior()
    for cause, evidence in PRESENTATIONS.items():
        assert default_model.posterior(evidence)[cause] > 3 * prior[cause], cause


def test_prior_is_a_plausible_mix(default_model):
    prior = default_model.prior()
    must_not_miss = list(default_model.config.triage.causes)
    assert (prior[must_not_miss] < 0.02).all() and prior[must_not_miss].sum() < 0.05
    # the common causes lead the prior (PFPS and hip disease about level at a fifth each)
    assert set(prior.index[:3]) == {"pfps", "hip_referred_pain", "knee_osteoarthritis"}
    assert (prior > 0.0002).all()


def test_the_published_pairs_carry_their_targets(default_model):
    """Every published pair the first model compared against is now a target in the
    priors file, whose source names the figure."""
    table = likelihood_ratios(default_model)
    for pair in [("pain_on_stairs_or_squatting", "pfps"), ("patellar_grind_positive", "pfps"),
                 ("groin_pain", "hip_referred_pain"),
                 ("reduced_hip_internal_rotation", "hip_referred_pain"),
                 ("numbness_or_tingling", "lumbar_radiculopathy"),
                 ("straight_leg_raise_positive", "lumbar_radiculopathy"),
                 ("femoral_nerve_stretch_positive", "lumbar_radiculopathy")]:
        row = table.loc[pair]
        assert row["stated"] and row["grade"] == "cited", pair
        assert row["lr_positive"] > 1, pair  # each supports its cause
