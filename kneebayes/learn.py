"""Learning the parameters from case data, by expectation-maximisation on the enumerated
latent states (our own EM: pgmpy's DiscreteEM drops partly missing rows and takes seconds per
iteration with this many latent causes).

The fitted model keeps the priors file's form, so it still reads as a priors file: noisy-OR
nodes stay noisy-OR. Their parameters are fitted through the standard hidden-activation view
of a noisy-OR (each present parent independently "activates" the child with its link
probability, the leak with its own), one generalised-EM step per iteration; tables and priors
in closed form. The priors file's Beta strengths act as pseudo-counts (``prior_weight`` scales
them; 0 is maximum likelihood), and the quantity that never decreases is the log posterior
(the log-likelihood when ``prior_weight = 0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .checks import check_count
from .config import Categorical, NoisyOr, Parameter, PriorsConfig, parse_config
from .engine import DEFAULT_MEMORY_BUDGET
from .errors import EvidenceError, KneebayesError, shorten, suggest
from .evidence import read_columns, retired_problem
from .kinds import kind_of, log_distribution, node_log_tables
from .tables import as_columns, consistent_states, parent_index, parent_states
from .uncertainty import DEFAULT_STRENGTH
from .writer import config_to_data

if TYPE_CHECKING:
    from .provenance import Provenance

__all__ = ["FitResult", "check_fit_arguments", "dense_e_step", "fit", "perturb"]

_CHUNK = 4096
# Up to these, enumerating the latent states is faster than the sparse engine (2**14 states
# in chunks of 4,096 cases: 512 MiB at most); beyond, the sparse engine's E-step, which gives
# the same expected counts (tests/test_learning.py checks them against each other).
_DENSE_LATENT, _DENSE_FACTOR_STATES = 14, 2**12


@dataclass(frozen=True)
class FitResult:
    """The fitted config and how the fit went.

    Attributes
    ----------
    config : PriorsConfig
        Every fitted number sourced ``fitted: N cases ...``.
    objective : list of float
        Log posterior (log-likelihood + log prior pseudo-counts) after each iteration.
    log_likelihood : list of float
        Log-likelihood of the data after each iteration.
    iterations : int
    converged : bool
    strengths : str
        The rule that gave every fitted number its Beta strength, in words (see
        :mod:`kneebayes.fitted_strength`).
    """

    config: PriorsConfig
    objective: list[float]
    log_likelihood: list[float]
    iterations: int
    converged: bool
    strengths: str


def _data_arrays(config: PriorsConfig, cases: pd.DataFrame) -> dict[str, np.ndarray]:
    """Columns as 1/0/NaN arrays, for any node (causes and mechanisms are usually missing)."""
    allowed = set(config.nodes)
    problems = [retired_problem(config, str(c), f"cases: column {c!r}")
                or f"cases: column {c!r} is not a node of this model.{suggest(str(c), allowed)}"
                " Drop it (kneebayes fit --ignore-extra drops every such column)."
                for c in cases.columns if c not in allowed]
    arrays = read_columns(cases, [c for c in cases.columns if c in allowed], "cases",
                          problems, config)
    if problems:
        raise EvidenceError("\n".join(problems))
    return arrays


class _Values:
    """The current parameter values, and where each node's sit."""

    def __init__(self, config: PriorsConfig, values: np.ndarray):
        self.config = config
        self.values = values
        self.columns = config.parameter_columns


class _Model(_Values):
    """The parameter values and the enumeration of the latent states they are evaluated on:
    the dense E-step, faster than the sparse engine's while the latent states are few."""

    def __init__(self, config: PriorsConfig, values: np.ndarray):
        super().__init__(config, values)
        self.n_c, self.n_m = len(config.causes), len(config.mechanisms)
        self.latent = config.causes + config.mechanisms
        self.latent_bits = parent_states(self.n_c + self.n_m)
        self.factor_states = parent_states(config.factor_cards)  # mixed radix
        pos = {nid: i for i, nid in enumerate(self.latent)}
        fpos = {nid: i for i, nid in enumerate(config.factors)}
        self.index = {}  # node -> its parent configuration for every enumerated state
        for node in config.nodes.values():
            if node.role == "cause":
                states, where = self.factor_states, [fpos[p] for p in node.parents]
            else:
                states, where = self.latent_bits, [pos[p] for p in node.parents]
            self.index[node.id] = parent_index(states, where, node.parent_cards)

    def logs(self, nid: str) -> tuple[np.ndarray, np.ndarray]:
        present, absent = node_log_tables(self.config.nodes[nid],
                                          self.values[None, self.columns[nid]])
        return present[0], absent[0]


