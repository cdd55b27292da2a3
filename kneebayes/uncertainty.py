"""Second-order uncertainty: how sure are we of the posterior, given how sure we are of the
numbers in the priors file?

Every parameter has a Beta distribution (``{ mean, n }`` or ``{ low, high }`` in the file; a
plain number gets :data:`DEFAULT_STRENGTH`). For one evidence set, :class:`ParameterSweep`
computes the exact posterior under many parameter sets at once, vectorised over the sets:
only the factors, causes, mechanisms and the *observed* findings enter, so a thousand sets
cost about as much as a few hundred ordinary queries.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .checks import check_count, check_fraction, check_memory, check_seed
from .config import PriorsConfig
from .engine import DEFAULT_MEMORY_BUDGET
from .errors import KneebayesError, suggest
from .tables import consistent_states, node_log_tables, parent_index, parent_states

__all__ = [
    "DEFAULT_STRENGTH",
    "ParameterSweep",
    "beta_parameters",
    "credible_posterior",
    "sensitivity",
]

DEFAULT_STRENGTH = 20.0
"""Beta strength (a + b) given to a parameter written as a plain number: as if it rested on
twenty observations."""

# A Beta draw of exactly 0 or 1 (a tiny a or b underflows) would make a log infinite: the
# draw is moved to the nearest representable probability instead. The bounds are as tight
# as float64 allows, so that the point values of a valid file (a leak of 1e-300, a weight
# of 1 - 1e-16) pass through unchanged and the sweep agrees with the engine.
_LOW, _HIGH = np.finfo(float).tiny, np.nextafter(1.0, 0.0)
_NOISE = 1e-12  # a swing below this is rounding, not sensitivity


def beta_parameters(config: PriorsConfig, default_strength: float = DEFAULT_STRENGTH
                    ) -> pd.DataFrame:
    """Every parameter's point value and Beta(a, b), indexed by key path."""
    rows = []
    for p in config.parameters():
        a, b = p.value.beta or (p.value.mean * default_strength,
                                (1 - p.value.mean) * default_strength)
        rows.append({"path": p.path, "node": p.node, "mean": p.value.mean, "a": a, "b": b,
                     "stated": p.value.beta is not None})
    return pd.DataFrame(rows).set_index("path")


