"""Writing a config back as a priors file (TOML), so that a fitted model reads like any other."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .config import LikelihoodTarget, PriorsConfig
from .kinds import kind_of
from .outputs import write_text

__all__ = ["config_to_data", "write_toml"]

_SECTION = {"factor": "factors", "cause": "causes", "mechanism": "mechanisms",
            "finding": "findings"}


def config_to_data(config: PriorsConfig) -> dict[str, Any]:
    """The priors mapping (as :func:`tomllib.loads` would return it) of a config.

    Ranges ``{ low, high }`` come back as the ``{ mean, n }`` they were read as; every
    number keeps its source, per parameter where it had its own.
    """
    data: dict[str, Any] = {"schema_version": 1, "title": config.title}
    if config.description:
        data["description"] = config.description
    t = config.triage
    if len(t.conditions) == 1 and t.conditions[0].message is None:  # the single-cause form
        data["triage"] = {"cause": t.cause, "see_clinician_above": t.see_clinician_above,
                          "urgent_above": t.urgent_above, "source": t.source}
    else:
        data["triage"] = {"source": t.source, "conditions": {
            c.cause: {"see_clinician_above": c.see_clinician_above,
                      "urgent_above": c.urgent_above, "message": c.message or "-"}
            for c in t.conditions}}
    for section in _SECTION.values():
        data[section] = {}
    for node in config.nodes.values():
        spec: dict[str, Any] = {"label": node.label}
        if node.description:
            spec["description"] = node.description
        if node.kind:
            spec["kind"] = node.kind
        if node.cost is not None:
            spec["cost"] = node.cost
        spec.update(kind_of(node).file_form(node, config))
        sources = {kind_of(node).source_key(node, p.slot): p.source for p in node.parameters}
        if len(set(sources.values())) == 1:
            spec["source"] = next(iter(sources.values()))
        else:
            spec["sources"] = sources
        targets = {t.cause: _target(t) for t in config.targets if t.finding == node.id}
        if targets:
            spec["targets"] = targets
        data[_SECTION[node.role]][node.id] = spec
    data["red_flags"] = {}
    for rule in config.red_flags:
        data["red_flags"][rule.id] = {"level": rule.level, "message": rule.message,
                                      "when": list(rule.when)}
        if rule.names:
            data["red_flags"][rule.id]["names"] = list(rule.names)
    if config.clusters:
        data["clusters"] = {c.id: {"findings": list(c.findings), "cause": c.cause,
                                   "lr_positive": list(c.lr_positive), "source": c.source}
                            for c in config.clusters}
    if config.population is not None:
        pop = config.population
        shares = {}
        for share in pop.shares:
            spec: dict[str, Any] = {"low": share.low, "high": share.high}
            if share.findings:
                spec["findings"] = list(share.findings)
            shares[share.name] = {**spec, "source": share.source}
        data["population"] = {"description": pop.description, "setting": pop.setting,
                              "entry": pop.entry, "inference": pop.inference,
                              "source": pop.source, "shares": shares}
    if config.provenance:
        data["provenance"] = dict(config.provenance)
    if config.decision is not None:
        data["decision"] = {"source": config.decision.source,
                            "action_cost": dict(config.decision.action_cost),
                            "missed": {c: dict(row) for c, row in config.decision.missed.items()}}
    if config.retired:
        data["retired"] = {r.id: {"replaced_by": list(r.replaced_by), "reason": r.reason}
                           for r in config.retired.values()}
    data["references"] = dict(config.references)
    return data


def _target(target: LikelihoodTarget) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if target.lr_positive:
        spec["lr_positive"] = list(target.lr_positive)
    if target.lr_negative:
        spec["lr_negative"] = list(target.lr_negative)
    if target.defining:
        spec["defining"] = True
    spec["source"] = target.source
    return spec


def write_toml(config: PriorsConfig, path: str | Path, inputs: Iterable[str | Path] = ()
               ) -> Path:
    """Write `config` as a priors file that :func:`kneebayes.load_model` reads back, safely
    (:func:`kneebayes.outputs.write_text`); never onto `inputs`."""
    import tomli_w

    title = " ".join(config.title.split())  # one comment line, whatever the title holds
    header = (f"# {title}\n# Written by kneebayes from {config.path}. Educational and "
              "research tool, not a medical device.\n")
    text = header + tomli_w.dumps(config_to_data(config))
    return write_text(path, text, inputs=inputs)
