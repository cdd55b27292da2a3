"""Reports: the case page leads with the triage and embeds its figures; the committed model
card is current; the page renders in headless Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from kneebayes import NOTICE
from kneebayes.report import case_report, model_card

ROOT = Path(__file__).resolve().parents[1]
EVIDENCE = {"recent_trauma": "yes", "unable_to_bear_weight": "yes", "groin_pain": "no"}


@pytest.fixture(scope="module")
def page(default_model) -> str:
    return case_report(default_model, EVIDENCE, draws=200)


def test_case_report_leads_with_triage_and_is_self_contained(page):
    assert page.index("URGENT") < page.index("<h2>Differential")
    assert page.index(NOTICE) < page.index("<h2>Evidence")  # in the banner, and at the end
    assert page.count(NOTICE) == 2
    # an urgent case: differential and explanation, and referral advice instead of questions
    assert page.count('src="data:image/png;base64,') == 2
    assert "refer for same-day assessment now" in page
    assert "http://" not in page and "https://" not in page
    assert "Unable to bear weight: present" in page


def undated(card: str) -> str:
    """A model card without its one dated line (the provenance's 'generated')."""
    return "\n".join(line for line in card.splitlines() if "generated 20" not in line)


def test_committed_model_card_is_current(default_model):
    committed = (ROOT / "reports" / "model_card.md").read_text(encoding="utf-8")
    assert undated(committed) == undated(model_card(default_model)), (
        "reports/model_card.md is stale: run `kneebayes model-card -o reports/model_card.md`")


def test_model_card_lists_every_parameter_and_reference(default_model):
    card = model_card(default_model)
    for parameter in default_model.config.parameters():
        assert f"| {parameter.path} |" in card
    for key in default_model.config.references:
        assert f"- **{key}**:" in card
    assert NOTICE in card


def test_cli_report_and_model_card(tmp_path):
    done = subprocess.run([sys.executable, "-m", "kneebayes", "report", "groin_pain=yes",
                           "-o", "out/case.html", "--draws", "100"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Triage:") and NOTICE in done.stdout
    assert (tmp_path / "out" / "case.html").read_text().startswith("<!doctype html>")
    done = subprocess.run([sys.executable, "-m", "kneebayes", "model-card", "-o", "card.md"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert undated((tmp_path / "card.md").read_text()) == undated(
        (ROOT / "reports" / "model_card.md").read_text())


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_case_report_renders_in_headless_chromium(page, tmp_path):
    browser = _chromium()
    if browser is None:
        if os.environ.get("KNEEBAYES_REQUIRE_CHROMIUM"):
            pytest.fail("Chromium is required here (KNEEBAYES_REQUIRE_CHROMIUM) but missing")
        pytest.skip("no chromium on this machine (CI installs Debian's)")
    html_path, shot = tmp_path / "case.html", tmp_path / "case.png"
    html_path.write_text(page, encoding="utf-8")
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1400",
         f"--screenshot={shot}", html_path.as_uri()],
        check=True, capture_output=True, timeout=120)
    image = plt.imread(shot)[..., :3]
    assert image.shape[0] >= 1000 and image.shape[1] >= 900
    assert image.std() > 0.05  # not a blank page
    top = image[: image.shape[0] // 10]  # the urgent banner's red tint is at the top
    reddish = (top[..., 0] > 0.9) & (top[..., 1] < 0.9) & (top[..., 2] < 0.9)
    assert reddish.mean() > 0.05
    if os.environ.get("KNEEBAYES_SCREENSHOT_DIR"):
        shutil.copy(shot, Path(os.environ["KNEEBAYES_SCREENSHOT_DIR"]) / "case_report.png")


def test_a_notebook_runs_outside_the_repository(tmp_path):
    """Copied elsewhere (as a user would after pip install), a notebook still runs and
    writes beside itself."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(ROOT / "notebooks" / "01_quickstart.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert (tmp_path / "reports" / "quickstart_differential.png").exists()