def _distinct_cases(data: dict[str, np.ndarray], n: int
                    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The distinct cases of `data` (a missing cell a value of its own) and how many times
    each occurs: the dense E-step's sums are linear in the cases, so each distinct case is
    solved once (a clinic's cases repeat: 20,000 rows of four findings hold 81 distinct)."""
    if not data:
        return {}, np.array([float(n)])
    names = list(data)
    # states are 0, 1, ... : -1 stands for a missing cell while the rows are compared
    table = np.nan_to_num(np.column_stack([data[k] for k in names]), nan=-1.0)
    rows, counts = np.unique(table, axis=0, return_counts=True)
    rows[rows == -1.0] = np.nan
    return {k: rows[:, i] for i, k in enumerate(names)}, counts.astype(float)


def _e_step(m: _Model, data: dict[str, np.ndarray], n: int,
            weights: np.ndarray | None = None) -> tuple[dict, float]:
    """Posterior expected family statistics, and the log-likelihood, of `n` cases, each
    counted `weights` times (once when not given)."""
    config = m.config
    n_s, n_l = 2**m.n_c, 2 ** (m.n_c + m.n_m)
    # log P(c | f) for every factor state f and cause state c
    cause_bits = m.latent_bits[:: 2**m.n_m, : m.n_c]
    log_w = np.zeros((len(m.factor_states), n_s))
    for i, c in enumerate(config.causes):
        present, absent = m.logs(c)
        idx = m.index[c]
        log_w += np.where(cause_bits[None, :, i] == 1, present[idx][:, None],
                          absent[idx][:, None])
    w = np.exp(log_w)
    factor_prior = np.zeros(len(m.factor_states))
    for j, f in enumerate(config.factors):
        log_p = log_distribution(config.nodes[f], m.values[None, m.columns[f]])[0, 0]
        factor_prior += log_p[m.factor_states[:, j]]
    log_mech = np.zeros(n_l)
    for k, mech in enumerate(config.mechanisms):
        present, absent = m.logs(mech)
        idx = m.index[mech]
        log_mech += np.where(m.latent_bits[:, m.n_c + k] == 1, present[idx], absent[idx])
    # findings' log tables over the latent states, stacked for one matrix product
    like = np.empty((2 * len(config.findings), n_l))
    for k, x in enumerate(config.findings):
        present, absent = m.logs(x)
        like[2 * k], like[2 * k + 1] = present[m.index[x]], absent[m.index[x]]
    observed = as_columns([data.get(x, np.full(n, np.nan)) for x in config.findings], n)

    stats = {"G": np.zeros((len(m.factor_states), n_s)), "H": np.zeros(n_l),
             "K1": np.zeros((len(config.findings), n_l)),
             "K0": np.zeros((len(config.findings), n_l)),
             "Km": np.zeros((len(config.findings), n_l))}
    loglik = 0.0
    for lo in range(0, n, _CHUNK):
        part = slice(lo, min(lo + _CHUNK, n))
        rows = part.stop - part.start
        # factor evidence -> P(f | e_F) (unnormalised: includes P(e_F))
        log_pf = np.tile(factor_prior, (rows, 1))
        factor_obs = as_columns([data.get(f, np.full(n, np.nan))[part]
                                 for f in config.factors], rows)
        log_pf[~consistent_states(factor_obs, m.factor_states, config.factor_cards)] = -np.inf
        pf = np.exp(log_pf)  # rows x factor states
        prior_c = pf @ w  # rows x cause states: P(c, e_F)
        log_joint = np.repeat(np.log(prior_c), 2**m.n_m, axis=1) + log_mech
        latent_obs = as_columns([data.get(c, np.full(n, np.nan))[part] for c in m.latent],
                                rows)
        log_joint[~consistent_states(latent_obs, m.latent_bits)] = -np.inf  # observed latents
        obs = observed[part]
        evidence = np.zeros((rows, 2 * obs.shape[1]))
        evidence[:, 0::2], evidence[:, 1::2] = obs == 1, obs == 0
        log_joint += evidence @ like
        top = log_joint.max(axis=1, keepdims=True)
        q = np.exp(log_joint - top)
        total = q.sum(axis=1, keepdims=True)
        q /= total
        weight = np.ones(rows) if weights is None else weights[part]
        loglik += float((weight * (np.log(total[:, 0]) + top[:, 0])).sum())
        q *= weight[:, None]  # from here on, the sums over cases
        stats["H"] += q.sum(axis=0)
        q_c = q.reshape(rows, n_s, -1).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(prior_c > 0, q_c / prior_c, 0.0)
        stats["G"] += w * (pf.T @ ratio)
        stats["K1"] += (obs == 1).T.astype(float) @ q
        stats["K0"] += (obs == 0).T.astype(float) @ q
        stats["Km"] += np.isnan(obs).T.astype(float) @ q
    return stats, loglik


def _family_counts(m: _Model, stats: dict, nid: str) -> tuple[np.ndarray, np.ndarray]:
    """Expected counts per parent configuration: cases (N) and cases with the node present
    (N1); for a categorical factor, the cases and the expected count in each state."""
    config = m.config
    node = config.nodes[nid]
    k = int(np.prod(node.parent_cards))  # parent configurations
    idx = m.index[nid]
    if node.role == "factor":
        j = config.factors.index(nid)
        per_state = np.bincount(m.factor_states[:, j], weights=stats["G"].sum(axis=1),
                                minlength=len(node.states))
        if isinstance(node.cpd, Categorical):
            return np.array([per_state.sum()]), per_state
        return np.array([per_state.sum()]), per_state[1:]
    if node.role == "cause":
        i = config.causes.index(nid)
        cause_bits = m.latent_bits[:: 2**m.n_m, i]
        per_f = stats["G"].sum(axis=1)
        per_f1 = stats["G"] @ cause_bits
        return (np.bincount(idx, weights=per_f, minlength=k),
                np.bincount(idx, weights=per_f1, minlength=k))
    if node.role == "mechanism":
        j = m.n_c + config.mechanisms.index(nid)
        h = stats["H"]
        return (np.bincount(idx, weights=h, minlength=k),
                np.bincount(idx, weights=h * m.latent_bits[:, j], minlength=k))
    present = np.exp(m.logs(nid)[0])[idx]
    x = config.findings.index(nid)
    k1, k0, km = stats["K1"][x], stats["K0"][x], stats["Km"][x]
    return (np.bincount(idx, weights=k1 + k0 + km, minlength=k),
            np.bincount(idx, weights=k1 + km * present, minlength=k))


def _pseudo_counts(config: PriorsConfig, prior_weight: float) -> tuple[np.ndarray, np.ndarray]:
    """The prior's pseudo-counts per parameter, each kind of table on its fitting scale."""
    pairs = [kind_of(node).pseudo_counts(node, prior_weight, DEFAULT_STRENGTH)
             for node in config.nodes.values()]
    return (np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs]))


