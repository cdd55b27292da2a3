from __future__ import annotations

from pathlib import Path

import pytest

import kneebayes as kb
from kneebayes.config import parse_config

DATA = Path(__file__).parent / "data"

# The largest |kneebayes - reference| the exactness tests measured, reported at the end.
DISAGREEMENT: dict[str, float] = {}


def record_disagreement(what: str, value: float) -> None:
    DISAGREEMENT[what] = max(DISAGREEMENT.get(what, 0.0), float(value))


def pytest_terminal_summary(terminalreporter):
    if DISAGREEMENT:
        terminalreporter.section("largest disagreement measured")
        for what, value in sorted(DISAGREEMENT.items()):
            terminalreporter.write_line(f"{what}: {value:.3g}")


def random_value(model: kb.DiagnosticModel, nid: str, rng) -> int | str:
    """A random observed value of `nid` as the public API reads it: 1 or 0 for a
    present/absent node, a state's name for a factor with named states (age, sex)."""
    node = model.config.nodes[nid]
    return str(rng.choice(node.states)) if node.categorical else int(rng.integers(0, 2))


def state_indices(model: kb.DiagnosticModel, observed: dict) -> dict[str, int]:
    """`observed` with state names replaced by their indices (what the engines and the
    brute-force enumeration take)."""
    return {k: model.config.nodes[k].states.index(v) if isinstance(v, str) else int(v)
            for k, v in observed.items()}


@pytest.fixture(scope="session")
def default_model() -> kb.DiagnosticModel:
    return kb.load_model()


@pytest.fixture(scope="session")
def first_model() -> kb.DiagnosticModel:
    """The first shipped vocabulary (7 causes, 12 latent nodes): a user's own schema-1
    file, and a realistic model small enough for the dense engine and enumeration."""
    return kb.load_model(DATA / "first_vocabulary.toml")


@pytest.fixture(scope="session")
def tiny_model() -> kb.DiagnosticModel:
    return kb.load_model(DATA / "tiny.toml")


def small_model(causes: dict, findings: dict, factors: dict | None = None,
                thresholds: tuple[float, float] = (0.2, 0.6)) -> kb.DiagnosticModel:
    """A model from a few hand-written nodes; triage on the first cause."""
    data = {
        "schema_version": 1,
        "title": "hand-written",
        "triage": {"cause": next(iter(causes)), "see_clinician_above": thresholds[0],
                   "urgent_above": thresholds[1], "source": "elicited: test"},
        "factors": factors or {},
        "causes": causes,
        "findings": findings,
    }
    return kb.DiagnosticModel(parse_config(data))
