"""A generated larger network for the benchmarks: same shape as the shipped model, bigger."""

from __future__ import annotations

import numpy as np

from kneebayes.config import PriorsConfig, parse_config


def larger_network(causes: int = 20, findings: int = 100, factors: int = 8,
                   seed: int = 0) -> PriorsConfig:
    """`causes` latent causes (0-2 factor parents each), `findings` noisy-OR findings with
    1-4 cause parents each, leaks 0.01-0.2, weights above the leak."""
    rng = np.random.default_rng(seed)
    source = {"source": "elicited: generated for the benchmark"}
    data: dict = {
        "schema_version": 1,
        "title": f"generated: {causes} causes, {findings} findings",
        "triage": {"cause": "c0", "see_clinician_above": 0.1, "urgent_above": 0.4, **source},
        "factors": {f"f{j}": {"label": f"f{j}", "prior": float(rng.uniform(0.1, 0.5)), **source}
                    for j in range(factors)},
        "causes": {},
        "findings": {},
    }
    for i in range(causes):
        base = float(rng.uniform(0.01, 0.1))
        parents = rng.choice(factors, size=rng.integers(0, 3), replace=False)
        data["causes"][f"c{i}"] = {
            "label": f"c{i}", "base": base,
            "factors": {f"f{j}": float(rng.uniform(base + 0.05, 0.6)) for j in parents},
            **source,
        }
    for k in range(findings):
        leak = float(rng.uniform(0.01, 0.2))
        parents = rng.choice(causes, size=rng.integers(1, 5), replace=False)
        data["findings"][f"x{k}"] = {
            "label": f"x{k}", "kind": "history", "leak": leak,
            "causes": {f"c{i}": float(rng.uniform(leak + 0.1, 0.95)) for i in parents},
            **source,
        }
    return parse_config(data, "<generated>")
