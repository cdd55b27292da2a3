"""The priors-file lint (issue 14): hard errors exit 2; modelling warnings name the trap of
a local cause left off the local-knee mechanism, a finding moving a cause against its
target, and near-diagnostic ratios without a defining mark."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import tomli_w

from kneebayes import DiagnosticModel
from kneebayes.config import parse_config
from kneebayes.lint import lint
from kneebayes.writer import config_to_data


@pytest.fixture(scope="module")
def shipped_data(default_model):
    return config_to_data(default_model.config)


def with_plica(data: dict) -> dict:
    """A new local knee cause (a plica) added the quick way: a base rate and a link to
    anterior knee pain, but not to the local_knee_pathology mechanism."""
    data = copy.deepcopy(data)
    data["causes"]["plica_syndrome"] = {"label": "Plica syndrome", "base": 0.05,
                                        "source": "elicited: test"}
    data["findings"]["anterior_knee_pain"]["causes"]["plica_syndrome"] = 0.8
    return data


def test_the_unlinked_local_cause_trap_is_named(shipped_data, default_model):
    model = DiagnosticModel(parse_config(with_plica(shipped_data)))
    case = {"anterior_knee_pain": "yes"}
    raised = model.posterior(case | {"knee_exam_normal": "yes"})["plica_syndrome"]
    assert raised > model.posterior(case)["plica_syndrome"]  # the trap itself
    warnings = lint(model)
    trap = warnings[(warnings["check"] == "raises_without_edge")
                    & (warnings["finding"] == "knee_exam_normal")
                    & (warnings["cause"] == "plica_syndrome")]
    assert len(trap) == 1
    assert "no shared risk factor" in trap["message"].iloc[0]
    assert "among cases with anterior_knee_pain" in trap["message"].iloc[0]
    assert "link the cause to the finding (or its mechanism)" in trap["message"].iloc[0]
    # the shipped model's own warnings are all through shared risk factors
    shipped = lint(default_model)
    assert set(shipped["check"]) <= {"raises_without_edge"}
    assert shipped["message"].str.contains("shares the risk factor").all()


def test_opposite_direction_and_extreme_ratios(shipped_data):
    data = copy.deepcopy(shipped_data)
    # a target saying groin pain counts against hip disease (it counts for it)
    data["findings"]["groin_pain"]["targets"]["hip_referred_pain"].update(
        lr_positive=[0.2, 0.5], lr_negative=[1.5, 3.0])
    # a palpable mass made near-diagnostic of a bone tumour (not its defining feature)
    mass = data["findings"]["palpable_mass"]
    mass["causes"] = {"bone_tumour": 0.9}
    mass["leak"] = 0.0005
    mass.pop("sources", None)
    mass["source"] = "elicited: test"
    model = DiagnosticModel(parse_config(data))
    warnings = lint(model)
    checks = set(zip(warnings["check"], warnings["finding"], warnings["cause"], strict=True))
    assert ("opposite_to_target", "groin_pain", "hip_referred_pain") in checks
    assert ("extreme", "palpable_mass", "bone_tumour") in checks
    assert (warnings["check"] == "leaves_target").any()


def test_cli_check(shipped_data, tmp_path):
    path = tmp_path / "with_plica.toml"
    path.write_text(tomli_w.dumps(with_plica(shipped_data)))
    done = subprocess.run([sys.executable, "-m", "kneebayes", "check", str(path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "no hard errors" in done.stdout
    assert "[raises_without_edge] knee_exam_normal present raises plica_syndrome" in done.stdout
    assert done.stdout.index("no hard errors") < done.stdout.index("not a medical device")
    bad = tmp_path / "bad.toml"
    bad.write_text('schema_version = 1\ntitle = "x"\n')
    done = subprocess.run([sys.executable, "-m", "kneebayes", "check", str(bad)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "triage: required table is missing" in done.stderr
    assert "Traceback" not in done.stderr


def test_limits_are_said_before_any_work(default_model, first_model, tmp_path):
    shipped = default_model.limits()
    assert not shipped["available"].iloc[0]  # no joint over 17 causes
    assert "--memory-budget" in shipped["detail"].iloc[0]
    assert not shipped.loc["fit: dense E-step (all cases at once)", "available"]
    assert first_model.limits()["available"].all()
    default_model.sample(20, seed=1, latent=False).to_csv(tmp_path / "few.csv")
    done = subprocess.run([sys.executable, "-m", "kneebayes", "fit", "few.csv", "--id-column",
                           "case", "--max-iter", "1", "-o", "fitted.toml"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("kneebayes: note: 22 causes and mechanisms")
    assert "20 cases, at most 1 iterations" in done.stderr
