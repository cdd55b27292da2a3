"""Second-order uncertainty: how sure are we of the posterior, given how sure we are of the
numbers in the priors file?

Every parameter has a Beta distribution (``{ mean, n }`` or ``{ low, high }`` in the file; a
plain number gets :data:`DEFAULT_STRENGTH`); the probabilities of a categorical factor's
states are drawn together from their Dirichlet (whose marginals are those Betas), and a
parameter set that moves one of them alone (the tornado) moves the others in proportion.
For one evidence set, :class:`ParameterSweep` computes the exact posterior under many
parameter sets at once, on the sparse engine with the sets as its batch, so a thousand sets
cost about as much as a few ordinary queries.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .checks import check_count, check_fraction, check_memory, check_seed
from .config import Categorical, PriorsConfig
from .engine import DEFAULT_MEMORY_BUDGET
from .errors import KneebayesError, suggest
from .evidence import evidence_arrays
from .sparse import SparseEngine

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


class ParameterSweep:
    """Exact P(cause present | evidence) under many parameter sets, for one evidence set.

    The sparse engine's core (:meth:`kneebayes.sparse.SparseEngine.sweep`) with the
    parameter sets as its batch: the same variable elimination that answers a batch of
    cases, so the sweep has the engine's size policy (one memory budget, passes sized from
    it) and no limit of its own on the number of causes or factors.

    Parameters
    ----------
    config : PriorsConfig
    observed : mapping of str to {0, 1}
        Normalised evidence (findings and factors).
    memory_budget : int
        Bytes for one pass's working arrays.
    """

    def __init__(self, config: PriorsConfig, observed: Mapping[str, int],
                 memory_budget: int = DEFAULT_MEMORY_BUDGET):
        self.config = config
        self.paths = [p.path for p in config.parameters()]
        self.means = np.array([p.value.mean for p in config.parameters()])
        self._engine = SparseEngine(config, memory_budget)
        self._case = evidence_arrays([dict(observed)], config)

    def posterior(self, values: np.ndarray) -> np.ndarray:
        """P(cause present | evidence), shape (sets, causes), for parameter sets `values`
        (sets x parameters, columns in the order of :attr:`paths`)."""
        values = np.clip(np.atleast_2d(values), _LOW, _HIGH)
        return self._engine.sweep(values, *self._case)


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
    for nid in config.factors:  # a categorical factor's states are drawn jointly: Dirichlet
        if isinstance(config.nodes[nid].cpd, Categorical):
            columns = config.parameter_columns[nid]
            values[:, columns] = rng.dirichlet(betas["a"].to_numpy()[columns], size=draws)
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
