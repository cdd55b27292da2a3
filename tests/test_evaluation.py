"""Evaluation on labelled cases (issue 14): labels read both ways, every metric checked
against an independent computation, partial labels, the CLI end to end on the shipped
example cohort."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import kneebayes as kb
from kneebayes.evaluation import _auc, read_labels, wilson_interval
from kneebayes.provenance import file_sha256

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "labelled_cohort.csv"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from([0.1, 0.2, 0.2, 0.5, 0.7, 0.9])),
                min_size=2, max_size=40))
def test_auc_matches_sklearn_with_ties(pairs):
    truth = np.array([t for t, _ in pairs], dtype=float)
    predicted = np.array([p for _, p in pairs])
    got = float(_auc(truth, predicted))
    if 0 < truth.sum() < len(truth):
        assert got == pytest.approx(roc_auc_score(truth, predicted), abs=1e-12)
    else:
        assert math.isnan(got)


def test_wilson_interval_by_hand():
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0 and wilson_interval(0, 10)[1] == pytest.approx(
        0.2775, abs=1e-4)
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


def test_labels_as_columns_partial_and_spelled_any_way(first_model):
    frame = pd.DataFrame({"groin_pain": ["yes", "no", ""],
                          "pfps": ["yes", "N", ""], "hip_referred_pain": [1, 0, 0]})
    labels = read_labels(frame, first_model.config)
    assert list(labels.columns) == list(first_model.causes)
    assert labels["pfps"].tolist()[:2] == [1.0, 0.0] and math.isnan(labels["pfps"][2])
    assert labels["hip_referred_pain"].tolist() == [1.0, 0.0, 0.0]
    assert labels["itb_syndrome"].isna().all()  # a cause no column labels
    with pytest.raises(kb.EvidenceError, match=r"row 1, column 'pfps': expected .*'pos'"):
        read_labels(frame.assign(pfps=["yes", "maybe", ""]), first_model.config)
    with pytest.raises(kb.EvidenceError, match="expected labels"):
        read_labels(frame[["groin_pain"]], first_model.config)


def test_labels_from_a_diagnosis_column(first_model):
    frame = pd.DataFrame({"dx": ["PFPS", "hip OA; L3 root", "", "other", "itb_syndrome"]},
                         index=["a", "b", "c", "d", "e"])
    mapping = {"PFPS": "pfps", "hip OA": "hip_referred_pain",
               "L3 root": "lumbar_radiculopathy", "other": None}
    labels = read_labels(frame, first_model.config, "dx", mapping)
    assert labels.loc["a"].sum() == 1 and labels.loc["a", "pfps"] == 1
    assert labels.loc["b", ["hip_referred_pain", "lumbar_radiculopathy"]].tolist() == [1, 1]
    assert labels.loc["c"].isna().all()  # empty: not labelled
    assert labels.loc["d"].sum() == 0 and labels.loc["d"].notna().all()  # none of them
    assert labels.loc["e", "itb_syndrome"] == 1  # a cause id maps to itself
    unknown = read_labels(frame, first_model.config, "dx", mapping, others="unknown")
    assert unknown.loc["a", "pfps"] == 1 and unknown.loc["a"].drop("pfps").isna().all()
    with pytest.raises(kb.EvidenceError, match=r"'gout' \(rows x\)"):
        read_labels(pd.DataFrame({"dx": ["gout"]}, index=["x"]), first_model.config, "dx",
                    mapping)
    with pytest.raises(kb.EvidenceError, match="are not causes of the model"):
        read_labels(frame, first_model.config, "dx", {"PFPS": "pfsp"})


@pytest.fixture(scope="module")
def labelled(first_model):
    cohort = first_model.sample(600, seed=4, missing=0.3)
    cohort["itb_syndrome"] = cohort["itb_syndrome"].astype("boolean")
    cohort.loc[cohort.index[::3], "itb_syndrome"] = pd.NA  # a third unlabelled
    return cohort.drop(columns=list(first_model.config.mechanisms))


def test_every_metric_matches_an_independent_computation(first_model, labelled):
    result = first_model.evaluate(labelled, draws=200, seed=1)
    evidence = labelled[[c for c in labelled.columns
                         if c in first_model.findings or c in first_model.factors]]
    posterior = first_model.posterior_batch(evidence)
    levels = first_model.triage_batch(evidence, posterior)["triage"]
    for cause in first_model.causes:
        known = labelled[cause].notna()
        truth = labelled.loc[known, cause].astype(int)
        p = posterior.loc[known, cause]
        row = result.per_cause.loc[cause]
        assert row["labelled"] == known.sum() and row["positives"] == truth.sum()
        assert row["brier"] == pytest.approx(np.mean((p - truth) ** 2))
        if 0 < truth.sum() < len(truth):
            assert row["roc_auc"] == pytest.approx(roc_auc_score(truth, p))
            assert row["auc_low"] <= row["roc_auc"] <= row["auc_high"]
    assert result.per_cause.loc["itb_syndrome", "labelled"] == 400
    present = labelled[list(first_model.causes)].astype("boolean").fillna(False).astype(bool)
    has = present.any(axis=1)
    top = posterior[list(first_model.causes)].to_numpy().argsort(axis=1)[:, ::-1]
    top1 = [present.iloc[i, top[i, 0]] for i in range(len(top)) if has.iloc[i]]
    assert result.accuracy["cases"] == has.sum()
    assert result.accuracy["top1"] == pytest.approx(np.mean(top1))
    assert result.accuracy["top1_low"] <= result.accuracy["top1"] <= result.accuracy["top1_high"]
    condition = first_model.config.triage.cause
    mask = labelled[condition] == 1
    assert result.triage.loc[condition, "cases"] == mask.sum()
    assert result.triage.loc[condition, "see_clinician_or_urgent"] == pytest.approx(
        (levels[mask.to_numpy()] != "none").mean())
    again = first_model.evaluate(labelled, draws=200, seed=1)
    assert again.per_cause.equals(result.per_cause)  # the seed fixes the bootstrap


def test_extra_columns_are_an_error_unless_ignored(first_model, labelled):
    extra = labelled.assign(clinician="Dr A")
    with pytest.raises(kb.EvidenceError, match=r"'clinician'.*--ignore-extra"):
        first_model.evaluate(extra, draws=0)
    result = first_model.evaluate(extra, draws=0, ignore_extra=True)
    assert result.per_cause["auc_low"].isna().all()  # no bootstrap asked


def test_samples_own_output_scores_and_evaluates_as_it_is(tmp_path):
    assert run("sample", "-n", "40", "--seed", "2", "-o", "cohort.csv", cwd=tmp_path
               ).returncode == 0
    done = run("evaluate", "cohort.csv", "--draws", "0", "-o", "out", cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # causes as labels, mechanisms ignored
    assert run("sample", "-n", "40", "--no-latent", "-o", "plain.csv", cwd=tmp_path
               ).returncode == 0
    done = run("score", "plain.csv", "-o", "scored.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert scored.columns[0] == "case" and list(scored["case"]) == list(range(40))


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "kneebayes", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_cli_evaluates_the_shipped_example_both_ways(tmp_path):
    subset = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False).head(150)
    subset.to_csv(tmp_path / "clinic.csv", index=False)
    done = run("evaluate", "clinic.csv", "--id-column", "case", "--ignore-extra", "--draws",
               "50", "-o", "out", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["provenance"]["data_sha256"] == file_sha256(tmp_path / "clinic.csv")
    assert payload["per_cause"]["meniscal_tear"]["labelled"] == 0  # left unlabelled
    report = (tmp_path / "out" / "evaluation.md").read_text()
    assert report.index("## Triage") < report.index("## Per cause")
    assert "not a medical device" in report and "SHA-256" in report
    assert (tmp_path / "out" / "evaluation_roc.png").exists()
    # the same cases labelled by one diagnosis column in words, through the map
    diagnosed = subset.drop(columns=list(kb.load_model().causes))
    diagnosed.to_csv(tmp_path / "dx.csv", index=False)
    done = run("evaluate", "dx.csv", "--id-column", "case", "--ignore-extra", "--draws", "0",
               "--diagnosis-column", "final_diagnosis", "--map",
               str(ROOT / "examples" / "diagnosis_map.toml"), "-o", "out2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Triage sensitivity") or "Top-1" in done.stdout
    # errors: exit 2, one message, no traceback
    for args, message in (
            (["dx.csv", "--id-column", "case", "--map", "m.toml"], "--map: expected together"),
            (["clinic.csv", "--id-column", "case"], "'visit_date' is not a finding or factor"),
            (["dx.csv", "--id-column", "case", "--ignore-extra", "--diagnosis-column",
              "final_diagnosis"], "diagnoses the mapping does not name")):
        done = run("evaluate", *args, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