def _log_sum_exp(values: np.ndarray, axis: int) -> np.ndarray:
    # Not scipy.special.logsumexp: its extra checks doubled the time of 1,000 draws here.
    top = np.max(values, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.squeeze(np.log(np.exp(values - top).sum(axis=axis, keepdims=True)) + top, axis)


class ParameterSweep:
    """Exact P(cause present | evidence) under many parameter sets, for one evidence set.

    Parameters
    ----------
    config : PriorsConfig
    observed : mapping of str to {0, 1}
        Normalised evidence (findings and factors).
    """

    def __init__(self, config: PriorsConfig, observed: Mapping[str, int],
                 memory_budget: int = DEFAULT_MEMORY_BUDGET):
        self.config = config
        self.paths = [p.path for p in config.parameters()]
        self.means = np.array([p.value.mean for p in config.parameters()])
        self._columns = config.parameter_columns
        causes, mechs, factors = config.causes, config.mechanisms, config.factors
        n_c, n_m = len(causes), len(mechs)
        if n_c + n_m > 16 or len(factors) > 12:
            raise KneebayesError(
                f"{n_c} causes, {n_m} mechanisms and {len(factors)} factors are too many for "
                "the vectorised uncertainty analysis (at most 16 latent nodes, 12 factors)."
            )
        self.cause_bits = parent_states(n_c).astype(float)
        self.factor_bits = parent_states(len(factors))
        latent_bits = parent_states(n_c + n_m)  # cause bits first, mechanism bits fastest
        position = {nid: i for i, nid in enumerate(causes + mechs)}
        fposition = {nid: i for i, nid in enumerate(factors)}
        # Factor states that contradict observed factors get probability zero.
        factor_obs = np.array([[observed.get(f, np.nan) for f in factors]], dtype=float)
        self._factor_mask = np.where(consistent_states(factor_obs, self.factor_bits)[0], 0.0,
                                     -np.inf)
        self._factors = [(self._columns[f], self.factor_bits[:, j])
                         for j, f in enumerate(factors)]
        self._causes = [(config.nodes[c], parent_index(
            self.factor_bits, [fposition[p] for p in config.nodes[c].parents]))
            for c in causes]
        # Observed findings on causes only: their tables over cause states.
        self._direct, self._latent = [], []
        for x in config.findings:
            if x not in observed:
                continue
            node = config.nodes[x]
            if any(p in mechs for p in node.parents):
                self._latent.append((node, parent_index(
                    latent_bits, [position[p] for p in node.parents]), observed[x]))
            else:
                self._direct.append((node, parent_index(
                    self.cause_bits.astype(int), [position[p] for p in node.parents]),
                    observed[x]))
        self._mechanisms = [(config.nodes[m], parent_index(
            latent_bits, [position[p] for p in config.nodes[m].parents]),
            latent_bits[:, n_c + k]) for k, m in enumerate(mechs)]
        self._n_mech = n_m
        # Parameter sets per vectorised pass, from the budget: each set holds a factor state
        # x cause state array and a latent-state array, a few copies of each.
        per_set = 8.0 * 4 * (len(self.factor_bits) * len(self.cause_bits)
                             + len(latent_bits) + len(self.paths))
        check_memory(per_set, memory_budget, "one parameter set of the uncertainty sweep",
                     "raise memory_budget")
        self.sets_per_pass = int(min(256, memory_budget // per_set))

    def _node_logs(self, node, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return node_log_tables(node, values[:, self._columns[node.id]])

    def posterior(self, values: np.ndarray) -> np.ndarray:
        """P(cause present | evidence), shape (sets, causes), for parameter sets `values`
        (sets x parameters, columns in the order of :attr:`paths`)."""
        values = np.clip(np.atleast_2d(values), _LOW, _HIGH)
        step = self.sets_per_pass
        return np.vstack([self._posterior(values[i:i + step])
                          for i in range(0, len(values), step)])

    def _posterior(self, values: np.ndarray) -> np.ndarray:
        d = len(values)
        # Factor layer: log P(f) for every joint factor state, then log P(cause state | f).
        log_f = np.tile(self._factor_mask, (d, 1))
        for cols, bit in self._factors:
            p = values[:, cols[0]][:, None]
            log_f += np.where(bit == 1, np.log(p), np.log1p(-p))
        base = np.zeros((d, len(self.factor_bits)))
        delta = np.empty((d, len(self.factor_bits), len(self._causes)))
        for i, (node, index) in enumerate(self._causes):
            present, absent = self._node_logs(node, values)
            base += absent[:, index]
            delta[:, :, i] = present[:, index] - absent[:, index]
        log_joint = _log_sum_exp((log_f + base)[:, :, None] + delta @ self.cause_bits.T, axis=1)
        for node, index, state in self._direct:
            logs = self._node_logs(node, values)[1 - state]  # state 1 -> present logs
            log_joint += logs[:, index]
        if self._n_mech:
            log_latent = np.zeros((d, len(self.cause_bits) * 2**self._n_mech))
            for node, index, bit in self._mechanisms:
                present, absent = self._node_logs(node, values)
                log_latent += np.where(bit == 1, present[:, index], absent[:, index])
            for node, index, state in self._latent:
                log_latent += self._node_logs(node, values)[1 - state][:, index]
            log_joint += _log_sum_exp(log_latent.reshape(d, len(self.cause_bits), -1), axis=2)
        log_joint -= _log_sum_exp(log_joint, axis=1)[:, None]
        return np.exp(log_joint) @ self.cause_bits


def credible_posterior(config: PriorsConfig, observed: Mapping[str, int], draws: int = 1000,
                       level: float = 0.9, seed: int | None = 0,
                       default_strength: float = DEFAULT_STRENGTH,
                       memory_budget: int = DEFAULT_MEMORY_BUDGET) -> pd.DataFrame:
    """See :meth:`kneebayes.DiagnosticModel.credible_posterior`."""
    level = check_fraction(level, "level")
    draws = check_count(draws, "draws")
    seed = check_seed(seed)
    n_parameters = sum(1 for _ in config.parameters())
    check_memory(16.0 * draws * (n_parameters + len(config.causes)), memory_budget,
                 f"{draws:,} draws of {n_parameters} parameters", "ask for fewer draws")
    sweep = ParameterSweep(config, observed, memory_budget)
    betas = beta_parameters(config, default_strength)
    rng = np.random.default_rng(seed)
    values = rng.beta(betas["a"].to_numpy(), betas["b"].to_numpy(), size=(draws, len(betas)))
    samples = sweep.posterior(values)
    point = sweep.posterior(sweep.means)[0]
    tail = (1 - level) / 2
    low, high = np.quantile(samples, tail, axis=0), np.quantile(samples, 1 - tail, axis=0)
    # The posterior at the point values need not fall inside the draws' central interval
    # (a Beta so skewed that its draws underflow to 0, say); an interval is reported around
    # its point estimate always, widened where needed, and the widening is recorded.
    widened = (point < low) | (point > high)
    frame = pd.DataFrame(
        {
            "posterior": point,
            "mean": samples.mean(axis=0),
            "median": np.median(samples, axis=0),
            "low": np.minimum(low, point),
            "high": np.maximum(high, point),
        },
        index=pd.Index(config.causes, name="cause", dtype=object),
    ).sort_values("posterior", ascending=False, kind="stable")
    frame.attrs.update(draws=draws, level=level, seed=seed, default_strength=default_strength,
                       widened=[c for c, w in zip(config.causes, widened, strict=True) if w])
    return frame


def sensitivity(config: PriorsConfig, observed: Mapping[str, int], cause: str,
                parameter: str | None = None, level: float = 0.9,
                grid: np.ndarray | None = None,
                default_strength: float = DEFAULT_STRENGTH,
                memory_budget: int = DEFAULT_MEMORY_BUDGET) -> pd.DataFrame:
    """See :meth:`kneebayes.DiagnosticModel.sensitivity`."""
    from scipy import stats

    level = check_fraction(level, "level")
    if cause not in config.causes:
        raise KneebayesError(f"cause: expected one of {list(config.causes)}, got {cause!r}."
                             + suggest(cause, config.causes))
    c = config.causes.index(cause)
    sweep = ParameterSweep(config, observed, memory_budget)
    betas = beta_parameters(config, default_strength)
    if parameter is not None:  # one-way curve
        if parameter not in betas.index:
            raise KneebayesError(f"parameter: expected a key path of the priors file, got "
                                 f"{parameter!r}.{suggest(parameter, betas.index)}")
        row = betas.loc[parameter]
        if grid is None:
            grid = np.linspace(*stats.beta.ppf([0.005, 0.995], row["a"], row["b"]), 41)
        values = np.tile(sweep.means, (len(grid), 1))
        values[:, betas.index.get_loc(parameter)] = grid
        curve = pd.DataFrame({"value": grid, "posterior": sweep.posterior(values)[:, c]})
        curve.attrs.update(cause=cause, parameter=parameter, mean=float(row["mean"]))
        return curve
    tail = (1 - level) / 2
    low = stats.beta.ppf(tail, betas["a"], betas["b"])
    high = stats.beta.ppf(1 - tail, betas["a"], betas["b"])
    n = len(betas)
    values = np.tile(sweep.means, (2 * n + 1, 1))
    values[np.arange(n), np.arange(n)] = low
    values[n + np.arange(n), np.arange(n)] = high
    posterior = sweep.posterior(values)[:, c]
    frame = pd.DataFrame(
        {
            "node": betas["node"],
            "mean": betas["mean"],
            "low": low,
            "high": high,
            "posterior_low": posterior[:n],
            "posterior_high": posterior[n:2 * n],
        },
        index=betas.index,
    )
    swing = (frame["posterior_high"] - frame["posterior_low"]).abs()
    frame["swing"] = swing.where(swing >= _NOISE, 0.0)
    frame = frame.sort_values("swing", ascending=False, kind="stable")
    frame.attrs.update(cause=cause, posterior=float(posterior[-1]), level=level)
    return frame
