"""A class through the vignettes: answers refused when incomplete, scored against the expert
key (never the model), saved safely per student, merged for the teacher; a teacher's own
cases in the same schema."""

from __future__ import annotations

import dataclasses
import os
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import kneebayes as kb
from kneebayes import classroom, plot, vignettes
from kneebayes.classroom import Answer, AnswerError
from kneebayes.provenance import file_sha256

THREE = ("pfps", "itb_syndrome", "hip_referred_pain")


@pytest.fixture(scope="module")
def library():
    return vignettes.load()


def test_incomplete_or_repeated_answers_are_refused_in_one_message(default_model, library):
    vignette = library["recruit_stairs_and_sitting"]
    with pytest.raises(AnswerError) as caught:
        classroom.score(default_model, vignette,
                        Answer("Jane Smith", vignette.id, ("pfps", "pfps", ""), "soon", 70))
    text = str(caught.value)
    for part in ("student id", "choose three causes", "2 chosen",
                 "'Patellofemoral pain syndrome' is chosen more than once",
                 "choose a triage level", "probability: expected a number from 0 to 1"):
        assert part in text
    with pytest.raises(AnswerError, match="for vignette 'other'"):
        classroom.score(default_model, vignette, Answer("s1", "other", THREE, "none"))


def test_scored_against_the_key_not_the_model(default_model, library):
    """A key that leads with a cause the model ranks second: the student who follows the
    key scores right, the one who follows the model does not."""
    vignette = library["recruit_stairs_and_sitting"]
    model_first, model_second = default_model.posterior(vignette.evidence).index[:2]
    keyed = dataclasses.replace(vignette, expected=(model_second,))
    follows_key = Answer("s1", keyed.id, (model_second, model_first, "scfe"), "none", 0.8)
    follows_model = Answer("s2", keyed.id, (model_first, model_second, "scfe"), "none", 0.8)
    assert classroom.score(default_model, keyed, follows_key).leading_correct
    wrong = classroom.score(default_model, keyed, follows_model)
    assert not wrong.leading_correct and wrong.brier == pytest.approx(0.64)
    assert wrong.model_top.index[0] == model_first  # the model's view, shown beside


def test_score_by_hand(default_model, library):
    vignette = library["recruit_stairs_and_sitting"]  # key: pfps, triage none
    scored = classroom.score(default_model, vignette, Answer("s1", vignette.id,
                                                             ("itb_syndrome", "scfe", "pfps"),
                                                             "urgent", 0.25))
    assert not scored.leading_correct and scored.brier == pytest.approx(0.0625)
    assert scored.missed == () and scored.differential_recall == 1.0
    assert scored.triage_result == "over" and scored.key_triage == "none"
    urgent = next(v for v in library.values() if v.triage == "urgent")
    scored = classroom.score(default_model, urgent, Answer("s1", urgent.id, THREE, "none"))
    assert scored.triage_result == "under" and scored.brier is None
    must = urgent.differential or urgent.expected
    assert set(scored.missed) == set(must) - set(THREE)
    assert scored.differential_recall == pytest.approx(1 - len(scored.missed) / len(must))
    # the evidence shown is the key cause's strongest, from explain
    weights = default_model.explain(urgent.evidence, scored.key_cause)
    want = weights[weights["weight_of_evidence"] > 0].nlargest(3, "weight_of_evidence")
    assert list(scored.key_evidence.index) == list(want.index)
    assert scored.key_cause in classroom.key_leading(urgent)


