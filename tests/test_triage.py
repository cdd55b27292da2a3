"""Triage: the red-flag rules fire on findings alone; the must-not-miss posterior adds to them."""

from __future__ import annotations

import pytest
from conftest import small_model

from kneebayes.triage import Triage


def test_no_flag_no_triage(tiny_model):
    triage = tiny_model.triage({"pain": "yes"})
    assert isinstance(triage, Triage)
    assert triage.level == "none" and triage.flags == () and triage.messages == ()
    assert triage.probability == pytest.approx(tiny_model.posterior({"pain": 1})["serious"])


def test_single_rule(tiny_model):
    triage = tiny_model.triage({"fever": "yes", "trauma": "no"})
    assert "fever" in triage.flags
    assert "Fever: see a clinician." in triage.messages
    assert triage.level in ("see_clinician", "urgent")


def test_combined_rule_needs_every_part(tiny_model):
    assert "fever_after_trauma" not in tiny_model.triage({"fever": 1}).flags
    triage = tiny_model.triage({"fever": 1, "trauma": 1})
    assert "fever_after_trauma" in triage.flags and triage.level == "urgent"


def test_absent_red_flag_does_not_fire(tiny_model):
    assert tiny_model.triage({"cannot_walk": "no", "fever": "no"}).flags == ()


def test_urgent_rule_wins_whatever_the_posterior(tiny_model):
    # With no findings pointing at serious pathology, the rule still fires.
    triage = tiny_model.triage({"cannot_walk": 1, "pain": 1, "trauma": 0})
    assert triage.level == "urgent" and "cannot_walk" in triage.flags


def test_posterior_threshold_raises_level_without_rule():
    model = small_model(
        {"s": {"label": "Serious", "base": 0.05, "source": "elicited: t"}},
        {"x": {"label": "X", "kind": "history", "leak": 0.05, "causes": {"s": 0.6},
               "source": "elicited: t"}},
        thresholds=(0.1, 0.5),
    )
    assert model.triage({}).level == "none"  # P = 0.05
    p = model.posterior({"x": 1})["s"]  # 0.03 / (0.03 + 0.0475) = 0.387
    assert p == pytest.approx(0.05 * 0.6 / (0.05 * 0.6 + 0.95 * 0.05))
    triage = model.triage({"x": 1})
    assert triage.level == "see_clinician" and triage.flags == ()
    assert "above the 10% threshold" in triage.messages[0]


def test_shipped_urgent_presentations(default_model):
    for evidence, condition in (
        ({"unable_to_bear_weight": "yes"}, "fracture"),
        ({"visible_deformity": "yes"}, "fracture"),
        ({"knee_effusion": "yes", "fever_or_malaise": "yes"}, "septic_arthritis"),
        # a hot red knee is urgent without fever (23% of septic arthritis at 80+ is afebrile)
        ({"hot_red_joint": "yes", "fever_or_malaise": "no", "age": 82}, "septic_arthritis"),
        ({"saddle_numbness": "yes"}, "cauda_equina"),
        ({"bladder_or_bowel_change": "yes", "low_back_pain": "yes"}, "cauda_equina"),
        ({"calf_swelling_or_tenderness": "yes", "recent_immobilisation_or_surgery": "yes"},
         "deep_vein_thrombosis"),
        ({"cannot_straight_leg_raise": "yes"}, "extensor_mechanism_rupture"),
        ({"recent_trauma": "yes", "isolated_patellar_tenderness": "yes"}, "fracture"),
        ({"reduced_hip_internal_rotation": "yes", "age": 13}, "scfe"),
        ({"recent_trauma": "yes", "pain_with_hip_movement": "yes", "age": 81}, "fracture"),
        # found by a clinician's trial of fresh cases: still walking, with a limp, after a
        # fall at 84 (an occult hip fracture), and a tender calf without a risk factor
        ({"recent_trauma": "yes", "limp": "yes", "knee_exam_normal": "yes", "age": 84},
         "fracture"),
        ({"calf_swelling_or_tenderness": "yes", "age": 47}, "deep_vein_thrombosis"),
    ):
        triage = default_model.triage(evidence)
        assert triage.level == "urgent" and condition in triage.named, (evidence, triage)


def test_the_ottawa_age_item_and_the_split_findings(default_model):
    """The issue's cases: a 62-year-old who fell and walks is at least see_clinician (the
    Ottawa rule's age item); a knee that gives way is no longer a red flag, weakness is."""
    fell = default_model.triage({"recent_trauma": "yes", "age": 62,
                                 "unable_to_bear_weight": "no"})
    assert fell.level == "see_clinician" and "fracture" in fell.named
    assert default_model.triage({"knee_giving_way": "yes"}).level == "none"
    assert default_model.triage({"neurological_weakness": "yes"}).level == "see_clinician"
    assert default_model.triage({"knee_effusion": "yes"}).level == "none"
    # but a knee that swells or locks after an injury is examined within a day or two (a
    # swollen one may be urgent: after an injury, P(fracture) crosses its urgent threshold)
    for sign, flag in (("knee_effusion", "effusion_after_injury"),
                       ("knee_locking", "locked_knee_after_injury")):
        after = default_model.triage({"recent_trauma": "yes", sign: "yes", "age": 38})
        assert flag in after.flags and "meniscal_tear" in after.named, sign
        assert after.level in ("see_clinician", "urgent"), sign


def test_shipped_see_clinician_flags(default_model):
    for finding in ("numbness_or_tingling", "neurological_weakness", "pain_at_rest",
                    "night_pain", "fever_or_malaise", "sudden_severe_pain", "palpable_mass",
                    "unexplained_weight_loss", "bilateral_leg_symptoms",
                    "bladder_or_bowel_change"):
        triage = default_model.triage({finding: "yes"})
        assert triage.level in ("see_clinician", "urgent"), finding
        assert triage.messages


def test_shipped_benign_case_is_not_flagged(default_model):
    evidence = {"anterior_knee_pain": 1, "pain_on_stairs_or_squatting": 1,
                "unable_to_bear_weight": 0, "fever_or_malaise": 0}
    assert default_model.triage(evidence).level == "none"


def test_str_shows_headline_and_messages(tiny_model):
    text = str(tiny_model.triage({"cannot_walk": 1}))
    assert text.startswith("Triage: URGENT")
    assert "Cannot walk: seek same-day care." in text


def test_rest_or_night_pain_in_an_adolescent_names_the_reason_and_a_time_frame(default_model):
    """A rule on a factor's state in the shipped file: the same level as rest pain at any
    age, with the bone-tumour reason and 'within days' in its message."""
    young = default_model.triage({"night_pain": "yes", "age": 15})
    assert "rest_or_night_pain_aged_12_17" in young.flags
    assert young.level in ("see_clinician", "urgent")
    assert any("within days" in m and "bone tumours" in m for m in young.messages)
    adult = default_model.triage({"night_pain": "yes", "age": 40})
    assert "rest_or_night_pain_aged_12_17" not in adult.flags
