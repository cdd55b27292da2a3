"""The :class:`DiagnosticModel` facade: one object for the network, posteriors and triage."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import network as _network
from .config import PriorsConfig, load_config
from .errors import EvidenceError
from .evidence import normalise_evidence
from .triage import Triage, assess

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["DiagnosticModel", "load_model"]

Evidence = Mapping[str, Any] | None


def load_model(path: str | Path | None = None) -> DiagnosticModel:
    """Load a priors file into a :class:`DiagnosticModel`.

    Parameters
    ----------
    path : str or Path, optional
        A priors TOML file; the shipped ``default.toml`` when omitted.

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
    return DiagnosticModel(load_config(path))


class DiagnosticModel:
    """A differential diagnosis as a Bayesian network: causes, factors and findings.

    Parameters
    ----------
    config : PriorsConfig
        A validated priors file (see :func:`kneebayes.config.load_config`).
    """

    def __init__(self, config: PriorsConfig):
        self.config = config

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

    def _cause_probabilities(self, observed: dict[str, int]) -> np.ndarray:
        return _network.variable_elimination(
            self.network, self.causes, observed, self._variable_elimination
        )

    def posterior(self, evidence: Evidence = None) -> pd.Series:
        """P(cause present | evidence) for every cause, exact.

        Parameters
        ----------
        evidence : mapping of str to value, optional
            Finding or factor id to ``True``/``False``, ``1``/``0``, ``"present"``/
            ``"absent"``, ``"yes"``/``"no"`` or ``"positive"``/``"negative"``; a missing id
            (or ``None``/``NaN``) is unobserved.

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
        return self._series(self._checked(observed))

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
            posterior = self._series(self._checked(observed))
        return assess(self.config, observed, float(posterior[self.config.triage.cause]))

    def _series(self, probabilities: np.ndarray) -> pd.Series:
        series = pd.Series(probabilities, index=pd.Index(self.causes, name="cause"),
                           name="P(present | evidence)")
        return series.sort_values(ascending=False, kind="stable")

    def _checked(self, observed: dict[str, int]) -> np.ndarray:
        probabilities = self._cause_probabilities(observed)
        if np.all(np.isfinite(probabilities)):
            return probabilities
        culprits = [
            nid for nid in observed
            if np.all(np.isfinite(self._cause_probabilities(
                {k: v for k, v in observed.items() if k != nid})))
        ] or list(observed)
        raise EvidenceError(
            "evidence has probability zero under this model (in floating point): the "
            f"conflicting observations are {', '.join(culprits)}; drop or re-check one of them."
        )
