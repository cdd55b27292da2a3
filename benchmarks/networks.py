"""A generated larger network for the benchmarks: same shape as the shipped model, bigger."""

from __future__ import annotations

import numpy as np

from kneebayes.config import PriorsConfig, parse_config


def larger_network(causes: int = 20, findings: int = 100, factors: int = 8,
                   seed: int = 0, mixed: bool = False) -> PriorsConfig:
    """`causes` latent causes (0-2 factor parents each), `findings` noisy-OR findings with
    1-4 cause parents each, leaks 0.01-0.2, weights above the leak.

    With `mixed`, every other factor has four states (bands 0-3, so that evidence may give
    the state's index), a mechanism node joins three causes and carries two of the findings,
    and one finding is a full table over two causes.
    """
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
    four = [j for j in range(factors) if mixed and j % 2]
    for j in four:
        shares = rng.dirichlet(np.ones(4) * 3)
        data["factors"][f"f{j}"] = {
            "label": f"f{j}", "states": ["a", "b", "c", "d"], "bands": [0, 1, 2, 3],
            "prior": {s: float(x) for s, x in zip("abc", shares, strict=False)}
            | {"d": float(1 - shares[:3].sum())}, **source}
    for i in range(causes):
        base = float(rng.uniform(0.01, 0.1))
        parents = rng.choice(factors, size=rng.integers(0, 3), replace=False)
        weights = {}
        for j in parents:
            if j in four:  # weights on two of the three non-reference states
                weights[f"f{j}"] = {s: float(rng.uniform(base + 0.05, 0.6))
                                    for s in rng.choice(["b", "c", "d"], 2, replace=False)}
            else:
                weights[f"f{j}"] = float(rng.uniform(base + 0.05, 0.6))
        data["causes"][f"c{i}"] = {"label": f"c{i}", "base": base, "factors": weights,
                                   **source}
    for k in range(findings):
        leak = float(rng.uniform(0.01, 0.2))
        parents = rng.choice(causes, size=rng.integers(1, 5), replace=False)
        data["findings"][f"x{k}"] = {
            "label": f"x{k}", "kind": "history", "leak": leak,
            "causes": {f"c{i}": float(rng.uniform(leak + 0.1, 0.95)) for i in parents},
            **source,
        }
    if mixed and causes >= 3 and findings >= 3:
        joined = [f"c{i}" for i in rng.choice(causes, 3, replace=False)]
        data["mechanisms"] = {"m0": {"label": "m0", "leak": 0.05, **source,
                                     "causes": {c: float(rng.uniform(0.5, 0.9)) for c in joined}}}
        for k in (0, 1):
            data["findings"][f"x{k}"] = {"label": f"x{k}", "kind": "history", "leak": 0.1,
                                         "mechanisms": {"m0": 0.8}, **source}
        a, b = joined[:2]
        data["findings"]["x2"] = {
            "label": "x2", "kind": "examination", "parents": [a, b], **source,
            "table": {"none": 0.05, a: 0.6, b: 0.3, f"{a}+{b}": 0.5}}  # not monotone
    return parse_config(data, "<generated>")
