from __future__ import annotations

from pathlib import Path

import pytest

import kneebayes as kb

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


@pytest.fixture(scope="session")
def default_model() -> kb.DiagnosticModel:
    return kb.load_model()


@pytest.fixture(scope="session")
def tiny_model() -> kb.DiagnosticModel:
    return kb.load_model(DATA / "tiny.toml")
