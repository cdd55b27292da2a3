"""Synthetic cohorts: forward sampling of the network, with optional missing findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .checks import check_count, check_seed
from .config import PriorsConfig
from .errors import KneebayesError, suggest
from .tables import as_columns, node_log_tables, parent_index

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
            if factor not in config.factors:
                raise KneebayesError(f"{where}.factor: expected a factor id, got {factor!r}."
                                     + suggest(str(factor), config.factors))
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
        present = np.exp(node_log_tables(node)[0][0])
        parents = as_columns([states[p] for p in node.parents], n)
        p = present[parent_index(parents, list(range(len(node.parents))))]
        states[node.id] = (rng.random(n) < p).astype(np.int8)
    keep = [nid for nid in config.nodes
            if latent or config.nodes[nid].role in ("factor", "finding")]
    frame = pd.DataFrame({nid: states[nid].astype(bool) for nid in keep})
    for finding, rate in _missing_rates(config, missing, states, n).items():
        hide = rng.random(n) < rate
        frame[finding] = frame[finding].astype("boolean").mask(hide)
    frame.index.name = "case"
    return frame
