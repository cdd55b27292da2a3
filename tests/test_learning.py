"""Synthetic cohorts, EM fitting and the validation metrics."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import DATA

import kneebayes as kb
from kneebayes.learn import perturb
from kneebayes.validation import expected_calibration_error, reliability_table

# With the causes hidden, links from the rare cause (serious, ~3% of 20,000) are the
# least determined: about 0.1 off at worst; everything else is within a few hundredths.
RECOVERY_TOLERANCE = {  # (largest, mean) absolute error at 20,000 cases
    "causes observed": (0.05, 0.015),
    "causes hidden": (0.12, 0.035),
}


def test_sample_marginals_match_the_model(default_model):
    cohort = default_model.sample(20_000, seed=3)
    assert list(cohort.columns) == list(default_model.config.nodes)
    for nid, dtype in cohort.dtypes.items():  # bool, or the state names of age and sex
        categorical = default_model.config.nodes[nid].categorical
        assert (isinstance(dtype, pd.CategoricalDtype) if categorical
                else dtype == np.dtype(bool)), nid
    prior = default_model.prior()
    for cause in default_model.causes:
        p = prior[cause]
        assert abs(cohort[cause].mean() - p) < 4 * np.sqrt(p * (1 - p) / len(cohort)), cause
    # a finding's rate by hand: leak plus the causes' contributions, as the model says
    finding = "groin_pain"
    expected = np.mean([default_model.sample(50_000, seed=s)[finding].mean()
                        for s in (4, 5, 6, 7)])
    assert abs(cohort[finding].mean() - expected) < 0.01


def test_sample_is_seeded_and_can_drop_latent_columns(default_model):
    a = default_model.sample(500, seed=1)
    assert a.equals(default_model.sample(500, seed=1))
    assert not a.equals(default_model.sample(500, seed=2))
    observed = default_model.sample(10, seed=1, latent=False)
    assert set(observed.columns) == set(default_model.findings) | set(default_model.factors)


def test_missingness_rates_as_asked(default_model):
    n = 20_000
    cohort = default_model.sample(n, seed=5, missing=0.3)
    rates = cohort[list(default_model.findings)].isna().mean()
    assert (rates - 0.3).abs().max() < 4 * np.sqrt(0.3 * 0.7 / n)
    assert cohort[list(default_model.factors)].notna().all().all()
    by_factor = default_model.sample(n, seed=6, missing={
        "fadir_positive": {"factor": "runner_or_cyclist", "present": 0.1, "absent": 0.6},
        "groin_pain": 0.2})
    older = by_factor["runner_or_cyclist"]
    assert abs(by_factor.loc[older, "fadir_positive"].isna().mean() - 0.1) < 0.02
    assert abs(by_factor.loc[~older, "fadir_positive"].isna().mean() - 0.6) < 0.02
    assert abs(by_factor["groin_pain"].isna().mean() - 0.2) < 0.02
    assert by_factor["lateral_knee_pain"].notna().all()


def test_bad_missingness_is_a_clear_error(default_model):
    with pytest.raises(kb.KneebayesError, match="Did you mean 'groin_pain'"):
        default_model.sample(10, missing={"grion_pain": 0.5})
    with pytest.raises(kb.KneebayesError, match="the id of a factor that is present or absent"):
        default_model.sample(10, missing={"groin_pain": {"factor": "pfps", "present": 0.1,
                                                         "absent": 0.2}})


@pytest.fixture(scope="module")
def tiny_cohort(tiny_model) -> pd.DataFrame:
    return tiny_model.sample(20_000, seed=11)


@pytest.mark.parametrize("label", list(RECOVERY_TOLERANCE))
def test_parameter_recovery_at_20000_cases(tiny_model, tiny_cohort, label):
    hidden = label == "causes hidden"
    keep = [c for c in tiny_cohort.columns
            if tiny_model.config.nodes[c].role in ("factor", "finding")
            or (c in tiny_model.causes and not hidden)]
    start = kb.DiagnosticModel(perturb(tiny_model.config, scale=0.5, seed=12))
    fitted = tiny_model.fit(tiny_cohort[keep], prior_weight=0.0, start=start, max_iter=500)
    truth = np.array([p.value.mean for p in tiny_model.config.parameters()])
    got = np.array([p.value.mean for p in fitted.config.parameters()])
    began = np.array([p.value.mean for p in start.config.parameters()])
    largest, mean = RECOVERY_TOLERANCE[label]
    assert np.abs(got - truth).max() < largest
    assert np.abs(got - truth).mean() < min(mean, np.abs(began - truth).mean())
    result = fitted.fit_result
    assert result.converged or hidden  # hidden causes: EM crawls along a flat ridge
    # maximum likelihood: the log-likelihood itself never decreases
    steps = np.diff(result.log_likelihood)
    assert (steps >= -1e-9 * np.abs(result.log_likelihood[1:])).all()


def test_with_pseudo_counts_the_log_posterior_never_decreases(tiny_model, tiny_cohort):
    partial = tiny_cohort.drop(columns=["irritability"]).astype("boolean")
    partial.loc[partial.index[::2], "overuse"] = pd.NA  # causes partly observed
    start = kb.DiagnosticModel(perturb(tiny_model.config, scale=0.8, seed=13))
    fitted = tiny_model.fit(partial.head(5000), prior_weight=1.0, start=start)
    objective = np.array(fitted.fit_result.objective)
    assert len(objective) > 3
    assert (np.diff(objective) >= -1e-9 * np.abs(objective[1:])).all()


def test_fit_returns_a_new_model_that_round_trips_through_toml(tiny_model, tiny_cohort,
                                                               tmp_path):
    before = [p.value.mean for p in tiny_model.config.parameters()]
    fitted = tiny_model.fit(tiny_cohort.head(3000))
    assert [p.value.mean for p in tiny_model.config.parameters()] == before  # untouched
    assert all(p.source.startswith("fitted: 3000 cases") for p in fitted.config.parameters())
    path = fitted.to_toml(tmp_path / "fitted.toml")
    again = kb.load_model(path)
    for evidence in ({}, {"pain": 1, "fever": 0}, {"cannot_walk": 1, "runner": 1}):
        pd.testing.assert_series_equal(again.posterior(evidence), fitted.posterior(evidence),
                                       check_exact=False, atol=1e-12)


def test_fit_errors(tiny_model):
    with pytest.raises(kb.EvidenceError, match="row 1, column 'pain'"):
        tiny_model.fit(pd.DataFrame({"pain": ["yes", "maybe"]}))
    with pytest.raises(kb.EvidenceError, match="Did you mean 'pain'"):
        tiny_model.fit(pd.DataFrame({"pian": [1]}))


def test_calibration_metrics_by_hand():
    outcome = np.array([0, 0, 1, 1, 1])
    predicted = np.array([0.05, 0.15, 0.15, 0.85, 0.95])
    table = reliability_table(outcome, predicted, bins=10)
    # bins: 0 -> {0.05}, 1 -> {0.15, 0.15}, 8 -> {0.85}, 9 -> {0.95}
    assert list(table.index) == [0, 1, 8, 9]
    assert table.loc[1, "observed"] == 0.5 and table.loc[1, "predicted"] == pytest.approx(0.15)
    # ECE = (1*0.05 + 2*0.35 + 1*0.15 + 1*0.05) / 5
    assert expected_calibration_error(outcome, predicted) == pytest.approx(0.95 / 5)
    from sklearn.metrics import brier_score_loss, roc_auc_score

    # AUC by hand: of the 6 (positive, negative) pairs, 5.5 are ranked right
    assert roc_auc_score(outcome, predicted) == pytest.approx(5.5 / 6)
    assert brier_score_loss(outcome, predicted) == pytest.approx(np.mean((predicted - outcome)
                                                                         ** 2))


def test_cli_sample_fit_validate(tmp_path):
    def run(*args):
        done = subprocess.run([sys.executable, "-m", "kneebayes", *args], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    tiny = str(DATA / "tiny.toml")
    run("sample", "--priors", tiny, "-n", "2000", "-o", "cohort.csv", "--missing", "0.2")
    assert len(pd.read_csv(tmp_path / "cohort.csv")) == 2000
    out = run("fit", "--priors", tiny, "cohort.csv", "--id-column", "case", "-o", "fit.toml")
    assert "EM iterations" in out
    assert kb.load_model(tmp_path / "fit.toml").posterior({"pain": 1}).between(0, 1).all()
    run("validate", "--priors", tiny, "-n", "2000", "-o", "val")
    report = (tmp_path / "val" / "validation.md").read_text()
    for section in ("## Synthetic cohort", "## Parameter recovery", "roc_auc", "Run time",
                    "## Lint (kneebayes check)", "SHA-256"):
        assert section in report
    assert (tmp_path / "val" / "validation_reliability.png").stat().st_size > 1000


def test_validate_writes_every_section_it_can_and_marks_the_others(tiny_model, tmp_path,
                                                                   monkeypatch):
    from kneebayes import validation

    def too_large(*args, **kwargs):
        raise kb.ModelTooLarge("fit: the E-step does not fit the memory budget (test).")

    monkeypatch.setattr(validation, "parameter_recovery", too_large)
    path = validation.write_validation_report(tiny_model, tmp_path, n=200)
    report = path.read_text()
    assert "## Parameter recovery\n\nNot run: fit: the E-step does not fit" in report
    assert "Sections not run: Parameter recovery" in report
    for section in ("## Vignettes", "## Synthetic cohort", "## Single-finding likelihood",
                    "## Lint"):
        assert section in report
    assert not (tmp_path / "validation_recovery.png").exists()


def test_the_sparse_e_step_fits_exactly_what_the_dense_one_fits(tiny_model):
    cohort = tiny_model.sample(800, seed=4, missing=0.3)
    rng = np.random.default_rng(4)
    for cause in tiny_model.causes + tiny_model.mechanisms:  # partly observed latents
        cohort[cause] = cohort[cause].astype("boolean").mask(rng.random(len(cohort)) < 0.6)
    dense = tiny_model.fit(cohort, max_iter=6, method="dense")
    sparse = tiny_model.fit(cohort, max_iter=6, method="sparse")
    np.testing.assert_allclose(sparse.fit_result.log_likelihood,
                               dense.fit_result.log_likelihood, rtol=1e-10)
    for a, b in zip(dense.config.parameters(), sparse.config.parameters(), strict=True):
        assert a.path == b.path and abs(a.value.mean - b.value.mean) < 1e-9, a.path


def test_fit_works_past_the_enumeration_limit():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from networks import larger_network

    model = kb.DiagnosticModel(larger_network(20, 60, 8, seed=1))
    cohort = model.sample(400, seed=1, latent=False, missing=0.3)
    fitted = model.fit(cohort, max_iter=4)
    objective = fitted.fit_result.objective
    assert fitted.fit_result.iterations == 4
    assert all(b >= a - 1e-9 * abs(a) for a, b in itertools.pairwise(objective))
