"""Vignettes lead where they should; the teaching widget moves with its toggles."""

from __future__ import annotations

import pytest

import kneebayes as kb
from kneebayes import vignettes
from kneebayes.config import TRIAGE_LEVELS

pytest.importorskip("ipywidgets")
from kneebayes.widget import TeachingWidget, ranking_score


@pytest.mark.parametrize("vid", list(vignettes.load()))
def test_each_vignette_leads_to_its_expected_causes(default_model, vid):
    vignette = vignettes.load()[vid]
    posterior = default_model.posterior(vignette.evidence)
    top = set(posterior.index[: len(vignette.expected)])
    assert top == set(vignette.expected), (vid, posterior)
    assert set(vignette.differential) <= set(posterior.index[:3]), (vid, posterior)
    if vignette.triage:  # never lower than expected
        level = default_model.triage(vignette.evidence, posterior).level
        assert TRIAGE_LEVELS.index(level) >= TRIAGE_LEVELS.index(vignette.triage), (vid, level)
    if len(vignette.expected) > 1:  # "two at once": the joint explanation says so too
        best = default_model.most_probable_explanation(vignette.evidence, k=1)
        assert set(best["causes"].iloc[0].split(" + ")) == set(vignette.expected)
    assert vignette.teaching_point and vignette.story


def test_red_flag_vignettes_are_urgent(default_model):
    library = vignettes.load()
    for vid in ("fall_cannot_walk", "hot_swollen_knee"):
        assert default_model.triage(library[vid].evidence).level == "urgent"


def test_broken_vignette_file(tmp_path):
    bad = tmp_path / "v.toml"
    bad.write_text('schema_version = 1\n[vignettes.x]\ntitle = "t"\nexpected = []\n')
    with pytest.raises(kb.ConfigError) as info:
        vignettes.load(bad)
    text = str(info.value)
    assert "vignettes.x.expected" in text and "vignettes.x.story: required key" in text


def test_widget_follows_its_toggles(default_model):
    ui = TeachingWidget(default_model)
    assert ui.triage.level == "none" and ui.differential.value  # the prior, drawn
    prior = ui.posterior["hip_referred_pain"]
    ui.toggles["groin_pain"].value = "yes"
    ui.toggles["pain_with_hip_movement"].value = "yes"
    assert ui.evidence() == {"groin_pain": "yes", "pain_with_hip_movement": "yes"}
    assert ui.posterior["hip_referred_pain"] > prior
    assert ui.posterior.equals(default_model.posterior(ui.evidence()))
    assert "groin_pain" not in ui.next_questions.index
    ui.cause_to_explain.value = "hip_referred_pain"
    assert bytes(ui.explanation.value).startswith(b"\x89PNG")
    ui.toggles["unable_to_bear_weight"].value = "yes"
    assert ui.triage.level == "urgent" and "URGENT" in ui.banner.value
    assert "not a medical device" in ui.banner.value


def test_vignette_and_commit_first(default_model):
    ui = TeachingWidget(default_model, commit_first=True)
    ui.vignette_picker.value = "groin_and_normal_knee"
    assert ui.evidence()["knee_exam_normal"] == "yes"
    assert bytes(ui.differential.value) == b""  # hidden until the student commits
    ui.guesses[0].value = "pfps"
    ui.guesses[1].value = "hip_referred_pain"
    score = ui.reveal()
    assert bytes(ui.differential.value).startswith(b"\x89PNG")
    assert list(score.index) == ["pfps", "hip_referred_pain"]
    assert score.loc["hip_referred_pain", "model_rank"] == 1
    assert score.attrs["footrule"] == int(score["off_by"].sum()) > 0


def test_ranking_score_by_hand():
    import pandas as pd

    posterior = pd.Series({"a": 0.7, "b": 0.2, "c": 0.1})
    score = ranking_score(["b", "a", "c"], posterior)
    assert list(score["model_rank"]) == [2, 1, 3]
    assert score.attrs["footrule"] == 2


def test_set_evidence_rejects_typos_without_changing_anything(default_model):
    ui = TeachingWidget(default_model)
    with pytest.raises(kb.EvidenceError, match="groin_pain"):
        ui.set_evidence({"grion_pain": "yes"})
    assert ui.evidence() == {}