def _m_step(m: _Values, family: dict[str, tuple[np.ndarray, np.ndarray]], alpha: np.ndarray,
            beta: np.ndarray) -> np.ndarray:
    """New parameter values from each node's expected family counts (``family[node]``:
    cases per parent configuration, and those with the node present), each node by its
    kind's fitting step."""
    values = m.values.copy()
    for node in m.config.nodes.values():
        cols = m.columns[node.id]
        counts, present = family[node.id]
        values[cols] = kind_of(node).m_step(node, values[cols], np.asarray(counts),
                                            np.asarray(present), alpha[cols], beta[cols])
    return values


def _log_prior(m: _Values, alpha: np.ndarray, beta: np.ndarray) -> float:
    total = 0.0
    for node in m.config.nodes.values():
        cols = m.columns[node.id]
        values = np.clip(kind_of(node).fitting_scale(node, m.values[cols]), 1e-300, 1 - 1e-16)
        total += float((alpha[cols] * np.log(values) + beta[cols] * np.log1p(-values)).sum())
    return total


def _enumerable(config: PriorsConfig) -> bool:
    """Whether the dense E-step (every latent state enumerated) is the faster one."""
    return len(config.causes) + len(config.mechanisms) <= _DENSE_LATENT and (
        np.prod(config.factor_cards, dtype=float) <= _DENSE_FACTOR_STATES)


