"""The pgmpy model of record: config -> ``DiscreteBayesianNetwork`` of ``TabularCPD``.

This is the only module that knows pgmpy's CPD layout (values shaped
``(card, prod(parent cards))`` with the last parent varying fastest). pgmpy is imported
lazily, inside the functions, because importing it costs over a second.
"""

from __future__ import annotations

import re
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .checks import check_memory
from .config import PriorsConfig
from .errors import KneebayesError
from .kinds import log_distribution
from .outputs import atomic_output
from .tables import table_bytes

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = [
    "XMLBIF_SUFFIX",
    "build_network",
    "network_name",
    "quiet_pgmpy",
    "variable_elimination",
    "write_bif",
    "write_xmlbif",
]


@contextmanager
def quiet_pgmpy():
    """Silence the warnings pgmpy 1.1 emits about itself (named, not wholesale)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*StructureScore.*", category=FutureWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module=r"pgmpy(\.|$)")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pgmpy(\.|$)")
        warnings.filterwarnings("ignore", message=".*inplace.*")
        yield


def build_network(config: PriorsConfig, memory_budget: int | None = None
                  ) -> DiscreteBayesianNetwork:
    """Build the pgmpy network for `config`; ``check_model()`` passes on the result.

    Causes and mechanisms are declared latent. Every node has states ``absent``, ``present``.

    Parameters
    ----------
    config : PriorsConfig
    memory_budget : int, optional
        Bytes the full tables may take; checked before any is built.

    Raises
    ------
    ModelTooLarge
        When the tables (noisy-OR expanded in full, as pgmpy needs) exceed `memory_budget`.
    """
    if memory_budget is not None:
        widest = max(config.nodes.values(), key=lambda node: table_bytes(node.parent_cards))
        needed = (sum(16.0 * float(np.prod(node.parent_cards)) for node in config.nodes.values())
                  + table_bytes(widest.parent_cards))
        check_memory(needed, memory_budget, f"pgmpy's full tables ({widest.id} has "
                     f"{len(widest.parents)} parents, a table of {2.0**len(widest.parents):,.0f}"
                     " rows)", "give that node fewer parents (a mechanism node can join "
                     "causes), or raise memory_budget")
    with quiet_pgmpy():
        from pgmpy.factors.discrete import TabularCPD
        from pgmpy.models import DiscreteBayesianNetwork

        latents = set(config.causes) | set(config.mechanisms)
        edges = [(parent, node.id) for node in config.nodes.values() for parent in node.parents]
        network = DiscreteBayesianNetwork()
        # exported networks (BIF, XMLBIF) are named after the priors file's title
        network.name = network_name(config.title)
        network.add_nodes_from(config.nodes)  # parentless, childless nodes too
        network.add_edges_from(edges)
        network.latents = latents
        cpds = []
        for node in config.nodes.values():
            # parents' states in C order, last parent fastest, as pgmpy lists them
            values = np.exp(log_distribution(node)[0]).T
            cpds.append(
                TabularCPD(
                    node.id,
                    len(node.states),
                    values,
                    evidence=list(node.parents) or None,
                    evidence_card=list(node.parent_cards) or None,
                    state_names={n: list(config.nodes[n].states)
                                 for n in (node.id, *node.parents)},
                )
            )
        network.add_cpds(*cpds)
        network.check_model()
    return network


def variable_elimination(
    network: DiscreteBayesianNetwork,
    causes: tuple[str, ...],
    observed: dict[str, int],
    inference: object | None = None,
) -> np.ndarray:
    """P(cause present | observed) for each of `causes`, by pgmpy's VariableElimination.

    Parameters
    ----------
    network : DiscreteBayesianNetwork
    causes : tuple of str
    observed : dict of str to int
        Normalised evidence: state indices (1 present, 0 absent for two-state nodes).
    inference : VariableElimination, optional
        A ready engine for `network`, to skip its construction.

    Returns
    -------
    numpy.ndarray
        In the order of `causes`; NaN where pgmpy could not normalise (evidence of
        probability zero in floating point).
    """
    with quiet_pgmpy(), np.errstate(invalid="ignore", divide="ignore"):
        from pgmpy.inference import VariableElimination

        engine = inference if inference is not None else VariableElimination(network)
        result = engine.query(  # type: ignore[attr-defined]
            list(causes),
            evidence={k: network.get_cpds(k).state_names[k][v] for k, v in observed.items()},
            joint=False,
            show_progress=False,
        )
    return np.array([result[c].get_value(**{c: "present"}) for c in causes], dtype=float)


def write_bif(network: DiscreteBayesianNetwork, path: str | Path) -> Path:
    """Write `network` as BIF (readable by GeNIe, pyAgrum, Hugin and others)."""
    with quiet_pgmpy():
        from pgmpy.readwrite import BIFWriter

        with atomic_output(path) as part:
            BIFWriter(network).write(str(part))
    return Path(path)


def network_name(title: str) -> str:
    """A priors file's title as a network name every BIF reader takes: runs of anything but
    letters, digits and underscores become one underscore."""
    return re.sub(r"\W+", "_", title).strip("_") or "kneebayes"


XMLBIF_SUFFIX = ".bifxml"
"""The extension of an XMLBIF file that pyAgrum reads (it refuses ``.xml``)."""


def write_xmlbif(network: DiscreteBayesianNetwork, path: str | Path) -> Path:
    """Write `network` as XMLBIF (full precision in pyAgrum), to a ``.bifxml`` path.

    Raises
    ------
    KneebayesError
        For another extension: pyAgrum refuses ``.xml``."""
    if Path(path).suffix.lower() != XMLBIF_SUFFIX:
        raise KneebayesError(f"{path}: expected a path ending in {XMLBIF_SUFFIX} (the "
                             "extension pyAgrum reads XMLBIF from; it refuses .xml), got "
                             f"{Path(path).suffix or 'no extension'}.")
    with quiet_pgmpy():
        from pgmpy.readwrite import XMLBIFWriter

        with atomic_output(path) as part:
            XMLBIFWriter(network).write(str(part))
    return Path(path)
