"""The must-not-miss vignettes come out the same through every surface: the API, the command
line, `score` on a CSV file, and the teaching widget."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from kneebayes import vignettes

CASES = ["afebrile_prosthetic_knee", "long_haul_calf", "stumble_on_the_stairs",
         "tight_belt_burning_thigh", "obese_boy_knee_limp"]


def _words(evidence: dict[str, str]) -> list[str]:
    return [f"{k}={v}" for k, v in evidence.items()]


@pytest.mark.parametrize("vid", CASES)
def test_the_command_line_gives_the_api_s_differential_and_triage(default_model, vid):
    vignette = vignettes.load()[vid]
    done = subprocess.run([sys.executable, "-m", "kneebayes", "posterior", "--json",
                           *_words(vignette.evidence)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    posterior = default_model.posterior(vignette.evidence)
    assert payload["triage"]["level"] == default_model.triage(vignette.evidence).level
    assert max(abs(payload["posterior"][c] - posterior[c]) for c in posterior.index) < 1e-9


def test_score_gives_each_vignette_s_triage(default_model, tmp_path):
    library = vignettes.load()
    rows = pd.DataFrame([library[v].evidence for v in CASES], index=pd.Index(CASES, name="id"))
    rows.to_csv(tmp_path / "cases.csv")
    done = subprocess.run([sys.executable, "-m", "kneebayes", "score", "cases.csv", "-o",
                           "scored.csv", "--id-column", "id", "--no-progress"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    scored = pd.read_csv(tmp_path / "scored.csv", index_col="id")
    for vid in CASES:
        evidence = library[vid].evidence
        assert scored.loc[vid, "triage"] == default_model.triage(evidence).level, vid
        top = default_model.posterior(evidence).index[0]
        assert scored.loc[vid, list(default_model.causes)].astype(float).idxmax() == top, vid


def test_the_widget_shows_each_vignette_s_triage(default_model):
    pytest.importorskip("ipywidgets")
    from kneebayes.widget import TeachingWidget

    ui = TeachingWidget(default_model)
    for vid in CASES:
        ui.vignette_picker.value = vid
        level = default_model.triage(vignettes.load()[vid].evidence).level
        assert ui.triage.level == level, vid
        assert ui.posterior.index[0] == default_model.posterior(
            vignettes.load()[vid].evidence).index[0]
