"""The command line, run as a user would: in a subprocess, from an unrelated directory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import DATA

from kneebayes import NOTICE


def run(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kneebayes", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_posterior_shows_triage_then_differential_then_notice(tmp_path):
    done = run("posterior", "groin_pain=yes", "numbness_or_tingling=no", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("Triage:")
    assert out.index("Triage:") < out.index("Differential") < out.index(NOTICE)
    assert "Referred hip pain" in out or "hip_referred_pain" in out
    assert out.strip().endswith(NOTICE)


def test_red_flag_is_shown_first(tmp_path):
    done = run("posterior", "unable_to_bear_weight=yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Triage: URGENT")


def test_json_is_json_alone_and_carries_triage_and_notice(tmp_path):
    done = run("posterior", "--json", "groin_pain=yes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["notice"] == NOTICE
    assert payload["triage"]["level"] in ("none", "see_clinician", "urgent")
    probabilities = list(payload["posterior"].values())
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities)


def test_priors_option(tmp_path):
    done = run("posterior", "--priors", str(DATA / "tiny.toml"), "--json", "pain=yes",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["posterior"]) == {"overuse", "serious"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("posterior", "grion_pain=yes"), "Did you mean 'groin_pain'"),
        (("posterior", "groin_pain=maybe"), "expected True/False"),
        (("posterior", "groin_pain"), "expected FINDING=VALUE"),
        (("posterior", "--priors", "missing.toml"), "missing.toml: 1 problem"),
        (("posterior", "pfps=yes"), "pfps is a cause, which is latent"),
    ],
)
def test_errors_go_to_stderr_with_exit_code_2_and_no_traceback(tmp_path, args, message):
    done = run(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_broken_priors_file_lists_its_problems(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((DATA / "tiny.toml").read_text().replace("leak = 0.2", "leak = 1.2"))
    done = run("posterior", "--priors", str(bad), cwd=tmp_path)
    assert done.returncode == 2
    assert "findings.pain.leak: expected a number strictly between 0 and 1" in done.stderr
    assert "Traceback" not in done.stderr


def test_nodes_lists_the_vocabulary(tmp_path):
    done = run("nodes", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for nid in ("pfps", "weak_hip_muscles", "groin_pain", "straight_leg_raise_positive"):
        assert nid in done.stdout
    assert NOTICE in done.stdout
    payload = json.loads(run("nodes", "--json", cwd=tmp_path).stdout)
    assert payload["notice"] == NOTICE
    rows = payload["nodes"]
    assert {r["role"] for r in rows} >= {"factor", "cause", "finding"}


def test_next_explain_and_uncertainty_show_triage_first_and_the_notice(tmp_path):
    for args in (("next", "groin_pain=yes", "-k", "3"),
                 ("next", "groin_pain=yes", "--target", "lumbar_radiculopathy"),
                 ("explain", "hip_referred_pain", "groin_pain=yes", "numbness_or_tingling=no"),
                 ("posterior", "--uncertainty", "--draws", "200", "groin_pain=yes")):
        done = run(*args, cwd=tmp_path)
        assert done.returncode == 0, (args, done.stderr)
        assert done.stdout.startswith("Triage:"), args
        assert done.stdout.strip().endswith(NOTICE), args
    done = run("next", "unable_to_bear_weight=yes", cwd=tmp_path)
    assert done.stdout.startswith("Triage: URGENT")


def test_next_explain_uncertainty_json(tmp_path):
    payload = json.loads(run("next", "--json", "groin_pain=yes", "-k", "4", cwd=tmp_path).stdout)
    assert len(payload["next_findings"]) == 4 and payload["notice"] == NOTICE
    assert payload["ranking"] == "decision"  # the shipped file has a loss table
    ranked = [(row["loss_reduction"], row["information_gain"])
              for row in payload["next_findings"].values()]
    assert ranked == sorted(ranked, reverse=True)
    payload = json.loads(run("next", "--json", "--by", "information", "groin_pain=yes", "-k",
                             "4", cwd=tmp_path).stdout)
    gains = [row["information_gain"] for row in payload["next_findings"].values()]
    assert payload["ranking"] == "information" and gains == sorted(gains, reverse=True)
    payload = json.loads(run("explain", "--json", "pfps", "anterior_knee_pain=yes",
                             cwd=tmp_path).stdout)
    assert payload["weights"]["anterior_knee_pain"]["weight_of_evidence"] > 0
    assert "level" in payload["triage"]
    payload = json.loads(run("posterior", "--json", "--uncertainty", "--draws", "100",
                             "groin_pain=yes", cwd=tmp_path).stdout)
    for cause, row in payload["credible"].items():
        assert row["low"] <= payload["posterior"][cause] <= row["high"]


def test_explain_unknown_cause(tmp_path):
    done = run("explain", "hip_reffered_pain", "groin_pain=yes", cwd=tmp_path)
    assert done.returncode == 2 and "Did you mean 'hip_referred_pain'" in done.stderr
    assert "Traceback" not in done.stderr
