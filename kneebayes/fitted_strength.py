"""How sure a fit is of each number it fitted: the Beta strength each fitted number carries.

A fitted number keeps the priors file's form, ``{ mean, n }``: its mean is the fit's value,
its strength ``n`` says how much the prior and the data, together, pin it down. Two rules
give the strength; :func:`kneebayes.learn.fit` picks one (``intervals``).

``"observed-information"``
    The Laplace approximation to the fit's posterior. The observed information (minus the
    Hessian of the log posterior at the fitted values) is found as Jamshidian & Jennrich
    (2000, JRSS B 62:257) propose for EM: by central differences of the gradient, each
    gradient from one E-step by Fisher's identity (the gradient of the log posterior equals
    that of the expected complete-data log posterior under the E-step at the same values),
    in closed form per kind of table.
    All on the fitting scale (a noisy-OR link as its activation probability, so that the
    leak and the links vary independently). Its inverse, carried to the file's numbers,
    gives each number's variance, and the Beta with the fitted mean and that variance has
    strength ``m (1 - m) / var - 1``. The off-diagonal terms carry what the data cannot
    tell apart (which latent parent explains a finding), which no per-number count can.
    Two E-steps per fitted number. Numbers fitted to a bound (0 or 1: maximum likelihood
    puts a finding never seen there) have no curvature to read and take the informed
    cases, and so does a number with no curvature of its own once the others are known
    (:func:`uninformed`); the whole fit does, and :class:`NotPositiveDefinite` says why,
    when what is left is still not positive definite.
``"informed-cases"``
    The prior's strength plus the expected number of cases that informed the number (the
    E-step's sufficient statistics times the share of the information about the node and
    its latent parents the data carried). One engine pass, but it counts the uncertainty
    about which latent state each case was in only in part, so its intervals are too
    narrow for numbers that hang on latent causes (``tests/test_fitted_strength.py``
    measures both rules' coverage; the README gives the figures).

A categorical factor's states share one Dirichlet strength; under either rule it is the
prior's plus the cases that observe the factor (a root learns from the cases that see it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import Categorical, NoisyOr, PriorsConfig, Table
from .kinds import kind_of
from .tables import as_columns, link_design

__all__ = [
    "INTERVAL_RULES",
    "MIN_STRENGTH",
    "NotPositiveDefinite",
    "gradient",
    "held_fixed",
    "information_e_steps",
    "informed_cases",
    "observed_information",
    "strengths_from_information",
    "uninformed",
]

INTERVAL_RULES = ("observed-information", "informed-cases")

# The outer step, relative to each number's distance from 0 or 1 on the fitting scale:
# each gradient is exact (closed form from an exact E-step), so rounding sets the floor
# (~1e-6 of the curvature). tests/test_fitted_strength.py checks the information against
# second differences of the log posterior itself.
_OUTER_STEP = 1e-3
# A number this close to 0 or 1 on the fitting scale sits at the fit's floor (kinds._FLOOR):
# a bound, where the log posterior has no maximum to read a curvature from.
_AT_BOUND = 1e-5
_JACOBIAN_STEP = 1e-6  # each kind's map is linear in each number: any step is exact
MIN_STRENGTH = 0.5  # at least half a case, so that every fitted number keeps a proper Beta

Family = dict[str, tuple[np.ndarray, np.ndarray]]


class NotPositiveDefinite(ValueError):
    """The observed information has a direction with no curvature, or negative curvature,
    or is not finite (nothing informs some numbers together, or the fit has not
    converged): the Laplace approximation does not hold."""


def _scaled(config: PriorsConfig, values: np.ndarray) -> np.ndarray:
    """Every parameter on its node's fitting scale (a noisy-OR link as its activation
    probability, independent of the leak; a table entry as itself)."""
    out = values.copy()
    for node in config.nodes.values():
        cols = config.parameter_columns[node.id]
        out[cols] = kind_of(node).fitting_scale(node, values[cols])
    return out


def _values(config: PriorsConfig, scaled: np.ndarray) -> np.ndarray:
    out = scaled.copy()
    for node in config.nodes.values():
        cols = config.parameter_columns[node.id]
        out[cols] = kind_of(node).from_fitting_scale(node, scaled[cols])
    return out


def _categorical(config: PriorsConfig) -> np.ndarray:
    return np.array([isinstance(config.nodes[p.node].cpd, Categorical)
                     for p in config.parameters()])


def information_e_steps(config: PriorsConfig) -> int:
    """At most how many E-steps the observed information takes after a fit: two per
    number it covers (every number but categorical factors' states)."""
    return 2 * int((~_categorical(config)).sum())


def held_fixed(config: PriorsConfig, values: np.ndarray) -> np.ndarray:
    """The parameters the observed information leaves out (held at their fitted values):
    categorical factors' states (they sum to one) and numbers fitted to a bound."""
    scaled = _scaled(config, values)
    return _categorical(config) | (np.minimum(scaled, 1 - scaled) < _AT_BOUND)


def gradient(config: PriorsConfig, values: np.ndarray, family: Family, alpha: np.ndarray,
             beta: np.ndarray) -> np.ndarray:
    """The gradient of the log posterior on the fitting scale at `values`, by Fisher's
    identity, from the E-step's expected family counts at the same `values` (0 for
    categorical factors): each kind's closed-form gradient of its expected complete-data
    log-likelihood (:meth:`kneebayes.kinds.Kind.log_likelihood_gradient`), plus that of
    the pseudo-counts' log prior, ``alpha log t + beta log(1 - t)``."""
    scaled = _scaled(config, values)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = alpha / scaled - beta / (1 - scaled)
    for node in config.nodes.values():
        cols = config.parameter_columns[node.id]
        counts, present = (np.asarray(a, dtype=float) for a in family[node.id])
        out[cols] += kind_of(node).log_likelihood_gradient(node, scaled[cols], counts,
                                                           present)
    return np.where(_categorical(config), 0.0, out)


def observed_information(config: PriorsConfig, values: np.ndarray,
                         family_at: Callable[[np.ndarray], Family], alpha: np.ndarray,
                         beta: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Minus the Hessian of the log posterior at `values`, on the fitting scale, over the
    parameters not `held` (:func:`held_fixed`; rows and columns in
    :meth:`PriorsConfig.parameters` order): central differences of :func:`gradient`, two
    E-steps (`family_at(values)`) per parameter, made symmetric."""
    free = np.flatnonzero(~held)
    scaled = _scaled(config, values)
    hessian = np.empty((len(free), len(free)))
    for column, j in enumerate(free):
        step = _OUTER_STEP * min(scaled[j], 1 - scaled[j])
        moved = []
        for sign in (1, -1):
            at = scaled.copy()
            at[j] += sign * step
            at = _values(config, at)
            moved.append(gradient(config, at, family_at(at), alpha, beta)[free])
        hessian[:, column] = (moved[0] - moved[1]) / (2 * step)
    return -(hessian + hessian.T) / 2


def uninformed(information: np.ndarray) -> np.ndarray:
    """Which rows of the information have no curvature of their own (a diagonal that is
    not positive: nothing informs that number once the others are known); holding them out
    too conditions on them, which is the information's submatrix."""
    return ~(np.diag(information) > 0)


def strengths_from_information(config: PriorsConfig, values: np.ndarray,
                               information: np.ndarray, held: np.ndarray) -> np.ndarray:
    """The Beta strength of each number not `held`: ``m (1 - m) / var - 1`` with ``m`` the
    fitted value and ``var`` its variance under the Laplace approximation (the inverse of
    `information`, carried from the fitting scale to the file's numbers through each
    node's own map, exact to first order); NaN where held.

    Raises
    ------
    NotPositiveDefinite
        Where the Laplace approximation does not hold.
    """
    if not np.isfinite(information).all():  # Cholesky would pass a NaN through
        raise NotPositiveDefinite("the observed information is not finite")
    try:
        lower = np.linalg.cholesky(information)
    except np.linalg.LinAlgError as error:
        raise NotPositiveDefinite(str(error)) from None
    free = np.flatnonzero(~held)
    covariance = np.zeros((len(values), len(values)))
    inverse = np.linalg.inv(lower)
    covariance[np.ix_(free, free)] = inverse.T @ inverse
    scaled = _scaled(config, values)
    variance = np.full(len(values), np.nan)
    for node in config.nodes.values():
        cols = np.asarray(config.parameter_columns[node.id])
        if held[cols].all():
            continue
        kind, own = kind_of(node), scaled[cols]
        jacobian = np.empty((len(cols), len(cols)))
        for j in range(len(cols)):
            up, down = own.copy(), own.copy()
            up[j] += _JACOBIAN_STEP
            down[j] -= _JACOBIAN_STEP
            jacobian[:, j] = (kind.from_fitting_scale(node, up)
                              - kind.from_fitting_scale(node, down)) / (2 * _JACOBIAN_STEP)
        block = covariance[np.ix_(cols, cols)]
        variance[cols] = np.einsum("ij,jk,ik->i", jacobian, block, jacobian)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.maximum(values * (1 - values) / variance - 1, MIN_STRENGTH)
    strength = np.where(held, np.nan, strength)
    if not np.isfinite(strength[~held]).all():
        raise NotPositiveDefinite("a variance is not finite")
    return strength


def _information_fraction(r: np.ndarray) -> float:
    """The share of the information a fully observed binary node would carry, from its
    per-case posteriors `r`: 1 - mean(r(1-r)) / (rbar(1-rbar)) (1 when every r is 0 or 1,
    0 when every r is the base rate: Louis' missing information, per case)."""
    mean = float(r.mean())
    if not 0 < mean < 1:
        return 1.0
    return float(np.clip(1 - np.mean(r * (1 - r)) / (mean * (1 - mean)), 0.0, 1.0))


def _exercised(node, counts: np.ndarray) -> np.ndarray:
    """The expected number of cases whose parent configuration exercises each of a node's
    parameters, from its E-step family counts (cases per parent configuration)."""
    slots = [p.slot for p in node.parameters]
    if isinstance(node.cpd, NoisyOr) and node.parents:
        design = link_design(node.cpd)  # parent configurations x links
        # the leak is learnt where no link is active (elsewhere it is confounded with them)
        out = np.full(len(slots), counts @ (design.sum(axis=1) == 0))
        for j, name in enumerate(node.cpd.weights):
            out[slots.index(name)] = counts @ design[:, j]
        return out
    if isinstance(node.cpd, Table):
        out = np.zeros(len(slots))
        np.add.at(out, kind_of(node)._rows(node), counts)
        return out
    return np.full(len(slots), counts.sum())  # a root: every case


def informed_cases(config: PriorsConfig, family: Family, data: dict[str, np.ndarray], n: int,
                   memory_budget: int) -> np.ndarray:
    """How many cases informed each parameter: the expected cases whose parent configuration
    exercises it (the E-step's sufficient statistics), times the share of the information
    about the node's own state the data carried: for an observed column, the share of
    cases observing it; for a cause, from its per-case posteriors under the fit
    (:func:`_information_fraction`); for a mechanism, the mean of its parent causes'
    (its own posteriors are not computed). `config` carries the fitted numbers (its
    strengths are not used)."""
    from .model import DiagnosticModel

    engine = DiagnosticModel(config, memory_budget).engine  # the one engine picker
    findings = as_columns([data.get(x, np.full(n, np.nan)) for x in config.findings], n)
    factors = as_columns([data.get(f, np.full(n, np.nan)) for f in config.factors], n)
    posterior = engine.run(findings, factors).marginals
    share: dict[str, float] = {}
    for node in config.nodes.values():
        column = data.get(node.id)
        observed = np.zeros(n, dtype=bool) if column is None else ~np.isnan(column)
        if node.role == "cause":
            r = posterior[:, config.causes.index(node.id)]
            if column is not None:  # an observed cause is known in the cases observing it
                r = np.where(observed, np.nan_to_num(column), r)
            share[node.id] = _information_fraction(r)
        elif node.role != "mechanism":
            share[node.id] = float(observed.mean())
    for node in config.nodes.values():
        if node.role == "mechanism":
            parents = [share[p] for p in node.parents if p in share]
            share[node.id] = float(np.mean(parents)) if parents else 0.0
    gains = []
    for node in config.nodes.values():
        counts, _ = family[node.id]
        exercised = _exercised(node, np.asarray(counts, dtype=float))
        # Which parent configuration a case was in is itself uncertain when a parent is
        # latent: a link learns from a case only as far as its parent's state is known,
        # the leak and a table row as far as all of them are.
        parent_share = np.array([
            share[p.slot.partition("=")[0]]  # a link: its parent (or the parent's state)
            if isinstance(p.slot, str) and p.slot.partition("=")[0] in share
            else min((share[q] for q in node.parents), default=1.0)
            for p in node.parameters])
        gains.append(exercised * share[node.id] * parent_share)
    return np.concatenate(gains)