def test_answers_are_appended_safely_and_first_answers_stand(default_model, library,
                                                            tmp_path):
    first, second = list(library.values())[:2]
    a1 = classroom.score(default_model, first, Answer("s1", first.id, THREE, "none", 0.5))
    assert classroom.record(tmp_path, a1, "model X")
    path = tmp_path / "s1.csv"
    os.chmod(path, 0o640)
    a2 = classroom.score(default_model, second, Answer("s1", second.id, THREE, "urgent"))
    assert classroom.record(tmp_path, a2)
    assert os.stat(path).st_mode & 0o777 == 0o640  # the file's mode is kept
    again = classroom.score(default_model, first, Answer("s1", first.id, THREE[::-1], "urgent"))
    assert not classroom.record(tmp_path, again)  # after the reveal: not recorded
    table = classroom.read_answers(path)
    assert list(table["vignette"]) == [first.id, second.id]
    assert list(table["cause_1"]) == ["pfps", "pfps"] and table["priors"][0] == "model X"
    shipped = Path(str(resources.files("kneebayes").joinpath("vignettes.toml")))
    # the key's file, by name and hash, so that a changed key shows in the answers
    assert set(table["key_file"]) == {
        f"vignettes.toml (sha256 {file_sha256(shipped)[:16]})"}
    assert [p for p in os.listdir(tmp_path) if p != "s1.csv"] == []  # no temporary left
    # a file written before the key's file was recorded is read, and appended to
    earlier = tmp_path / "old"
    earlier.mkdir()
    table.drop(columns="key_file").head(1).to_csv(earlier / "s1.csv", index=False)
    assert classroom.read_answers(earlier)["key_file"].tolist() == [""]
    assert classroom.record(earlier, a2)
    assert classroom.read_answers(earlier)["key_file"].tolist() == ["", a2.key_file]
    # a file kneebayes did not write is never replaced
    (tmp_path / "s2.csv").write_text("name,grade\nJane,A\n")
    with pytest.raises(kb.KneebayesError, match="not a kneebayes answers file"):
        classroom.record(tmp_path, classroom.score(default_model, first,
                                                   Answer("s2", first.id, THREE, "none")))
    assert (tmp_path / "s2.csv").read_text() == "name,grade\nJane,A\n"


def test_the_teacher_merges_a_class(default_model, library, tmp_path):
    urgent = next(v for v in library.values() if v.triage == "urgent")
    routine = library["recruit_stairs_and_sitting"]
    answers = {"s1": (urgent.triage, 0.9), "s2": ("none", None), "s3": ("see_clinician", 0.5)}
    for student, (level, p) in answers.items():
        for vignette in (urgent, routine):
            causes = (*(vignette.expected or vignette.differential)[:1],
                      *[c for c in THREE if c not in (vignette.expected
                                                      or vignette.differential)[:1]])[:3]
            classroom.record(tmp_path, classroom.score(
                default_model, vignette, Answer(student, vignette.id, causes, level, p)))
    merged = classroom.read_answers(tmp_path)
    assert len(merged) == 6 and set(merged["student"]) == set(answers)
    summary = classroom.class_summary(merged)
    assert summary.loc[urgent.id, "students"] == 3
    # s2 and s3 under-triaged the urgent case
    assert summary.loc[urgent.id, "under_triage"] == pytest.approx(2 / 3)
    assert summary.loc[urgent.id, "leading_correct"] == 1.0
    assert summary.loc[urgent.id, "mean_brier"] == pytest.approx((0.1**2 + 0.5**2) / 2)
    assert summary.loc[routine.id, "over_triage"] == pytest.approx(2 / 3)
    missed = classroom.missed_causes(merged)
    assert set(missed.columns) == {"vignette", "cause", "students"}
    ax = plot.class_case(merged, urgent.id, model=default_model)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "under-triaged"
    assert ax.patches[0].get_width() == pytest.approx(2 / 3)
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
    with pytest.raises(kb.KneebayesError, match="not a kneebayes answers file"):
        (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
        classroom.read_answers(tmp_path)


def test_a_teachers_own_cases_are_checked_against_the_model(default_model, tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text(
        'schema_version = 1\n[vignettes.runner]\ntitle = "A runner"\nstory = "..."\n'
        'evidence = { lateral_knee_pain = "yes", ober_test_positive = "pos", age = "31" }\n'
        'expected = ["itb_syndrome"]\ntriage = "none"\nteaching_point = "Ober."\n')
    case = vignettes.load(mine, default_model.config)["runner"]
    assert case.expected == ("itb_syndrome",)
    mine.write_text(mine.read_text().replace("lateral_knee_pain", "lateral_knee_pian")
                    .replace('["itb_syndrome"]', '["itbs"]'))
    with pytest.raises(kb.ConfigError) as caught:
        vignettes.load(mine, default_model.config)
    text = str(caught.value)
    assert "in the vignettes file" in text
    assert "vignettes.runner.evidence" in text and "lateral_knee_pain" in text
    assert "vignettes.runner.expected: 'itbs' is not a cause" in text


def test_every_shipped_vignette_can_be_answered(default_model, library):
    for vignette in library.values():
        scored = classroom.score(default_model, vignette,
                                 Answer("s1", vignette.id, THREE, vignette.triage))
        assert scored.triage_result == "correct"
        assert isinstance(scored.model_top, pd.Series) and len(scored.model_top) == 3
