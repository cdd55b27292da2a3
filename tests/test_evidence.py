"""Evidence: every accepted spelling, and a clear error for everything else."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import small_model

import kneebayes as kb
from kneebayes.evidence import normalise_evidence


@pytest.mark.parametrize(
    ("value", "state"),
    [
        (True, 1), (False, 0), (1, 1), (0, 0), (1.0, 1), (0.0, 0),
        (np.bool_(True), 1), (np.int64(0), 0),
        ("present", 1), ("absent", 0), ("yes", 1), ("no", 0), ("YES", 1), (" No ", 0),
        ("positive", 1), ("negative", 0), ("true", 1), ("false", 0), ("1", 1), ("0", 0),
    ],
)
def test_accepted_spellings(tiny_model, value, state):
    assert normalise_evidence({"pain": value}, tiny_model.config) == {"pain": state}


@pytest.mark.parametrize("value", [None, math.nan, np.nan, "", "unknown"])
def test_unobserved_spellings_are_dropped(tiny_model, value):
    assert normalise_evidence({"pain": value}, tiny_model.config) == {}


def test_same_answer_for_every_spelling(tiny_model):
    a = tiny_model.posterior({"pain": True, "fever": False})
    b = tiny_model.posterior({"pain": "yes", "fever": "negative"})
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_series_equal(a, b)


def test_factors_may_be_observed(tiny_model):
    assert tiny_model.posterior({"runner": "yes"})["overuse"] > tiny_model.prior()["overuse"]


def test_unknown_id_suggests_the_close_match(default_model):
    with pytest.raises(kb.EvidenceError, match=r"'grion_pain'.*Did you mean 'groin_pain'"):
        default_model.posterior({"grion_pain": True})


def test_unknown_id_without_a_close_match(tiny_model):
    with pytest.raises(kb.EvidenceError) as info:
        tiny_model.posterior({"zzz_qqq": True})
    assert "unknown finding or factor" in str(info.value)
    assert "Did you mean" not in str(info.value)


def test_latent_nodes_cannot_be_observed(tiny_model):
    with pytest.raises(kb.EvidenceError, match="overuse is a cause, which is latent"):
        tiny_model.posterior({"overuse": True})
    with pytest.raises(kb.EvidenceError, match="irritability is a mechanism"):
        tiny_model.posterior({"irritability": False})


@pytest.mark.parametrize("value", ["maybe", 2, 0.5, -1, [1], object()])
def test_unreadable_values(tiny_model, value):
    with pytest.raises(kb.EvidenceError, match=r"evidence\['pain'\]: expected True/False"):
        tiny_model.posterior({"pain": value})


def test_every_problem_is_listed(tiny_model):
    with pytest.raises(kb.EvidenceError) as info:
        tiny_model.posterior({"pian": 1, "fever": "maybe"})
    text = str(info.value)
    assert "'pian'" in text and "'fever'" in text


def test_evidence_must_be_a_mapping(tiny_model):
    with pytest.raises(kb.EvidenceError, match="expected a mapping"):
        tiny_model.posterior(["pain"])


def test_zero_probability_evidence_names_the_conflicting_findings():
    """P(evidence) == 0.0 in floating point: pgmpy's product underflows."""
    # Two findings so unlikely that together they underflow float64: P(evidence) == 0.0.
    tiny = 1e-170
    model = small_model(
        {"c": {"label": "C", "base": 0.5, "source": "elicited: t"}},
        {
            "x": {"label": "X", "kind": "history", "leak": tiny, "causes": {"c": 2 * tiny},
                  "source": "elicited: t"},
            "y": {"label": "Y", "kind": "history", "leak": tiny, "causes": {"c": 2 * tiny},
                  "source": "elicited: t"},
            "z": {"label": "Z", "kind": "history", "leak": 0.3, "causes": {"c": 0.6},
                  "source": "elicited: t"},
        },
    )
    # one of them alone is fine: P(c | x) by Bayes' rule = 0.5 * 2 / (0.5 * 2 + 0.5 * 1)
    assert model.posterior({"x": 1})["c"] == pytest.approx(2 / 3, abs=1e-9)
    # The compiled engine works in log space and does not underflow: by hand, posterior odds
    # = prior odds 1 x LR(x) 2 x LR(y) 2 x LR(not z) 0.4/0.7 = 16/7.
    assert model.posterior({"x": 1, "y": 1, "z": 0})["c"] == pytest.approx(16 / 23, abs=1e-12)
    with pytest.raises(kb.EvidenceError) as info:
        model.posterior({"x": 1, "y": 1, "z": 0}, method="pgmpy")
    text = str(info.value)
    assert "probability zero" in text
    assert "the conflicting observations are x, y;" in text
