"""Figures render (Agg) to PNGs that are not blank, and importing kneebayes leaves
matplotlib's global state alone."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")  # the test process's own choice, before pyplot is imported

import matplotlib.pyplot as plt

from kneebayes import plot

EVIDENCE = {"groin_pain": "yes", "pain_with_hip_movement": "yes", "knee_exam_normal": "yes",
            "numbness_or_tingling": "no"}


def assert_not_blank(ax, tmp_path, name: str) -> None:
    path = tmp_path / f"{name}.png"
    ax.figure.savefig(path, dpi=60)
    image = plt.imread(path)[..., :3]
    plt.close(ax.figure)
    assert image.std() > 0.05, name  # far from a flat colour
    assert (image.mean(axis=2) < 0.5).mean() > 0.005, name  # some dark ink: text, bars


@pytest.fixture(scope="module")
def results(default_model):
    m = default_model
    return {
        "posterior": m.posterior(EVIDENCE),
        "credible": m.credible_posterior(EVIDENCE, draws=200),
        "explain": m.explain(EVIDENCE, "hip_referred_pain"),
        "next": m.next_findings(EVIDENCE),
        "tornado": m.sensitivity(EVIDENCE, "hip_referred_pain"),
    }


def test_every_figure_renders(default_model, results, tmp_path):
    axes = {
        "posterior": plot.posterior(results["posterior"], model=default_model),
        "posterior_intervals": plot.posterior(results["posterior"], results["credible"],
                                              model=default_model),
        "explanation": plot.explanation(results["explain"]),
        "next_findings": plot.next_findings(results["next"], k=8),
        "tornado": plot.tornado(results["tornado"]),
        "network": plot.network(default_model, results["posterior"], EVIDENCE),
        "network_plain": plot.network(default_model),
    }
    for name, ax in axes.items():
        assert_not_blank(ax, tmp_path, name)


def test_functions_draw_on_a_given_axes_and_return_it(default_model, results):
    fig, ax = plt.subplots()
    assert plot.posterior(results["posterior"], ax=ax) is ax
    assert plot.tornado(results["tornado"], ax=ax) is ax
    assert len(fig.axes) == 1
    plt.close(fig)


def test_waterfall_ends_at_the_posterior(results):
    ax = plot.explanation(results["explain"])
    widths = [bar.get_width() for bar in ax.patches]
    lefts = [bar.get_x() for bar in ax.patches]
    attrs = results["explain"].attrs
    # the last step ends where the posterior bar ends
    assert lefts[-2] + widths[-2] == pytest.approx(attrs["posterior_log10_odds"], abs=1e-9)
    assert widths[-1] == pytest.approx(attrs["posterior_log10_odds"])
    assert np.sign(widths[1]) == np.sign(results["explain"]["sequential_weight"].iloc[0])
    plt.close(ax.figure)


def test_importing_kneebayes_changes_no_matplotlib_state():
    # dict.items reads the raw values: rcParams["backend"] would itself import pyplot
    code = ("import matplotlib, json, sys; before = dict(dict.items(matplotlib.rcParams)); "
            "import kneebayes, kneebayes.plot; "
            "m = kneebayes.load_model(); m.posterior({'groin_pain': 1}); "
            "print(json.dumps([dict(dict.items(matplotlib.rcParams)) == before, "
            "'matplotlib.pyplot' in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip() == "[true, false]", done.stderr


def test_save_writes_the_figure_safely(default_model, tmp_path):
    from kneebayes import plot

    target = tmp_path / "figs" / "differential.png"
    ax = plot.posterior(default_model.prior(), model=default_model)
    assert plot.save(ax, target) == target
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in target.parent.iterdir()] == ["differential.png"]
    import matplotlib.pyplot as plt

    plt.close(ax.figure)
