"""Hypothesis strategies: random valid priors files (as parsed TOML mappings) and evidence."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from kneebayes.config import PriorsConfig, parse_config

unit = st.floats(0.01, 0.6)


@st.composite
def probability_value(draw, low: float = 0.01, high: float = 0.99) -> Any:
    """A probability in one of the three spellings, its mean within [low, high]."""
    mean = draw(st.floats(low, high))
    form = draw(st.sampled_from(["number", "mean_n", "range"]))
    if form == "mean_n":
        return {"mean": mean, "n": draw(st.floats(1.0, 200.0))}
    if form == "range":
        half = min(mean - low, high - mean, 0.05) * draw(st.floats(0.1, 0.9))
        if half <= 1e-4:
            return mean
        return {"low": mean - half, "high": mean + half}
    return mean


def _mean(value: Any) -> float:
    if isinstance(value, dict):
        return value["mean"] if "mean" in value else (value["low"] + value["high"]) / 2
    return value


@st.composite
def noisy_or(draw, parents: list[str]) -> tuple[Any, dict[str, Any]]:
    leak = draw(probability_value(0.01, 0.5))
    floor = _mean(leak) + 0.02
    weights = {p: draw(probability_value(floor, 0.98)) for p in parents}
    return leak, weights


@st.composite
def factor_spec(draw, name: str) -> dict[str, Any]:
    """A two-state factor, or a categorical one of 2-4 states whose bands 0, 1, 2, ... read
    the integer k as the k-th state (so that evidence can say 0, 1, 2 for any factor)."""
    if draw(st.booleans()):
        return {"label": name, "prior": draw(probability_value()), "source": "r1"}
    k = draw(st.integers(2, 4))
    weights = [draw(st.floats(0.05, 1.0)) for _ in range(k)]
    prior = {f"s{i}": w / sum(weights) for i, w in enumerate(weights)}
    prior["s0"] = 1.0 - sum(v for s, v in prior.items() if s != "s0")  # exactly one
    spec = {"label": name, "states": list(prior), "prior": prior, "bands": list(range(k)),
            "source": "r1"}
    if draw(st.booleans()):
        spec["n"] = draw(st.floats(2.0, 200.0))
    return spec


@st.composite
def priors_data(draw, max_causes: int = 3, max_mechanisms: int = 2, max_findings: int = 4):
    """A random small priors file: factors -> causes -> mechanisms -> findings."""
    factors = [f"f{i}" for i in range(draw(st.integers(0, 3)))]
    causes = [f"c{i}" for i in range(draw(st.integers(1, max_causes)))]
    mechanisms = [f"m{i}" for i in range(draw(st.integers(0, max_mechanisms)))]
    findings = [f"x{i}" for i in range(draw(st.integers(1, max_findings)))]
    src = {"source": "r1"}
    data: dict[str, Any] = {
        "schema_version": 1,
        "title": "random",
        "references": {"r1": "A reference."},
        "triage": {"cause": causes[0], "see_clinician_above": 0.1, "urgent_above": 0.5,
                   "source": "elicited: test"},
        "factors": {f: draw(factor_spec(f)) for f in factors},
        "causes": {},
        "mechanisms": {},
        "findings": {},
    }
    for c in causes:
        parents = draw(st.lists(st.sampled_from(factors), unique=True)) if factors else []
        base, weights = draw(noisy_or(parents))
        for f in parents:  # a categorical parent: weights on some of its states, not all
            states = data["factors"][f].get("states")
            if states:
                chosen = draw(st.lists(st.sampled_from(states[1:]), min_size=1, unique=True))
                weights[f] = {state: weights[f] for state in chosen}
        data["causes"][c] = {"label": c, "base": base, "factors": weights, **src}
    for i, m in enumerate(mechanisms):
        cause_parents = draw(st.lists(st.sampled_from(causes), min_size=1, unique=True))
        mech_parents = draw(st.lists(st.sampled_from(mechanisms[:i]), unique=True)) if i else []
        leak, weights = draw(noisy_or(cause_parents + mech_parents))
        data["mechanisms"][m] = {
            "label": m, "leak": leak,
            "causes": {p: weights[p] for p in cause_parents},
            "mechanisms": {p: weights[p] for p in mech_parents}, **src,
        }
    latent = causes + mechanisms
    for x in findings:
        parents = draw(st.lists(st.sampled_from(latent), min_size=1, max_size=3, unique=True))
        spec: dict[str, Any] = {"label": x, "kind": "history", **src}
        if draw(st.booleans()) and len(parents) <= 2:
            rows = {}
            for mask in range(2 ** len(parents)):
                present = [p for j, p in enumerate(parents) if mask >> j & 1]
                rows["+".join(present) or "none"] = draw(probability_value())
            spec.update(parents=parents, table=rows)
        else:
            leak, weights = draw(noisy_or(parents))
            spec["leak"] = leak
            spec["causes"] = {p: w for p, w in weights.items() if p in causes}
            spec["mechanisms"] = {p: w for p, w in weights.items() if p in mechanisms}
        data["findings"][x] = spec
    return data


@st.composite
def configs(draw, **kwargs) -> PriorsConfig:
    return parse_config(draw(priors_data(**kwargs)), "<hypothesis>")


@st.composite
def evidence_for(draw, config: PriorsConfig) -> dict[str, int]:
    observable = list(config.findings) + list(config.factors)
    chosen = draw(st.lists(st.sampled_from(observable), unique=True)) if observable else []
    return {nid: draw(st.integers(0, len(config.nodes[nid].states) - 1)) for nid in chosen}
