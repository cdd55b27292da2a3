"""Teaching vignettes shipped with the package: a story, its evidence, the cause(s) the model
should put first, and the teaching point."""

from __future__ import annotations

from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .config import TRIAGE_LEVELS, PriorsConfig, read_toml
from .errors import ConfigError, EvidenceError, suggest
from .evidence import normalise_evidence
from .provenance import file_sha256

__all__ = ["Vignette", "load"]

_KIND = "vignettes file"


@dataclass(frozen=True)
class Vignette:
    """One teaching case.

    Attributes
    ----------
    id, title, story : str
    evidence : dict of str to str
        Finding or factor id -> ``"yes"``/``"no"``.
    expected : tuple of str
        The cause(s) the model should rank first (in any order); may be empty when
        `differential` is given.
    teaching_point : str
    differential : tuple of str
        Causes that must be among the model's top three or named by its triage (a
        must-not-miss condition whose published features are weak belongs here: the triage
        carries it, with a message naming it, rather than inflating it into first place).
    triage : str or None
        The triage level the case must reach at least (never lower).
    source : str
        The file the case and its key came from: its name and the first 16 hex digits of
        its SHA-256 (recorded with each answer scored against the key).
    """

    id: str
    title: str
    story: str
    evidence: dict[str, str]
    expected: tuple[str, ...]
    teaching_point: str
    differential: tuple[str, ...] = ()
    triage: str | None = None
    source: str = ""


def load(path: str | Path | None = None, config: PriorsConfig | None = None
         ) -> dict[str, Vignette]:
    """The vignettes of a TOML file (the shipped ones when `path` is None), by id.

    A teacher's own cases use the same schema (see the shipped ``vignettes.toml``): a
    title, a story, the evidence, and the expert key (``expected`` leading causes,
    ``differential`` causes that must be considered, the ``triage`` level and the
    ``teaching_point``).

    Parameters
    ----------
    path : str or Path, optional
    config : PriorsConfig, optional
        Also check every evidence id and value, and every cause of the key, against this
        model (as :meth:`DiagnosticModel.posterior` would read them).

    Raises
    ------
    ConfigError
        Naming the file and key path of every malformed entry.
    """
    if path is None:
        path = Path(str(resources.files("kneebayes").joinpath("vignettes.toml")))
    path = Path(path)
    data = read_toml(path, _KIND)
    problems: list[str] = []
    if data.get("schema_version") != 1:
        problems.append(f"schema_version: expected 1, got {data.get('schema_version')!r}.")
    out = {}
    for vid, spec in data.get("vignettes", {}).items():
        where = f"vignettes.{vid}"
        out[vid] = _vignette(vid, spec, where, problems)
        if config is not None:
            problems += _against(out[vid], config, where)
    if problems:
        raise ConfigError(str(path), problems, _KIND)
    source = f"{path.name} (sha256 {file_sha256(path)[:16]})"
    return {vid: replace(vignette, source=source) for vid, vignette in out.items()}


def _against(vignette: Vignette, config: PriorsConfig, where: str) -> list[str]:
    """What in a vignette the model cannot read: evidence ids or values, or key causes."""
    problems = []
    try:
        normalise_evidence(vignette.evidence, config)
    except EvidenceError as exc:
        problems.append(f"{where}.evidence: {exc}")
    for key in ("expected", "differential"):
        for cause in getattr(vignette, key):
            if cause not in config.causes:
                problems.append(f"{where}.{key}: {cause!r} is not a cause of the model; "
                                f"expected one of {list(config.causes)}."
                                + suggest(cause, config.causes))
    return problems


def _vignette(vid: str, spec: Any, where: str, problems: list[str]) -> Vignette:
    required = {"title", "story", "evidence", "teaching_point"}
    keys = required | {"expected", "differential", "triage"}
    if not isinstance(spec, dict):
        problems.append(f"{where}: expected a table, got {spec!r}.")
        return Vignette(vid, "", "", {}, (), "")
    for key in set(spec) - keys:
        problems.append(f"{where}.{key}: unknown key; expected one of {sorted(keys)}.")
    for key in required - set(spec):
        problems.append(f"{where}.{key}: required key is missing.")
    evidence = spec.get("evidence", {})
    if not isinstance(evidence, dict) or not all(isinstance(v, str) for v in evidence.values()):
        problems.append(f"{where}.evidence: expected a table of id = \"yes\"/\"no\".")
        evidence = {}
    expected = spec.get("expected", [])
    differential = spec.get("differential", [])
    for key, value in (("expected", expected), ("differential", differential)):
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            problems.append(f"{where}.{key}: expected an array of cause ids, got {value!r}.")
    if not expected and not differential:
        problems.append(f"{where}.expected: expected a non-empty array of cause ids (or a "
                        "differential the causes must be in).")
    triage = spec.get("triage")
    if triage is not None and triage not in TRIAGE_LEVELS:
        problems.append(f"{where}.triage: expected 'none', 'see_clinician' or 'urgent', got "
                        f"{triage!r}.")
        triage = None
    return Vignette(vid, str(spec.get("title", "")), str(spec.get("story", "")),
                    dict(evidence), tuple(expected if isinstance(expected, list) else ()),
                    str(spec.get("teaching_point", "")),
                    tuple(differential if isinstance(differential, list) else ()), triage)
