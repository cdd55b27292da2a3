"""The :class:`DiagnosticModel` facade: one object for the network, posteriors and triage."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from . import network as _network
from .config import PriorsConfig, load_config
from .engine import DEFAULT_MEMORY_BUDGET, CompiledEngine, EngineTooLarge
from .errors import EvidenceError
from .evidence import evidence_arrays, frame_arrays, normalise_evidence
from .triage import Triage, assess, assess_batch

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["DiagnosticModel", "EngineFallbackWarning", "load_model"]

Evidence = Mapping[str, Any] | None
Method = Literal["compiled", "pgmpy"]
_BATCH_ROWS = 50_000  # rows per engine call: bounds peak memory however long the frame


class EngineFallbackWarning(UserWarning):
    """The compiled engine cannot hold this network; pgmpy answers instead (slower)."""


def load_model(path: str | Path | None = None,
               memory_budget: int = DEFAULT_MEMORY_BUDGET) -> DiagnosticModel:
    """Load a priors file into a :class:`DiagnosticModel`.

    Parameters
    ----------
    path : str or Path, optional
        A priors TOML file; the shipped ``default.toml`` when omitted.
    memory_budget : int, optional
        Bytes the compiled engine may use (256 MiB by default); a network whose tables need
        more is answered by pgmpy instead, with an :class:`EngineFallbackWarning`.

    Raises
    ------
    ConfigError
        When the file is missing, is not TOML, or breaks a validation rule.

    Examples
    --------
    >>> import kneebayes as kb
    >>> model = kb.load_model()
    >>> model.posterior({"groin_pain": True}).index[0]
    'hip_referred_pain'
    """
    return DiagnosticModel(load_config(path), memory_budget)


class DiagnosticModel:
    """A differential diagnosis as a Bayesian network: causes, factors and findings.

    Parameters
    ----------
    config : PriorsConfig
        A validated priors file (see :func:`kneebayes.config.load_config`).
    memory_budget : int, optional
        As for :func:`load_model`.
    """

    def __init__(self, config: PriorsConfig, memory_budget: int = DEFAULT_MEMORY_BUDGET):
        self.config = config
        self.memory_budget = memory_budget

    def __getstate__(self) -> dict[str, Any]:
        # Only the config travels (to Dask workers, say); engine and network rebuild lazily.
        return {"config": self.config, "memory_budget": self.memory_budget}

    def __repr__(self) -> str:
        c = self.config
        return (
            f"<DiagnosticModel {c.title!r}: {len(c.causes)} causes, {len(c.factors)} factors, "
            f"{len(c.mechanisms)} mechanisms, {len(c.findings)} findings; from {c.path}>"
        )

    # -- vocabulary

    @property
    def causes(self) -> tuple[str, ...]:
        """Ids of the latent causes, in file order."""
        return self.config.causes

    @property
    def factors(self) -> tuple[str, ...]:
        """Ids of the contributing factors (root nodes; may be observed)."""
        return self.config.factors

    @property
    def mechanisms(self) -> tuple[str, ...]:
        """Ids of the latent intermediate nodes between causes and findings."""
        return self.config.mechanisms

    @property
    def findings(self) -> tuple[str, ...]:
        """Ids of the findings (history, examination, red flags)."""
        return self.config.findings

    def nodes(self) -> pd.DataFrame:
        """The vocabulary: one row per node with its role, kind, label, parents and description."""
        rows = [
            {
                "id": n.id,
                "role": n.role,
                "kind": n.kind or "",
                "label": n.label,
                "parents": ", ".join(n.parents),
                "description": n.description,
            }
            for n in self.config.nodes.values()
        ]
        return pd.DataFrame(rows).set_index("id")

    # -- the model of record

    @cached_property
    def network(self) -> DiscreteBayesianNetwork:
        """The pgmpy ``DiscreteBayesianNetwork`` (built on first use; ``check_model`` passes)."""
        return _network.build_network(self.config)

    @cached_property
    def _variable_elimination(self) -> object:
        with _network.quiet_pgmpy():
            from pgmpy.inference import VariableElimination

            return VariableElimination(self.network)

    def to_bif(self, path: str | Path) -> Path:
        """Write the network as BIF (GeNIe, pyAgrum, Hugin, Netica)."""
        return _network.write_bif(self.network, path)

    def to_xmlbif(self, path: str | Path) -> Path:
        """Write the network as XMLBIF."""
        return _network.write_xmlbif(self.network, path)

    # -- inference

    @cached_property
    def engine(self) -> CompiledEngine | None:
        """The compiled exact engine, or ``None`` (with a warning) when the network is too
        large for it and pgmpy's VariableElimination answers instead."""
        try:
            return CompiledEngine(self.config, self.memory_budget)
        except EngineTooLarge as exc:
            warnings.warn(
                f"{self.config.path}: {exc}; falling back to pgmpy's VariableElimination, "
                "which is exact but much slower.",
                EngineFallbackWarning,
                stacklevel=3,
            )
            return None

    def _cause_probabilities(self, observed: dict[str, int], method: Method) -> np.ndarray:
        if method == "compiled" and self.engine is not None:
            return self.engine.posterior(*evidence_arrays(observed, self.config))[0]
        if method not in ("compiled", "pgmpy"):
            raise ValueError(f"method: expected 'compiled' or 'pgmpy', got {method!r}")
        return _network.variable_elimination(
            self.network, self.causes, observed, self._variable_elimination
        )

    def posterior(self, evidence: Evidence = None, method: Method = "compiled") -> pd.Series:
        """P(cause present | evidence) for every cause, exact.

        Parameters
        ----------
        evidence : mapping of str to value, optional
            Finding or factor id to ``True``/``False``, ``1``/``0``, ``"present"``/
            ``"absent"``, ``"yes"``/``"no"`` or ``"positive"``/``"negative"``; a missing id
            (or ``None``/``NaN``) is unobserved.
        method : {'compiled', 'pgmpy'}
            The compiled engine (default), or pgmpy's VariableElimination on
            :attr:`network`, the reference it is tested against.

        Returns
        -------
        pandas.Series
            Index the cause ids, sorted by probability, highest first.

        Raises
        ------
        EvidenceError
            Unknown or latent ids, unreadable values, or evidence of probability zero.
        """
        observed = normalise_evidence(evidence, self.config)
        return self._series(self._checked(observed, method))

    def posterior_batch(self, cases: pd.DataFrame) -> pd.DataFrame:
        """P(cause present | evidence) for every case of a DataFrame, exact.

        Parameters
        ----------
        cases : pandas.DataFrame
            A column per finding or factor id (any subset); cells ``True``/``False``,
            ``1``/``0``, ``"present"``/``"absent"``, ``"yes"``/``"no"``,
            ``"positive"``/``"negative"``, or ``NaN``/empty for unobserved.

        Returns
        -------
        pandas.DataFrame
            Same index as `cases`, a column per cause (file order).

        Raises
        ------
        EvidenceError
            Naming the row and column of every unreadable cell, any column that is not a
            finding or factor, and any case whose evidence has probability zero.
        """
        findings, factors = frame_arrays(cases, self.config)
        return self._posterior_arrays(findings, factors, cases.index)

    def _posterior_arrays(
        self, findings: np.ndarray, factors: np.ndarray, index: pd.Index
    ) -> pd.DataFrame:
        out = np.empty((len(index), len(self.causes)))
        for lo in range(0, len(index), _BATCH_ROWS):
            part = slice(lo, lo + _BATCH_ROWS)
            if self.engine is not None:
                out[part] = self.engine.posterior(findings[part], factors[part])
            else:
                rows = range(lo, min(lo + _BATCH_ROWS, len(index)))
                out[part] = [self._cause_probabilities(self._row(findings, factors, i), "pgmpy")
                             for i in rows]
        impossible = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if len(impossible):
            first, detail = int(impossible[0]), ""
            try:
                self._checked(self._row(findings, factors, first), "compiled")
            except EvidenceError as exc:
                detail = f": {exc}"
            raise EvidenceError(
                f"cases: {len(impossible)} row(s) have evidence of probability zero, first "
                f"row {index[first]!r}{detail}"
            )
        return pd.DataFrame(out, index=index, columns=pd.Index(self.causes, name="cause"))

    def triage_batch(self, cases: pd.DataFrame, posterior: pd.DataFrame | None = None
                     ) -> pd.DataFrame:
        """Triage every case of a DataFrame (see :meth:`triage`).

        Parameters
        ----------
        cases : pandas.DataFrame
            As for :meth:`posterior_batch`.
        posterior : pandas.DataFrame, optional
            Its result for `cases`, if already computed.

        Returns
        -------
        pandas.DataFrame
            Same index; columns ``triage`` (``none``/``see_clinician``/``urgent``),
            ``red_flags`` (fired rule ids joined by ``;``) and ``p_<must-not-miss cause>``.
        """
        findings, factors = frame_arrays(cases, self.config)
        if posterior is None:
            posterior = self._posterior_arrays(findings, factors, cases.index)
        return self._triage_arrays(findings, factors, posterior)

    def _triage_arrays(
        self, findings: np.ndarray, factors: np.ndarray, posterior: pd.DataFrame
    ) -> pd.DataFrame:
        cause = self.config.triage.cause
        observed = {**dict(zip(self.findings, findings.T, strict=True)),
                    **dict(zip(self.factors, factors.T, strict=True))}
        probability = posterior[cause].to_numpy()
        levels, flags = assess_batch(self.config, observed, probability)
        return pd.DataFrame({"triage": levels, "red_flags": flags, f"p_{cause}": probability},
                            index=posterior.index)

    def score(self, cases: pd.DataFrame) -> pd.DataFrame:
        """Triage and posterior for every case: :meth:`triage_batch` columns first, then
        one column per cause. What ``kneebayes score`` writes."""
        findings, factors = frame_arrays(cases, self.config)
        posterior = self._posterior_arrays(findings, factors, cases.index)
        triage = self._triage_arrays(findings, factors, posterior)
        return pd.concat([triage[["triage", "red_flags"]], posterior], axis=1)

    def _row(self, findings: np.ndarray, factors: np.ndarray, i: int) -> dict[str, int]:
        pairs = [*zip(self.findings, findings[i], strict=True),
                 *zip(self.factors, factors[i], strict=True)]
        return {nid: int(v) for nid, v in pairs if not np.isnan(v)}

    def prior(self) -> pd.Series:
        """P(cause present) with no evidence, sorted highest first."""
        return self.posterior({})

    def triage(self, evidence: Evidence = None, posterior: pd.Series | None = None) -> Triage:
        """Triage the case: red-flag rules and the must-not-miss posterior.

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`posterior`.
        posterior : pandas.Series, optional
            The case's posterior if already computed, to save recomputing it.
        """
        observed = normalise_evidence(evidence, self.config)
        if posterior is None:
            posterior = self._series(self._checked(observed, "compiled"))
        return assess(self.config, observed, float(posterior[self.config.triage.cause]))

    @cached_property
    def _cause_index(self) -> pd.Index:
        # object dtype: building an Arrow-backed string index costs more than the query
        return pd.Index(list(self.causes), dtype=object, name="cause")

    def _series(self, probabilities: np.ndarray) -> pd.Series:
        order = np.argsort(-probabilities, kind="stable")
        return pd.Series(probabilities[order], index=self._cause_index.take(order),
                         name="P(present | evidence)")

    def _checked(self, observed: dict[str, int], method: Method) -> np.ndarray:
        probabilities = self._cause_probabilities(observed, method)
        if np.all(np.isfinite(probabilities)):
            return probabilities
        culprits = [
            nid for nid in observed
            if np.all(np.isfinite(self._cause_probabilities(
                {k: v for k, v in observed.items() if k != nid}, method)))
        ] or list(observed)
        raise EvidenceError(
            "evidence has probability zero under this model (in floating point): the "
            f"conflicting observations are {', '.join(culprits)}; drop or re-check one of them."
        )