def dense_e_step(config: PriorsConfig) -> tuple[bool, str]:
    """Whether :func:`fit`'s E-step enumerates the latent states (all cases at once), and
    why, in words: said before a fit starts (no engine is built to tell)."""
    enumerable = _enumerable(config)
    return enumerable, (
        f"{len(config.causes) + len(config.mechanisms)} causes and mechanisms (dense up to "
        f"{_DENSE_LATENT}) and {math.prod(config.factor_cards):,} joint factor states (up to "
        f"{_DENSE_FACTOR_STATES:,})" + ("" if enumerable else
        "; the sparse E-step solves each distinct case apart, about 10 ms a case per EM "
        "iteration on the shipped 17-cause model"))


def _dense_e_step(m: _Model, data: dict[str, np.ndarray], n: int,
                  weights: np.ndarray | None = None
                  ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    stats, loglik = _e_step(m, data, n, weights)
    return {nid: _family_counts(m, stats, nid) for nid in m.config.nodes}, loglik


def _dense_e_step_on_distinct(data: dict[str, np.ndarray], n: int):
    """The dense E-step over the distinct cases of `data`, each weighted by its count."""
    distinct, counts = _distinct_cases(data, n)

    def e_step(m: _Model, _data, _n) -> tuple[dict, float]:
        return _dense_e_step(m, distinct, len(counts), counts)

    return e_step


def _sparse_e_step(config: PriorsConfig, data: dict[str, np.ndarray], n: int,
                   memory_budget: int):
    """The E-step on the sparse engine, for models with too many latent states to list."""
    from .sparse import SparseEngine

    engine = SparseEngine(config, memory_budget)
    findings = as_columns([data.get(x, np.full(n, np.nan)) for x in config.findings], n)
    observed = as_columns([data.get(v, np.full(n, np.nan)) for v in engine.variables], n)

    def e_step(m: _Values, _data, _n) -> tuple[dict, float]:
        return engine.expected_statistics(findings, observed, m.values)

    return e_step


def check_fit_arguments(prior_weight: float, max_iter: int, intervals: str | None = None
                        ) -> int:
    """Refuse a prior weight, an iteration count or an interval rule :func:`fit` cannot use
    (before any work); return the count."""
    from .fitted_strength import INTERVAL_RULES

    max_iter = check_count(max_iter, "max_iter")
    if intervals is not None and intervals not in INTERVAL_RULES:
        raise KneebayesError(f"intervals: expected one of {', '.join(INTERVAL_RULES)}, got "
                             f"{shorten(intervals)}.")
    if isinstance(prior_weight, bool) or not (
            isinstance(prior_weight, (int, float)) and 0 <= prior_weight < float("inf")):
        raise KneebayesError(f"prior_weight: expected a finite number of at least 0, got "
                             f"{shorten(prior_weight)}.")
    return max_iter


def fit(config: PriorsConfig, cases: pd.DataFrame, prior_weight: float = 1.0,
        max_iter: int = 200, tol: float = 1e-7, start: PriorsConfig | None = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET, method: str = "compiled",
        data_file: str | Path | None = None, intervals: str | None = None) -> FitResult:
    """See :meth:`kneebayes.DiagnosticModel.fit`."""
    max_iter = check_fit_arguments(prior_weight, max_iter, intervals)
    data = _data_arrays(config, cases)
    n = len(cases)
    if n == 0:
        raise EvidenceError("cases: no rows to fit.")
    origin = start or config
    values = np.array([p.value.mean for p in origin.parameters()])
    if method not in ("compiled", "dense", "sparse"):
        raise KneebayesError(f"method: expected 'compiled', 'dense' or 'sparse' for fit, got "
                             f"{method!r}.")
    dense = method == "dense" or (method == "compiled" and _enumerable(config))
    e_step = (_dense_e_step_on_distinct(data, n) if dense
              else _sparse_e_step(config, data, n, memory_budget))
    model = _Model(config, values) if dense else _Values(config, values)
    alpha, beta = _pseudo_counts(config, prior_weight)
    objective, loglik, converged = [], [], False
    for _ in range(max_iter):
        stats, ll = e_step(model, data, n)
        loglik.append(ll)
        objective.append(ll + _log_prior(model, alpha, beta))
        if len(objective) > 1 and abs(objective[-1] - objective[-2]) <= tol * abs(objective[-1]):
            converged = True
            break
        model.values = _m_step(model, stats, alpha, beta)
    from .provenance import provenance

    stamp = provenance(config, data_file)  # hashes the data file: once
    iterations = len(objective)
    values = model.values.copy()

    def family_at(at: np.ndarray) -> dict:
        model.values = at
        return e_step(model, data, n)[0]

    def informed() -> np.ndarray:  # one engine pass over the cases: only when needed
        from .fitted_strength import informed_cases

        provisional = _with_values(config, values, n, 0, prior_weight)
        # the last E-step's counts are one M-step behind when the fit did not converge
        family = stats if converged else family_at(values)
        return informed_cases(provisional, family, data, n, memory_budget)

    laplace = intervals == "observed-information" or (intervals is None and dense)
    strengths, rule = _fitted_strengths(config, values, prior_weight, alpha, beta, informed,
                                        family_at if laplace else None, intervals)
    if not converged:
        rule += (f"; the fit stopped at {max_iter} iterations before converging"
                 + (", and the curvature is read where it stopped"
                    if rule.startswith("observed") else ""))
    fitted = _with_values(config, values, n, iterations, prior_weight, stamp, strengths, rule)
    return FitResult(fitted, objective, loglik, iterations, converged, rule)


def _fitted_strengths(config: PriorsConfig, values: np.ndarray, prior_weight: float,
                      alpha: np.ndarray, beta: np.ndarray, informed, family_at,
                      intervals: str | None) -> tuple[np.ndarray, str]:
    """Every fitted number's Beta strength, and the rule that gave it, in words (see
    :mod:`kneebayes.fitted_strength`): from the observed information when `family_at`
    (the E-step at given values) is given, the numbers it leaves out and any fallback from
    `informed()` (the cases that informed each number)."""
    from . import fitted_strength as rules

    prior = np.array([(p.value.strength or DEFAULT_STRENGTH) * prior_weight
                      for p in config.parameters()])

    def counted() -> np.ndarray:
        return prior + np.maximum(informed(), rules.MIN_STRENGTH)

    if family_at is None:
        return counted(), ("informed cases" if intervals == "informed-cases" else
                           "informed cases (the sparse E-step: the observed information "
                           "would take two E-steps per fitted number; ask for it with "
                           "intervals='observed-information')")
    held = rules.held_fixed(config, values)
    information = (rules.observed_information(config, values, family_at, alpha, beta, held)
                   if not held.all() else np.empty((0, 0)))
    free = np.flatnonzero(~held)
    weak = rules.uninformed(information)
    held[free[weak]] = True
    information = information[np.ix_(~weak, ~weak)]
    try:
        if held.all():
            raise rules.NotPositiveDefinite("no number is left to read a curvature from")
        laplace = rules.strengths_from_information(config, values, information, held)
    except rules.NotPositiveDefinite as why:
        return counted(), (f"informed cases, because the observed information does not "
                           f"hold ({why}: numbers that nothing informs together, or a fit "
                           "not converged)")
    categorical = sum(len(config.parameter_columns[f]) for f in config.factors
                      if isinstance(config.nodes[f].cpd, Categorical))
    others = int(held.sum()) - categorical
    return np.where(held, counted(), laplace), (
        f"observed information (Laplace approximation, {2 * len(free)} E-steps)"
        + (f"; informed cases for {others} number(s) fitted to 0 or 1 or with no curvature "
           "of their own" if others else "")
        + ("; the categorical factors' states: prior plus the cases observing them"
           if categorical else ""))


def _with_values(config: PriorsConfig, values: np.ndarray, n: int, iterations: int,
                 prior_weight: float, stamp: Provenance | None = None,
                 strengths: np.ndarray | None = None, rule: str | None = None
                 ) -> PriorsConfig:
    """A new config carrying `values`, each sourced as fitted (on what: `stamp`, the fit's
    provenance, computed here with no data file when not given), titled as fitted, with a
    ``[provenance]`` table; each number's Beta strength from `strengths` (given by `rule`,
    in words), or the prior's plus N when not given."""
    from .provenance import provenance

    stamp = provenance(config) if stamp is None else stamp
    data = config_to_data(config)
    on = (f"{n} cases of {stamp.data_file} (sha256 {stamp.data_sha256[:16]})"
          if stamp.data_file is not None else f"{n} cases")
    data["title"] = f"{config.title} (fitted to {on})"
    data["provenance"] = {
        "fitted_to": stamp.data_file or "a DataFrame (no file)", "cases": n,
        **({"data_sha256": stamp.data_sha256} if stamp.data_file is not None else {}),
        "started_from": config.title, "started_from_sha256": stamp.priors_sha256,
        "method": f"EM, {iterations} iterations, prior weight {prior_weight:g}",
        **({"strengths": rule} if rule is not None else {}),
        "kneebayes_version": stamp.kneebayes_version, "fitted_at": stamp.generated}
    note = f"fitted: {on} (EM, {iterations} iterations, prior weight {prior_weight:g}); prior: "
    parameters = list(config.parameters())
    if strengths is None:
        strengths = np.array([(p.value.strength or DEFAULT_STRENGTH) * prior_weight + n
                              for p in parameters])
    for parameter, value, strength in zip(parameters, values, strengths, strict=True):
        key = _set_value(data, parameter, {"mean": float(value), "n": float(strength)},
                         config)
        node = data[parameter.path.split(".", 1)[0]][parameter.node]
        node.setdefault("sources", {})[key] = note + parameter.source
    return parse_config(data, f"{config.path} (fitted)")


def perturb(config: PriorsConfig, scale: float = 0.5, seed: int | None = 0) -> PriorsConfig:
    """A copy of `config` with every parameter moved on the logit scale by N(0, scale): a
    starting point for parameter-recovery experiments."""
    rng = np.random.default_rng(seed)
    data = config_to_data(config)
    leaks = {}
    for parameter in config.parameters():
        logit = math.log(parameter.value.mean / (1 - parameter.value.mean)) + rng.normal(0, scale)
        value = min(max(1 / (1 + math.exp(-logit)), 1e-4), 1 - 1e-4)
        nid = parameter.node
        if isinstance(config.nodes[nid].cpd, NoisyOr):
            if parameter.slot == "leak":  # the leak comes first in every node
                leaks[nid] = value
            else:  # stay above the (already moved) leak
                value = max(value, leaks[nid] + (1 - leaks[nid]) * 0.01)
        _set_value(data, parameter, value, config)
    for nid in config.factors:  # a categorical factor's moved probabilities sum to one again
        prior = data["factors"][nid]["prior"]
        if "states" in data["factors"][nid]:
            total = sum(prior.values())
            data["factors"][nid]["prior"] = {s: v / total for s, v in prior.items()}
    return parse_config(data, f"{config.path} (perturbed)")


def _set_value(data: dict, parameter: Parameter, value, config: PriorsConfig) -> str:
    """Put `value` where `parameter` sits in a priors mapping; return its ``sources`` key."""
    spec = data[parameter.path.split(".", 1)[0]][parameter.node]
    return kind_of(config.nodes[parameter.node]).place(spec, parameter.slot, value)
