"""Synthetic cohorts: forward sampling of the network, with optional missing findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .checks import check_count, check_seed
from .config import PriorsConfig
from .errors import KneebayesError, suggest
from .kinds import log_distribution
from .tables import as_columns, parent_index

__all__ = ["sample"]

Missing = float | Mapping[str, Any] | None


def _missing_rates(config: PriorsConfig, missing: Missing, states: dict[str, np.ndarray],
                   n: int) -> dict[str, np.ndarray]:
    """Per finding, the probability that each case's value is missing."""
    if missing is None:
        return {}
    if isinstance(missing, int | float):
        if not 0 <= missing < 1:
            raise KneebayesError(f"missing: expected a rate in [0, 1), got {missing!r}.")
        return {x: np.full(n, float(missing)) for x in config.findings}
    rates = {}
    for finding, spec in missing.items():
        if finding not in config.findings:
            raise KneebayesError(f"missing[{finding!r}]: expected a finding id."
                                 + suggest(finding, config.findings))
        where = f"missing[{finding!r}]"
        if isinstance(spec, int | float) and 0 <= spec < 1:
            rates[finding] = np.full(n, float(spec))
        elif isinstance(spec, Mapping) and set(spec) == {"factor", "present", "absent"}:
            factor = spec["factor"]
            two_state = [f for f in config.factors if not config.nodes[f].categorical]
            if factor not in two_state:
                raise KneebayesError(f"{where}.factor: expected the id of a factor that is "
                                     f"present or absent, got {factor!r}."
                                     + suggest(str(factor), two_state))
            for key in ("present", "absent"):
                if not (isinstance(spec[key], int | float) and 0 <= spec[key] < 1):
                    raise KneebayesError(f"{where}.{key}: expected a rate in [0, 1), got "
                                         f"{spec[key]!r}.")
            rates[finding] = np.where(states[factor] == 1, spec["present"], spec["absent"])
        else:
            raise KneebayesError(
                f"{where}: expected a rate in [0, 1) or {{'factor': id, 'present': rate, "
                f"'absent': rate}}, got {spec!r}.")
    return rates


def sample(config: PriorsConfig, n: int, seed: int | None = 0, missing: Missing = None,
           latent: bool = True) -> pd.DataFrame:
    """See :meth:`kneebayes.DiagnosticModel.sample`."""
    n = check_count(n, "n", minimum=0)
    rng = np.random.default_rng(check_seed(seed))
    states: dict[str, np.ndarray] = {}
    for node in config.nodes.values():  # parents first
        table = np.exp(log_distribution(node)[0])  # parent states x node states
        parents = as_columns([states[p] for p in node.parents], n)
        row = table[parent_index(parents, list(range(len(node.parents))), node.parent_cards)]
        u = rng.random(n)
        if table.shape[1] == 2:  # present when u < P(present): the stream of earlier versions
            states[node.id] = (u < row[:, 1]).astype(np.int8)
        else:  # the state whose cumulative probability first exceeds u
            states[node.id] = (u[:, None] >= np.cumsum(row, axis=1)[:, :-1]).sum(
                axis=1).astype(np.int8)
    keep = [nid for nid in config.nodes
            if latent or config.nodes[nid].role in ("factor", "finding")]
    frame = pd.DataFrame({
        nid: states[nid].astype(bool) if not config.nodes[nid].categorical
        else pd.Categorical.from_codes(states[nid], config.nodes[nid].states)
        for nid in keep})
    for finding, rate in _missing_rates(config, missing, states, n).items():
        hide = rng.random(n) < rate
        frame[finding] = frame[finding].astype("boolean").mask(hide)
    frame.index.name = "case"
    return frame
