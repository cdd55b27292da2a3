"""Priors files: TOML in, validated frozen dataclasses out.

The loader reads with :mod:`tomllib` (nothing in a priors file is ever executed), collects
every problem it finds and raises them together in one :class:`~kneebayes.errors.ConfigError`
whose lines each name the key path, what was expected and what was got. This module never
imports pgmpy: it is on the start-up path of every command.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError, suggest

__all__ = [
    "SCHEMA_VERSION",
    "STATES",
    "Categorical",
    "ClusterTarget",
    "DecisionLoss",
    "LikelihoodTarget",
    "Node",
    "NoisyOr",
    "Parameter",
    "Population",
    "PopulationShare",
    "PriorsConfig",
    "Probability",
    "RedFlagRule",
    "RetiredId",
    "Table",
    "TriageCondition",
    "TriageConfig",
    "default_priors_path",
    "load_config",
    "parse_config",
    "read_toml",
]

SCHEMA_VERSION = 1
STATES = ("absent", "present")
ROLES = ("factor", "cause", "mechanism", "finding")
FINDING_KINDS = ("history", "examination", "red_flag")
TRIAGE_LEVELS = ("none", "see_clinician", "urgent")
# z of the 95th percentile: a {low, high} range is read as a Beta's central 90% interval.
_Z90 = 1.6448536269514722

Role = Literal["factor", "cause", "mechanism", "finding"]


class FrozenDict(dict):
    """A read-only dict that pickles (``MappingProxyType`` does not), so that a model can be
    shipped to Dask workers."""

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("a validated priors config is read-only")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only  # type: ignore[assignment]
    __ior__ = _read_only  # type: ignore[assignment]

    def __reduce__(self):
        return (type(self), (dict(self),))


@dataclass(frozen=True)
class Probability:
    """One probability parameter and its second-order uncertainty.

    Attributes
    ----------
    mean : float
        The point value used for inference, strictly inside (0, 1).
    strength : float or None
        Beta strength ``a + b`` (``a = mean * strength``); ``None`` for a plain number, whose
        uncertainty the file does not state.
    """

    mean: float
    strength: float | None = None

    @property
    def beta(self) -> tuple[float, float] | None:
        """The Beta(a, b) this parameter was given as, or ``None`` for a plain number."""
        if self.strength is None:
            return None
        return self.mean * self.strength, (1.0 - self.mean) * self.strength


def link(parent: str, state: str | None = None) -> str:
    """The name of a noisy-OR link: the parent's id for a two-state parent, ``parent=state``
    for one state of a categorical parent."""
    return parent if state is None else f"{parent}={state}"


@dataclass(frozen=True)
class NoisyOr:
    """Leaky noisy-OR: ``leak`` = P(present | every parent in its reference state);
    ``weights[l]`` = P(present | only link ``l`` active) (Díez's parameterisation).

    A two-state parent has one link, named by its id, active when it is present. A
    categorical parent (``parent_states[p]`` lists its states) has one link per state that
    carries a weight, named ``p=state`` and active when the parent is in that state; a state
    without a weight (at least one: the reference) activates nothing (Díez's noisy-OR over
    multi-valued parents).
    """

    leak: Probability
    weights: Mapping[str, Probability]
    parent_states: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: FrozenDict())

    @property
    def parents(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name.split("=", 1)[0] for name in self.weights))

    @property
    def cards(self) -> tuple[int, ...]:
        """The number of states of each parent."""
        return tuple(len(self.parent_states.get(p, STATES)) for p in self.parents)

    def links(self) -> list[tuple[int, int]]:
        """Per weight (in order), the parent's position and the state that activates it."""
        position = {p: i for i, p in enumerate(self.parents)}
        out = []
        for name in self.weights:
            parent, _, state = name.partition("=")
            states = self.parent_states.get(parent, STATES)
            out.append((position[parent], states.index(state) if state else 1))
        return out


@dataclass(frozen=True)
class Categorical:
    """A root node with named states: ``probabilities[s]`` = P(state ``s``), summing to one
    (a Dirichlet when the file gives its strength ``n``: each state's Beta is the
    Dirichlet's marginal). ``bands`` optionally gives each state's lower bound on a number
    scale (age in years), so that a number can be read as its state."""

    states: tuple[str, ...]
    probabilities: Mapping[str, Probability]
    bands: tuple[float, ...] | None = None

    @property
    def parents(self) -> tuple[str, ...]:
        return ()

    @property
    def cards(self) -> tuple[int, ...]:
        return ()


@dataclass(frozen=True)
class Table:
    """A full table: ``rows[s]`` = P(present | exactly the parents in ``s`` present)."""

    parents: tuple[str, ...]
    rows: Mapping[frozenset[str], Probability]

    @property
    def cards(self) -> tuple[int, ...]:
        return (2,) * len(self.parents)


@dataclass(frozen=True)
class Parameter:
    """One number of the model, where it sits in the file and what it rests on.

    Attributes
    ----------
    path : str
        Key path in the priors file, e.g. ``findings.groin_pain.causes.hip_referred_pain``.
    value : Probability
    source : str
    node : str
        The node whose distribution it belongs to.
    slot : str or frozenset of str
        Its place in that distribution: ``"leak"`` (also a factor's prior or a cause's base),
        a link (a noisy-OR weight: a parent id, or ``parent=state``), the set of present
        parents (a table row), or ``"state=S"`` (a categorical factor's P(S)).
    """

    path: str
    value: Probability
    source: str
    node: str = ""
    slot: str | frozenset[str] = ""
    grade: str = "elicited"

    @property
    def elicited(self) -> bool:
        """Whether the number rests on no published figure of its own (see :attr:`grade`)."""
        return self.grade == "elicited"


GRADES = ("cited", "anchored", "elicited", "fitted")
"""How a number rests on the literature, from its own source:

- ``cited``: the source names a reference *and the figure* (``key: figure``) and nothing else;
- ``anchored``: it names a cited figure and adds ``elicited:`` reasoning from it;
- ``elicited``: reasoning alone, or references that do not name a figure, or a node-level
  citation on a node with several numbers (it cannot say which number it supports);
- ``fitted``: learnt from data (``fitted: ...``).
"""


def grade_of(source: str, references: Mapping[str, str], own: bool = True) -> str:
    """The grade (see :data:`GRADES`) of a number whose source text is `source`; `own` is
    False for a node-level source over several numbers, which vouches for none of them."""
    if source.lstrip().startswith("fitted:"):
        return "fitted"
    before, _, _ = source.partition("elicited:")
    figures = [part for part in before.split(";")
               if ":" in part and part.split(":", 1)[0].strip() in references
               and any(ch.isdigit() for ch in part.split(":", 1)[1])]
    if not figures or not own:
        return "elicited"
    return "anchored" if "elicited:" in source else "cited"


@dataclass(frozen=True)
class LikelihoodTarget:
    """The likelihood ratios one finding should imply for one cause (posterior odds over
    prior odds, every other node marginalised), each a closed range, with their source.

    Attributes
    ----------
    finding, cause : str
    lr_positive, lr_negative : tuple of float or None
        ``(low, high)`` for LR+ (finding present) and LR- (finding absent).
    source : str
    grade : str
        ``cited`` where the source names the published figure (see :func:`grade_of`).
    defining : bool
        The finding is the defining feature of the cause, which the source says: the one
        licence for a finding without an accuracy study to exceed the default bounds.
    """

    finding: str
    cause: str
    lr_positive: tuple[float, float] | None
    lr_negative: tuple[float, float] | None
    source: str
    grade: str
    defining: bool = False


@dataclass(frozen=True)
class PopulationShare:
    """A share the population should show in the model's prior predictive: of a cause
    (``what = "cause"``), of people with none of the causes (``"none"``), or of people with
    any of `findings` present (``"any_finding"``)."""

    name: str
    what: str
    findings: tuple[str, ...]
    low: float
    high: float
    source: str


@dataclass(frozen=True)
class Population:
    """Who the priors file describes, and how its entry criterion enters inference.

    ``inference = "conditioned"``: every number is already conditional on the entry
    criterion (the base rates describe people who meet it), so no evidence is added to a
    case and the posterior of a case is the posterior within the population. The prior
    predictive check (:func:`kneebayes.targets.population_check`) tests that the numbers
    do describe that population.
    """

    description: str
    setting: str
    entry: str
    inference: str
    source: str
    shares: tuple[PopulationShare, ...]


@dataclass(frozen=True)
class ClusterTarget:
    """The joint likelihood ratio for `cause` of several findings that measure one thing,
    all present: correlated signs must add what they add together, not multiply."""

    id: str
    findings: tuple[str, ...]
    cause: str
    lr_positive: tuple[float, float]
    source: str


@dataclass(frozen=True)
class Node:
    """A node and its conditional distribution: two states (``absent``, ``present``) unless
    it is a categorical factor."""

    id: str
    role: Role
    label: str
    description: str
    cpd: NoisyOr | Table | Categorical
    parameters: tuple[Parameter, ...]
    kind: str | None = None
    cost: float | None = None

    @property
    def parents(self) -> tuple[str, ...]:
        return self.cpd.parents

    @property
    def states(self) -> tuple[str, ...]:
        return self.cpd.states if isinstance(self.cpd, Categorical) else STATES

    @property
    def categorical(self) -> bool:
        """A factor with named states (not present/absent)."""
        return isinstance(self.cpd, Categorical)

    @property
    def parent_cards(self) -> tuple[int, ...]:
        """The number of states of each parent, in :attr:`parents` order."""
        return self.cpd.cards


@dataclass(frozen=True)
class RedFlagRule:
    """Raise triage to ``level`` when every item of ``when`` holds: a finding or two-state
    factor observed present, or ``factor=state`` (a factor with named states observed in that
    state). ``names`` are the must-not-miss causes the rule is about (its message names
    them), so that a triage can say which conditions it is raised for."""

    id: str
    level: str
    message: str
    when: tuple[str, ...]
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class TriageCondition:
    """Posterior thresholds on one must-not-miss cause, and what to do when one is crossed
    (``message``; a generic line naming the cause when the file gives none)."""

    cause: str
    see_clinician_above: float
    urgent_above: float
    message: str | None = None


@dataclass(frozen=True)
class TriageConfig:
    """The must-not-miss causes whose posteriors raise the triage level, each with its own
    thresholds and message (the higher of the red-flag rules and every threshold wins).

    ``cause``, ``see_clinician_above`` and ``urgent_above`` are the first condition's (the
    single-cause form of a schema-1 file)."""

    conditions: tuple[TriageCondition, ...]
    source: str

    @property
    def cause(self) -> str:
        return self.conditions[0].cause

    @property
    def see_clinician_above(self) -> float:
        return self.conditions[0].see_clinician_above

    @property
    def urgent_above(self) -> float:
        return self.conditions[0].urgent_above

    @property
    def causes(self) -> tuple[str, ...]:
        return tuple(c.cause for c in self.conditions)


@dataclass(frozen=True)
class DecisionLoss:
    """The loss table behind decision-aware questioning: what assessing a must-not-miss
    condition at each triage level costs, and the harm of that condition, present, under
    each level, in one unit (the file's ``source`` says which; the shipped file uses one
    unneeded clinician visit).

    Each condition is its own decision: the expected loss of level ``a`` for condition ``c``
    is ``action_cost[a] + P(c) missed[c][a]``, linear in its marginal posterior (so exact on
    the sparse engine too); the losses add over conditions (see
    :func:`kneebayes.reasoning.expected_loss`).
    """

    action_cost: Mapping[str, float]
    missed: Mapping[str, Mapping[str, float]]
    source: str


@dataclass(frozen=True)
class RetiredId:
    """An id a priors file no longer has (split, renamed or removed): evidence or a column
    that uses it is refused, naming its replacements."""

    id: str
    replaced_by: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class PriorsConfig:
    """A validated priors file. Nodes are kept in topological order."""

    path: str
    title: str
    description: str
    nodes: Mapping[str, Node]
    triage: TriageConfig
    red_flags: tuple[RedFlagRule, ...]
    references: Mapping[str, str]
    targets: tuple[LikelihoodTarget, ...] = ()
    clusters: tuple[ClusterTarget, ...] = ()
    population: Population | None = None
    retired: Mapping[str, RetiredId] = field(default_factory=lambda: FrozenDict())
    decision: DecisionLoss | None = None
    provenance: Mapping[str, str] = field(default_factory=lambda: FrozenDict())
    """What a fitted file was fitted from (``[provenance]``: data file and SHA-256, the
    priors it started from, kneebayes version, date); empty for a hand-written file."""

    def ids(self, role: Role) -> tuple[str, ...]:
        """Node ids of one role, in file order."""
        return tuple(n.id for n in self.nodes.values() if n.role == role)

    # Cached: they sit on the path of every query.
    @cached_property
    def factors(self) -> tuple[str, ...]:
        return self.ids("factor")

    @cached_property
    def causes(self) -> tuple[str, ...]:
        return self.ids("cause")

    @cached_property
    def mechanisms(self) -> tuple[str, ...]:
        return self.ids("mechanism")

    @cached_property
    def findings(self) -> tuple[str, ...]:
        return self.ids("finding")

    @cached_property
    def factor_cards(self) -> tuple[int, ...]:
        """The number of states of each factor, in :attr:`factors` order."""
        return tuple(len(self.nodes[f].states) for f in self.factors)

    def parameters(self) -> Iterator[Parameter]:
        """Every number of the model with its key path and source."""
        for node in self.nodes.values():
            yield from node.parameters

    @cached_property
    def parameter_columns(self) -> dict[str, list[int]]:
        """Per node, the positions of its parameters in :meth:`parameters`' order."""
        columns, start = {}, 0
        for node in self.nodes.values():
            columns[node.id] = list(range(start, start + len(node.parameters)))
            start += len(node.parameters)
        return columns


def default_priors_path() -> Path:
    """The shipped ``default.toml``, wherever the package is installed."""
    return Path(str(resources.files("kneebayes.priors").joinpath("default.toml")))


def load_config(path: str | Path | None = None) -> PriorsConfig:
    """Read and validate a priors file (the shipped default when `path` is ``None``).

    Raises
    ------
    ConfigError
        Listing every problem found, each with its key path.
    """
    path = default_priors_path() if path is None else Path(path)
    return parse_config(read_toml(path), str(path))


def read_toml(path: str | Path, kind: str = "priors file") -> dict[str, Any]:
    """A TOML file's tables, or one :class:`ConfigError` naming the file and why it cannot
    be read (not found, unreadable, not valid TOML, nested too deeply); `kind` names what
    the file is in that error ("priors file", "vignettes file", ...)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(path), ["file not found"], kind) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), [f"cannot be read: {exc}"], kind) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), [f"is not valid TOML: {exc}"], kind) from None
    except RecursionError:
        raise ConfigError(str(path), [f"expected a {kind} of tables and values, got "
                                      "arrays or tables nested too deeply to read"],
                          kind) from None


def parse_config(data: Mapping[str, Any], path: str = "<memory>") -> PriorsConfig:
    """Validate an already parsed priors mapping (as :func:`tomllib.loads` returns it)."""
    return _Parser(path).parse(data)


# --------------------------------------------------------------------------- parsing

_SECTION_ROLE: dict[str, Role] = {
    "factors": "factor",
    "causes": "cause",
    "mechanisms": "mechanism",
    "findings": "finding",
}
# Which roles each section's noisy-OR tables may point at, under which key.
_PARENT_KEYS: dict[str, dict[str, Role]] = {
    "factors": {},
    "causes": {"factors": "factor"},
    "mechanisms": {"causes": "cause", "mechanisms": "mechanism"},
    "findings": {"causes": "cause", "mechanisms": "mechanism"},
}
_LEAK_KEY = {"factors": "prior", "causes": "base", "mechanisms": "leak", "findings": "leak"}
_TOP_KEYS = {"schema_version", "title", "description", "triage", "references", "red_flags",
             "clusters", "population", "retired", "decision", "provenance"}
# A finding with no accuracy study (its target's source names no published figure) may
# not claim more than these, unless it is the defining feature of the cause.
NO_STUDY_LR_POSITIVE_MAX, NO_STUDY_LR_NEGATIVE_MIN = 5.0, 0.2
_STATE_NAME = re.compile(r"[A-Za-z0-9_]+")


def _declared_states(raw: Mapping[str, tuple[str, dict[str, Any]]], nid: str
                     ) -> tuple[str, ...] | None:
    """The states a categorical factor declares (as written), or None for a two-state node."""
    section, spec = raw.get(nid, ("", {}))
    states = spec.get("states") if section == "factors" else None
    return tuple(states) if isinstance(states, list) and all(
        isinstance(x, str) for x in states) else None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    return {bool: "a boolean", str: "a string", dict: "a table", list: "an array"}.get(
        type(value), f"a {type(value).__name__}"
    )


@dataclass
class _Parser:
    path: str
    problems: list[str] = field(default_factory=list)

    # -- small readers; each records a problem and returns None on bad input

    def problem(self, where: str, expected: str, got: Any | None = None, hint: str = "") -> None:
        got_text = "" if got is None else f", got {_show(got)}"
        self.problems.append(f"{where}: expected {expected}{got_text}.{hint}")

    def table(self, value: Any, where: str) -> dict[str, Any] | None:
        if isinstance(value, dict):
            return value
        self.problem(where, "a table", None, f" Got {_type_name(value)} {_show(value)}.")
        return None

    def check_keys(
        self, table: Mapping[str, Any], where: str, allowed: set[str], required: set[str]
    ) -> None:
        for key in table:
            if key not in allowed:
                hint = suggest(key, allowed) or f" Allowed keys: {', '.join(sorted(allowed))}."
                self.problems.append(f"{where}.{key}: unknown key.{hint}")
        for key in sorted(required - set(table)):
            self.problems.append(f"{where}.{key}: required key is missing.")

    def string(self, value: Any, where: str) -> str | None:
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.problem(where, "a non-empty string", value)
        return None

    def probability(self, value: Any, where: str) -> Probability | None:
        def unit(x: Any, at: str) -> float | None:
            if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
                self.problem(at, "a number strictly between 0 and 1", x)
                return None
            if not 0.0 < x < 1.0:
                self.problem(
                    at, "a number strictly between 0 and 1 (no parameter may be 0 or 1)", x
                )
                return None
            return float(x)

        if isinstance(value, dict):
            keys = set(value)
            if keys == {"mean", "n"}:
                mean, n = unit(value["mean"], f"{where}.mean"), value["n"]
                if isinstance(n, bool) or not isinstance(n, int | float) or not 0 < n < math.inf:
                    self.problem(f"{where}.n", "a positive number (the Beta's strength)", n)
                    return None
                return None if mean is None else Probability(mean, float(n))
            if keys == {"low", "high"}:
                low, high = unit(value["low"], f"{where}.low"), unit(value["high"], f"{where}.high")
                if low is None or high is None:
                    return None
                if not low < high:
                    self.problem(where, "low < high", value)
                    return None
                mean = (low + high) / 2
                sd = (high - low) / (2 * _Z90)
                strength = mean * (1 - mean) / sd**2 - 1
                if strength <= 0:
                    self.problem(where, "a range narrow enough to be read as a Beta", value)
                    return None
                return Probability(mean, strength)
            self.problem(
                where, "a number, { mean = ..., n = ... } or { low = ..., high = ... }", value
            )
            return None
        p = unit(value, where)
        return None if p is None else Probability(p)

    def source(self, value: Any, where: str, references: Mapping[str, str]) -> str | None:
        text = self.string(value, where)
        if text is None:
            return None
        parts = text.split(";")
        for i, part in enumerate(parts):
            part = part.strip()
            if part.startswith(("elicited:", "fitted:")):
                if not ";".join(parts[i:]).split(":", 1)[1].strip():
                    self.problem(where, "a reason after 'elicited:'", text)
                break
            part = part.split(":", 1)[0].strip()  # 'key: the figure it rests on'
            if part not in references:
                hint = suggest(part, references)
                self.problems.append(
                    f"{where}: source {part!r} does not resolve in [references], got "
                    f"{_show(text)}. Add it to [references] or write 'elicited: <reason>'.{hint}"
                )
        return text

    # -- the file

    def parse(self, data: Mapping[str, Any]) -> PriorsConfig:
        allowed = _TOP_KEYS | set(_SECTION_ROLE)
        self.check_keys(data, "(top level)", allowed, {"schema_version", "title", "causes"})
        version = data.get("schema_version")
        if "schema_version" in data and (isinstance(version, bool) or version != SCHEMA_VERSION):
            self.problem(
                "schema_version",
                f"{SCHEMA_VERSION} (the only version this kneebayes reads)",
                version,
            )
        title = self.string(data.get("title", "untitled"), "title") or ""
        description = data.get("description", "")
        if not isinstance(description, str):
            self.problem("description", "a string", description)
            description = ""

        references = self.references(data.get("references", {}))
        raw = self.collect_sections(data)
        nodes = {nid: self.node(section, nid, spec, raw, references)
                 for nid, (section, spec) in raw.items()}
        ordered = self.topological(nodes)
        triage = self.triage(data.get("triage"), raw, references)
        red_flags = self.red_flags(data.get("red_flags", {}), raw)
        targets = tuple(target for nid, (section, spec) in raw.items()
                        if section == "findings" and "targets" in spec
                        for target in self.targets(nid, spec["targets"], raw, references))
        clusters = self.clusters(data.get("clusters", {}), raw, references)
        population = (self.population(data["population"], raw, references)
                      if "population" in data else None)
        retired = self.retired(data.get("retired", {}), raw)
        decision = (self.decision(data["decision"], raw, references)
                    if "decision" in data else None)
        stamp = self.table(data.get("provenance", {}), "provenance") or {}
        for key, value in stamp.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                self.problem(f"provenance.{key}", "a string or a number", value)
        self.unruled_red_flags(nodes, data.get("red_flags"))

        if self.problems:
            raise ConfigError(self.path, self.problems)
        return PriorsConfig(
            path=self.path,
            title=title,
            description=description.strip(),
            nodes=FrozenDict(ordered),
            triage=triage,  # type: ignore[arg-type]  # not None when there are no problems
            red_flags=red_flags,
            references=FrozenDict(references),
            targets=targets,
            clusters=clusters,
            population=population,
            retired=FrozenDict(retired),
            decision=decision,
            provenance=FrozenDict({k: str(v) for k, v in stamp.items()}),
        )

    def references(self, value: Any) -> dict[str, str]:
        table = self.table(value, "references")
        if table is None:
            return {}
        out = {}
        for key, citation in table.items():
            text = self.string(citation, f"references.{key}")
            if text is not None:
                out[key] = text
        return out

    def collect_sections(self, data: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
        seen: dict[str, tuple[str, dict[str, Any]]] = {}
        for section in _SECTION_ROLE:
            table = self.table(data.get(section, {}), section)
            for nid, spec in (table or {}).items():
                where = f"{section}.{nid}"
                if not nid.isidentifier():
                    self.problem(where, "an id of letters, digits and underscores", nid)
                if nid in seen:
                    self.problems.append(
                        f"{where}: duplicate id, already defined as {seen[nid][0]}.{nid}; "
                        "ids must be unique across factors, causes, mechanisms and findings."
                    )
                    continue
                node_spec = self.table(spec, where)
                if node_spec is not None:
                    seen[nid] = (section, node_spec)
        return seen

    def node(
        self,
        section: str,
        nid: str,
        spec: dict[str, Any],
        raw: Mapping[str, tuple[str, dict[str, Any]]],
        references: Mapping[str, str],
    ) -> Node:
        where = f"{section}.{nid}"
        if section == "factors" and "states" in spec:
            return self.categorical(nid, spec, references)
        leak_key = _LEAK_KEY[section]
        parent_keys = _PARENT_KEYS[section]
        allowed = {"label", "description", "source", "sources", leak_key, *parent_keys}
        if section == "findings":
            allowed |= {"kind", "cost", "parents", "table", "targets"}
        is_table = section == "findings" and ("table" in spec or "parents" in spec)
        required = {"label"} | ({"parents", "table"} if is_table else {leak_key})
        if section == "findings":
            required.add("kind")
        self.check_keys(spec, where, allowed, required)
        if is_table:
            for key in (leak_key, *parent_keys):
                if key in spec:
                    self.problems.append(
                        f"{where}.{key}: a finding given as a full table takes no {key!r}; "
                        "give either leak/causes/mechanisms (noisy-OR) or parents/table."
                    )

        label = self.string(spec.get("label", nid), f"{where}.label") or nid
        description = spec.get("description", "")
        if not isinstance(description, str):
            self.problem(f"{where}.description", "a string", description)
            description = ""

        values: dict[str, tuple] = {}  # parameter name -> (path, value, slot)
        if is_table:
            cpd: NoisyOr | Table = self.full_table(spec, where, raw, values)
        else:
            leak = self.probability(spec.get(leak_key, 0.5), f"{where}.{leak_key}")
            if leak is not None:
                values[leak_key] = (f"{where}.{leak_key}", leak, "leak")
            weights: dict[str, Probability] = {}
            parent_states: dict[str, tuple[str, ...]] = {}
            for key, role in parent_keys.items():
                table = self.table(spec.get(key, {}), f"{where}.{key}") or {}
                for parent, value in table.items():
                    at = f"{where}.{key}.{parent}"
                    self.parent_ref(parent, (role,), at, raw)
                    states = _declared_states(raw, parent)
                    if states is None:
                        links = {None: value}
                    elif isinstance(value, dict) and value:
                        parent_states[parent] = states
                        links = self.state_links(value, states, at)
                    else:
                        self.problem(at, f"a table of weights by state of {parent} (its states:"
                                     f" {', '.join(states)}), e.g. {{ {states[-1]} = 0.3 }}",
                                     value)
                        continue
                    for state, weight in links.items():
                        name, link_at = link(parent, state), at if state is None else (
                            f"{at}.{state}")
                        p = self.probability(weight, link_at)
                        if p is None:
                            continue
                        if leak is not None and p.mean <= leak.mean:
                            self.problem(
                                link_at,
                                f"a probability above the {leak_key} {leak.mean:g}",
                                p.mean,
                                " Noisy-OR cannot make a node less likely; give the node a "
                                "full table (parents = [...], table = {...}) instead.",
                            )
                        weights[name] = p
                        values[parent if state is None else f"{parent}.{state}"] = (
                            link_at, p, name)
            cpd = NoisyOr(leak or Probability(0.5), FrozenDict(weights),
                          FrozenDict(parent_states))

        declared = {"table"} if is_table else {leak_key}.union(
            *(spec[k] for k in parent_keys if isinstance(spec.get(k), dict))
        )
        parameters = self.sources(spec, where, values, declared, references)
        kind, cost = None, None
        if section == "findings":
            kind = spec.get("kind")
            if kind not in FINDING_KINDS:
                self.problem(f"{where}.kind", f"one of {', '.join(FINDING_KINDS)}", kind)
            cost = spec.get("cost")
            if cost is not None and (
                isinstance(cost, bool) or not isinstance(cost, int | float) or not cost > 0
            ):
                self.problem(f"{where}.cost", "a positive number", cost)
                cost = None
        return Node(
            id=nid,
            role=_SECTION_ROLE[section],
            label=label,
            description=description.strip(),
            cpd=cpd,
            parameters=parameters,
            kind=kind,
            cost=None if cost is None else float(cost),
        )

    def state_links(self, value: dict[str, Any], states: tuple[str, ...], at: str
                    ) -> dict[str, Any]:
        """The weights a node gives to states of a categorical parent; one state at least
        must be left without a weight (the reference, which activates nothing)."""
        links = {}
        for state, weight in value.items():
            if state not in states:
                self.problems.append(f"{at}.{state}: expected one of the parent's states "
                                     f"{list(states)}, got {state!r}." + suggest(state, states))
            else:
                links[state] = weight
        if len(links) == len(states):
            self.problems.append(
                f"{at}: expected weights for some of the states {list(states)}, got one for "
                "every state; leave the reference state (the one that adds no risk) out.")
        return links

    def categorical(self, nid: str, spec: dict[str, Any], references: Mapping[str, str]
                    ) -> Node:
        """A factor with named states: ``states``, ``prior`` by state (summing to one), an
        optional Dirichlet strength ``n`` and number ``bands``."""
        where = f"factors.{nid}"
        keys = {"label", "description", "source", "sources", "states", "prior", "n", "bands"}
        self.check_keys(spec, where, keys, {"label", "states", "prior"})
        raw_states = spec.get("states")
        if not (isinstance(raw_states, list) and len(raw_states) >= 2
                and all(isinstance(x, str) and _STATE_NAME.fullmatch(x) for x in raw_states)
                and len(set(raw_states)) == len(raw_states)):
            self.problem(f"{where}.states", "an array of at least two distinct state names "
                         "(letters, digits, underscores)", raw_states)
            raw_states = ["_"]
        states = tuple(raw_states)
        strength = spec.get("n")
        if strength is not None and (isinstance(strength, bool) or not isinstance(
                strength, int | float) or not 0 < strength < math.inf):
            self.problem(f"{where}.n", "a positive number (the Dirichlet's strength)", strength)
            strength = None
        prior = self.table(spec.get("prior", {}), f"{where}.prior") or {}
        probabilities, values = {}, {}
        for state, value in prior.items():
            at = f"{where}.prior.{state}"
            if state not in states:
                self.problems.append(f"{at}: expected one of the states {list(states)}, got "
                                     f"{state!r}." + suggest(state, states))
                continue
            p = self.probability(value, at)
            if p is None:
                continue
            if p.strength is not None:
                self.problem(at, f"a plain number (give the Dirichlet's strength once, as "
                             f"{where}.n)", value)
            probabilities[state] = Probability(p.mean, None if strength is None
                                               else float(strength))
            values[f"prior.{state}"] = (at, probabilities[state], f"state={state}")
        # parameters in the order of the states, whatever the order of the file
        values = {k: values[k] for x in states if (k := f"prior.{x}") in values}
        if len(probabilities) == len(states) and len(states) > 1:
            total = sum(p.mean for p in probabilities.values())
            if abs(total - 1.0) > 1e-6:
                self.problem(f"{where}.prior", "probabilities summing to 1", round(total, 9))
        elif states != ("_",) and prior:
            missing = [x for x in states if x not in prior]
            if missing:
                self.problems.append(f"{where}.prior: missing the state(s) {missing}; give a "
                                     "probability for every state.")
        bands = spec.get("bands")
        if bands is not None:
            if not (isinstance(bands, list) and len(bands) == len(states)
                    and all(not isinstance(b, bool) and isinstance(b, int | float)
                            and math.isfinite(b) for b in bands)
                    and all(a < b for a, b in pairwise(bands))):
                self.problem(f"{where}.bands", f"an increasing array of {len(states)} numbers,"
                             " each state's lower bound", bands)
                bands = None
            else:
                bands = tuple(float(b) for b in bands)
        label = self.string(spec.get("label", nid), f"{where}.label") or nid
        description = spec.get("description", "")
        if not isinstance(description, str):
            self.problem(f"{where}.description", "a string", description)
            description = ""
        parameters = self.sources(spec, where, values, {"prior"}, references)
        return Node(id=nid, role="factor", label=label, description=description.strip(),
                    cpd=Categorical(states, FrozenDict(probabilities), bands),
                    parameters=parameters)

    def parent_ref(
        self,
        parent: str,
        roles: tuple[Role, ...],
        at: str,
        raw: Mapping[str, tuple[str, dict[str, Any]]],
    ) -> None:
        section = raw.get(parent, ("", {}))[0]
        if section and _SECTION_ROLE[section] in roles:
            return
        wanted = " or ".join(roles)
        candidates = [n for n, (s, _) in raw.items() if _SECTION_ROLE[s] in roles]
        what = f"is a {_SECTION_ROLE[section]}" if section else "is not defined"
        self.problems.append(
            f"{at}: expected the id of a {wanted}, got {parent!r}, which {what}."
            + suggest(parent, candidates)
        )

    def full_table(
        self,
        spec: dict[str, Any],
        where: str,
        raw: Mapping[str, tuple[str, dict[str, Any]]],
        values: dict[str, tuple],
    ) -> Table:
        parents_raw = spec.get("parents", [])
        parents: list[str] = []
        if not isinstance(parents_raw, list) or not all(isinstance(p, str) for p in parents_raw):
            self.problem(f"{where}.parents", "an array of node ids", parents_raw)
        else:
            for parent in parents_raw:
                if parent in parents:
                    self.problems.append(f"{where}.parents: {parent!r} is listed twice.")
                    continue
                self.parent_ref(parent, ("cause", "mechanism"), f"{where}.parents", raw)
                parents.append(parent)
        table = self.table(spec.get("table", {}), f"{where}.table") or {}
        rows: dict[frozenset[str], Probability] = {}
        for label, value in table.items():
            at = f"{where}.table.{label if label.isidentifier() else repr(label)}"
            members = frozenset() if label == "none" else frozenset(label.split("+"))
            unknown = [m for m in members if m not in parents]
            if unknown or (label != "none" and len(members) != len(label.split("+"))):
                self.problems.append(
                    f"{at}: expected a row label 'none' or present parents joined by '+' "
                    f"from {parents}, got {label!r}." + suggest(unknown[0] if unknown else label,
                                                                parents)
                )
                continue
            if members in rows:
                self.problems.append(f"{at}: the same parent combination is given twice.")
                continue
            p = self.probability(value, at)
            if p is not None:
                rows[members] = p
                values[f"table.{label}"] = (at, p, members)
        for k in range(len(parents) + 1):
            for combo in combinations(parents, k):
                if frozenset(combo) not in rows:
                    self.problems.append(
                        f"{where}.table: missing the row {'+'.join(combo) or 'none'!r}; a full "
                        f"table needs all {2 ** len(parents)} combinations of present parents."
                    )
        return Table(tuple(parents), FrozenDict(rows))

    def sources(
        self,
        spec: dict[str, Any],
        where: str,
        values: Mapping[str, tuple],
        declared: set[str],
        references: Mapping[str, str],
    ) -> tuple[Parameter, ...]:
        """Attach a source to each parameter; `declared` names every parameter the node
        declares, valid or not, so that one bad number does not cascade."""
        default = None
        if "source" in spec:
            default = self.source(spec["source"], f"{where}.source", references)
        per_param = self.table(spec.get("sources", {}), f"{where}.sources") or {}
        own: dict[str, str] = {}
        for name, text in per_param.items():
            at = f"{where}.sources.{name}"
            if name not in declared:
                self.problems.append(
                    f"{at}: no parameter of that name; expected one of {sorted(declared)}."
                    + suggest(name, declared)
                )
                continue
            resolved = self.source(text, at, references)
            if resolved is not None:
                own[name] = resolved
        parameters = []
        for name, (path, value, slot) in values.items():
            key = name.split(".", 1)[0]
            text = own.get(key, default)
            # a node-level source over several numbers cannot say which one a figure supports
            grade = grade_of(text or "", references, own=key in own or len(values) == 1)
            if text is None:
                if "source" not in spec:
                    self.problems.append(
                        f"{path}: this number has no source; add {where}.source (a key of "
                        "[references], or 'elicited: <reason>') or an entry in "
                        f"{where}.sources."
                    )
                continue
            parameters.append(Parameter(path, value, text, where.split(".", 1)[1], slot, grade))
        return tuple(parameters)

    def topological(self, nodes: dict[str, Node]) -> dict[str, Node]:
        """Order nodes parents-first; report a cycle with its path."""
        order: dict[str, Node] = {}
        visiting: list[str] = []

        def visit(nid: str) -> None:
            if nid in order or nid not in nodes:
                return
            if nid in visiting:
                cycle = [*visiting[visiting.index(nid):], nid]
                self.problems.append(
                    "cycle: " + " -> ".join(cycle) + "; the network must be acyclic."
                )
                return
            visiting.append(nid)
            for parent in nodes[nid].parents:
                visit(parent)
            visiting.pop()
            order[nid] = nodes[nid]

        for nid in nodes:
            visit(nid)
        return order

    def triage(
        self, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]],
        references: Mapping[str, str],
    ) -> TriageConfig | None:
        """``[triage]``: one must-not-miss cause (``cause``, thresholds, ``source``) or several
        (``[triage.conditions.CAUSE]`` with thresholds and a ``message`` each, and one
        ``source``)."""
        if value is None:
            self.problems.append(
                "triage: required table is missing; it sets the posterior thresholds on the "
                "must-not-miss cause (cause, see_clinician_above, urgent_above, source)."
            )
            return None
        table = self.table(value, "triage")
        if table is None:
            return None
        if "conditions" in table:
            self.check_keys(table, "triage", {"conditions", "source"}, {"conditions", "source"})
            specs = self.table(table["conditions"], "triage.conditions") or {}
            if not specs:
                self.problems.append("triage.conditions: expected at least one must-not-miss "
                                     "cause, got none.")
            conditions = [self.triage_condition(cause, spec, f"triage.conditions.{cause}", raw,
                                                with_cause=False)
                          for cause, spec in specs.items()]
        else:
            keys = {"cause", "see_clinician_above", "urgent_above", "source"}
            self.check_keys(table, "triage", keys, keys)
            conditions = [self.triage_condition(table.get("cause"), table, "triage", raw,
                                                with_cause=True)]
        source = self.source(table.get("source", "elicited: -"), "triage.source", references)
        if source is None or not conditions or None in conditions:
            return None
        return TriageConfig(tuple(conditions), source)  # type: ignore[arg-type]

    def triage_condition(self, cause: Any, spec: Any, where: str,
                         raw: Mapping[str, tuple[str, dict[str, Any]]], with_cause: bool
                         ) -> TriageCondition | None:
        spec = self.table(spec, where)
        if spec is None:
            return None
        if not with_cause:
            keys = {"see_clinician_above", "urgent_above", "message"}
            self.check_keys(spec, where, keys, keys)
        at = f"{where}.cause" if with_cause else where
        if isinstance(cause, str):
            self.parent_ref(cause, ("cause",), at, raw)
        else:
            self.problem(at, "the id of a cause", cause)
        low = self.probability(spec.get("see_clinician_above", 0.5),
                               f"{where}.see_clinician_above")
        high = self.probability(spec.get("urgent_above", 0.5), f"{where}.urgent_above")
        if low and high and not low.mean < high.mean:
            self.problem(where, "see_clinician_above < urgent_above",
                         {"see_clinician_above": low.mean, "urgent_above": high.mean})
        message = (None if with_cause
                   else self.string(spec.get("message", "-"), f"{where}.message"))
        if low is None or high is None or not isinstance(cause, str):
            return None
        return TriageCondition(cause, low.mean, high.mean, message)

    def decision(self, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]],
                 references: Mapping[str, str]) -> DecisionLoss | None:
        """``[decision]``: ``action_cost`` (one number per triage level), ``missed.CAUSE``
        (the harm of that cause, present, under each triage level) and ``source``."""
        table = self.table(value, "decision")
        if table is None:
            return None
        keys = {"action_cost", "missed", "source"}
        self.check_keys(table, "decision", keys, keys)
        source = self.source(table.get("source", "elicited: -"), "decision.source", references)
        action_cost = self.loss_row(table.get("action_cost", {}), "decision.action_cost",
                                    increasing=True)
        missed = {}
        for cause, row in (self.table(table.get("missed", {}), "decision.missed") or {}).items():
            self.parent_ref(cause, ("cause",), f"decision.missed.{cause}", raw)
            missed[cause] = self.loss_row(row, f"decision.missed.{cause}", increasing=False)
        if not missed:
            self.problems.append("decision.missed: expected at least one cause, got none.")
        if source is None or action_cost is None or None in missed.values() or not missed:
            return None
        return DecisionLoss(FrozenDict(action_cost),
                            FrozenDict({c: FrozenDict(r) for c, r in missed.items()}), source)

    def loss_row(self, value: Any, where: str, increasing: bool) -> dict[str, float] | None:
        """One number >= 0 per triage level; action costs rise with the level, the harm of
        a missed condition falls (a more urgent assessment never harms it more)."""
        row = self.table(value, where)
        if row is None:
            return None
        self.check_keys(row, where, set(TRIAGE_LEVELS), set(TRIAGE_LEVELS))
        numbers = {}
        for level in TRIAGE_LEVELS:
            x = row.get(level)
            if isinstance(x, bool) or not isinstance(x, int | float) or not x >= 0:
                self.problem(f"{where}.{level}", "a number >= 0", x)
                return None
            numbers[level] = float(x)
        values = [numbers[level] for level in TRIAGE_LEVELS]
        if values != sorted(values, reverse=not increasing):
            order = "rises" if increasing else "falls"
            self.problem(where, f"numbers that {order} from 'none' to 'urgent'", row)
            return None
        return numbers

    def retired(self, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]]
                ) -> dict[str, RetiredId]:
        """``[retired.OLD_ID]``: ids the file no longer has, with their replacements."""
        out = {}
        for rid, spec in (self.table(value, "retired") or {}).items():
            where = f"retired.{rid}"
            spec = self.table(spec, where)
            if spec is None:
                continue
            self.check_keys(spec, where, {"replaced_by", "reason"}, {"replaced_by", "reason"})
            if rid in raw:
                self.problems.append(f"{where}: expected an id this file no longer has, got "
                                     f"{rid!r}, which is still a node.")
            replaced_by = spec.get("replaced_by")
            if not isinstance(replaced_by, list) or not all(
                    isinstance(x, str) for x in replaced_by):
                self.problem(f"{where}.replaced_by", "an array of node ids (may be empty)",
                             replaced_by)
                continue
            for x in replaced_by:
                if x not in raw:
                    self.problems.append(f"{where}.replaced_by: expected the id of a node, got "
                                         f"{x!r}." + suggest(x, raw))
            reason = self.string(spec.get("reason", "-"), f"{where}.reason") or ""
            out[rid] = RetiredId(rid, tuple(replaced_by), reason)
        return out

    def lr_range(self, value: Any, where: str) -> tuple[float, float] | None:
        """A likelihood-ratio range ``[low, high]``: positive numbers, low <= high."""
        if (isinstance(value, list) and len(value) == 2
                and all(not isinstance(x, bool) and isinstance(x, int | float)
                        and 0 < x < math.inf for x in value) and value[0] <= value[1]):
            return float(value[0]), float(value[1])
        self.problem(where, "[low, high]: two positive finite numbers, low <= high", value)
        return None

    def targets(self, nid: str, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]],
                references: Mapping[str, str]) -> list[LikelihoodTarget]:
        """``findings.X.targets``: per cause, the LR+ and LR- the finding should imply."""
        where = f"findings.{nid}.targets"
        out = []
        for cause, spec in (self.table(value, where) or {}).items():
            at = f"{where}.{cause}"
            self.parent_ref(cause, ("cause",), at, raw)
            spec = self.table(spec, at)
            if spec is None:
                continue
            self.check_keys(spec, at, {"lr_positive", "lr_negative", "source", "defining"},
                            {"source"})
            if "lr_positive" not in spec and "lr_negative" not in spec:
                self.problems.append(f"{at}: expected lr_positive and/or lr_negative, got "
                                     "neither.")
            positive = (self.lr_range(spec["lr_positive"], f"{at}.lr_positive")
                        if "lr_positive" in spec else None)
            negative = (self.lr_range(spec["lr_negative"], f"{at}.lr_negative")
                        if "lr_negative" in spec else None)
            source = self.source(spec.get("source", "elicited: -"), f"{at}.source", references)
            defining = spec.get("defining", False)
            if not isinstance(defining, bool):
                self.problem(f"{at}.defining", "true or false", defining)
                defining = False
            if source is None:
                continue
            grade = grade_of(source, references)
            if defining and "defining" not in source.lower():
                self.problems.append(f"{at}.source: expected a source that says why this is "
                                     "the defining feature of the cause (defining = true), "
                                     f"got {_show(source)}.")
            if grade != "cited" and not defining:  # no accuracy study behind it
                if positive and positive[1] > NO_STUDY_LR_POSITIVE_MAX:
                    self.problem(f"{at}.lr_positive", "a range up to at most "
                                 f"{NO_STUDY_LR_POSITIVE_MAX:g}: a finding whose source names "
                                 "no published accuracy figure ('key: figure') may not act as "
                                 "near-diagnostic", list(positive))
                if negative and negative[0] < NO_STUDY_LR_NEGATIVE_MIN:
                    self.problem(f"{at}.lr_negative", "a range down to at least "
                                 f"{NO_STUDY_LR_NEGATIVE_MIN:g}: a finding whose source names "
                                 "no published accuracy figure may not rule out",
                                 list(negative))
            out.append(LikelihoodTarget(nid, cause, positive, negative, source, grade,
                                        defining))
        return out

    def clusters(self, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]],
                 references: Mapping[str, str]) -> tuple[ClusterTarget, ...]:
        """``[clusters.NAME]``: findings that measure one thing, and their joint LR+."""
        out = []
        for cid, spec in (self.table(value, "clusters") or {}).items():
            at = f"clusters.{cid}"
            spec = self.table(spec, at)
            if spec is None:
                continue
            keys = {"findings", "cause", "lr_positive", "source"}
            self.check_keys(spec, at, keys, keys)
            findings = spec.get("findings")
            if not (isinstance(findings, list) and len(findings) >= 2
                    and all(isinstance(x, str) for x in findings)):
                self.problem(f"{at}.findings", "an array of at least two finding ids",
                             findings)
                continue
            for x in findings:
                self.parent_ref(x, ("finding",), f"{at}.findings", raw)
            cause = spec.get("cause")
            if isinstance(cause, str):
                self.parent_ref(cause, ("cause",), f"{at}.cause", raw)
            positive = self.lr_range(spec.get("lr_positive"), f"{at}.lr_positive")
            source = self.source(spec.get("source", "elicited: -"), f"{at}.source", references)
            if isinstance(cause, str) and positive and source:
                out.append(ClusterTarget(cid, tuple(findings), cause, positive, source))
        return tuple(out)

    def population(self, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]],
                   references: Mapping[str, str]) -> Population | None:
        """``[population]``: who the file describes, and the shares it should show."""
        table = self.table(value, "population")
        if table is None:
            return None
        keys = {"description", "setting", "entry", "inference", "source", "shares"}
        self.check_keys(table, "population", keys, keys)
        texts = {k: self.string(table.get(k, "-"), f"population.{k}") or "" for k in
                 ("description", "setting", "entry")}
        inference = table.get("inference")
        if inference != "conditioned":
            self.problem("population.inference", "'conditioned' (the numbers are conditional "
                         "on the entry criterion; no evidence is added to a case)", inference)
        source = self.source(table.get("source", "elicited: -"), "population.source",
                             references) or ""
        shares = []
        for name, spec in (self.table(table.get("shares", {}), "population.shares")
                           or {}).items():
            at = f"population.shares.{name}"
            spec = self.table(spec, at)
            if spec is None:
                continue
            self.check_keys(spec, at, {"low", "high", "findings", "source"},
                            {"low", "high", "source"})
            low, high = spec.get("low"), spec.get("high")
            if not all(not isinstance(x, bool) and isinstance(x, int | float) for x in
                       (low, high)) or not 0 <= low <= high <= 1:
                self.problem(at, "low and high with 0 <= low <= high <= 1",
                             {"low": low, "high": high})
                continue
            findings = spec.get("findings")
            if findings is not None:
                if not (isinstance(findings, list) and findings
                        and all(isinstance(x, str) for x in findings)):
                    self.problem(f"{at}.findings", "an array of finding ids", findings)
                    continue
                for x in findings:
                    self.parent_ref(x, ("finding",), f"{at}.findings", raw)
                what = "any_finding"
            elif name == "none":
                what = "none"
            else:
                self.parent_ref(name, ("cause",), at, raw)
                what = "cause"
            share_source = self.source(spec["source"], f"{at}.source", references)
            shares.append(PopulationShare(name, what, tuple(findings or ()), float(low),
                                          float(high), share_source or ""))
        return Population(texts["description"], texts["setting"], texts["entry"],
                          str(inference), source, tuple(shares))

    def unruled_red_flags(self, nodes: Mapping[str, Node | None], red_flags: Any) -> None:
        """A finding of kind red_flag must fire a rule: otherwise it would triage 'none'."""
        ruled: set[str] = set()
        for rid, spec in (red_flags if isinstance(red_flags, Mapping) else {}).items():
            when = spec.get("when", [rid]) if isinstance(spec, Mapping) else []
            ruled |= {w for w in when if isinstance(w, str)} if isinstance(when, list) else set()
        for nid, node in nodes.items():
            if node is not None and node.kind == "red_flag" and nid not in ruled:
                self.problems.append(
                    f"findings.{nid}.kind: expected a red flag named by a rule in [red_flags], "
                    f"got kind 'red_flag' with no rule; add [red_flags.{nid}] with its level "
                    "and message, or give it another kind.")

    def red_flags(
        self, value: Any, raw: Mapping[str, tuple[str, dict[str, Any]]]
    ) -> tuple[RedFlagRule, ...]:
        table = self.table(value, "red_flags") or {}
        observable = [n for n, (s, _) in raw.items() if s in ("findings", "factors")]
        rules = []
        for rid, spec in table.items():
            where = f"red_flags.{rid}"
            spec = self.table(spec, where)
            if spec is None:
                continue
            self.check_keys(spec, where, {"level", "message", "when", "names"},
                            {"level", "message"})
            level = spec.get("level")
            names = spec.get("names", [])
            if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
                self.problem(f"{where}.names", "an array of cause ids", names)
                names = []
            for x in names:
                self.parent_ref(x, ("cause",), f"{where}.names", raw)
            if level not in TRIAGE_LEVELS[1:]:
                self.problem(f"{where}.level", "'see_clinician' or 'urgent'", level)
            message = self.string(spec.get("message", "-"), f"{where}.message")
            when = spec.get("when", [rid])
            if not isinstance(when, list) or not when or not all(isinstance(w, str) for w in when):
                self.problem(f"{where}.when", "a non-empty array of finding or factor ids", when)
                continue
            for w in when:
                factor, _, state = w.partition("=")
                states = _declared_states(raw, factor)
                if state and states is not None:  # 'age=70_plus': a factor in that state
                    if state not in states:
                        self.problems.append(
                            f"{where}.when: expected a state of {factor} ({', '.join(states)}), "
                            f"got {w!r}." + suggest(state, states))
                elif states is not None:
                    self.problems.append(
                        f"{where}.when: expected findings, two-state factors or 'factor=state', "
                        f"got {w!r}, a factor with named states; name the state, e.g. "
                        f"'{w}={states[-1]}'.")
                elif w not in observable:
                    at = f"{where}.when" if "when" in spec else where
                    self.problems.append(
                        f"{at}: expected the id of a finding or factor, got {w!r}."
                        + (suggest(w, observable) or " Give 'when = [...]' for a combined rule.")
                    )
            if level in TRIAGE_LEVELS and message:
                rules.append(RedFlagRule(rid, level, message, tuple(when), tuple(names)))
        return tuple(rules)
