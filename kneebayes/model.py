"""The :class:`DiagnosticModel` facade: one object for the network, posteriors and triage."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from . import network as _network
from . import reasoning, uncertainty
from .checks import check_count, check_memory
from .config import PriorsConfig, load_config
from .engine import (
    DEFAULT_MEMORY_BUDGET,
    PREFERRED_FACTOR_STATES,
    CompiledEngine,
    Engine,
    EngineTooLarge,
)
from .errors import EvidenceError, KneebayesError, shorten
from .evidence import evidence_arrays, frame_arrays, normalise_evidence
from .sparse import SparseEngine
from .triage import Triage, assess, assess_batch

if TYPE_CHECKING:
    from pgmpy.models import DiscreteBayesianNetwork

__all__ = ["METHODS", "DiagnosticModel", "load_model"]

Evidence = Mapping[str, Any] | None
Method = Literal["compiled", "dense", "sparse", "pgmpy"]
METHODS = ("compiled", "dense", "sparse", "pgmpy")
_BATCH_ROWS = 50_000  # rows per engine call: bounds peak memory however long the frame


def load_model(path: str | Path | None = None,
               memory_budget: int = DEFAULT_MEMORY_BUDGET) -> DiagnosticModel:
    """Load a priors file into a :class:`DiagnosticModel`.

    Parameters
    ----------
    path : str or Path, optional
        A priors TOML file; the shipped ``default.toml`` when omitted.
    memory_budget : int, optional
        Bytes the engines may use (256 MiB by default). A network whose dense tables need
        more is answered by the sparse engine; anything that cannot fit either way raises
        :class:`~kneebayes.errors.ModelTooLarge` before allocating.

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
        self.fit_result = None  # set on models returned by fit()

    def __getstate__(self) -> dict[str, Any]:
        # Only the config travels (to Dask workers, say); engine and network rebuild lazily.
        return {"config": self.config, "memory_budget": self.memory_budget,
                "fit_result": self.fit_result}

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
        """The vocabulary: one row per node with its role, kind, label, states, parents and
        description (``states``: ``absent, present``, or a factor's named states)."""
        rows = [
            {
                "id": n.id,
                "role": n.role,
                "kind": n.kind or "",
                "label": n.label,
                "states": ", ".join(n.states),
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
        return _network.build_network(self.config, self.memory_budget)

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
    def engine(self) -> Engine:
        """The fastest exact engine for this model: the dense :class:`CompiledEngine` when
        its tables fit the memory budget and the factors have few joint states, else the
        :class:`~kneebayes.sparse.SparseEngine`, whose cost follows the evidence rather than
        the number of causes and which never lists the factors' joint states."""
        if math.prod(self.config.factor_cards) > PREFERRED_FACTOR_STATES:
            return self.sparse_engine
        try:
            return self.dense_engine
        except EngineTooLarge:
            return self.sparse_engine

    @cached_property
    def dense_engine(self) -> CompiledEngine:
        """The dense compiled engine (every joint cause state enumerated).

        Raises
        ------
        EngineTooLarge
            When its tables would not fit the memory budget.
        """
        return CompiledEngine(self.config, self.memory_budget)

    @cached_property
    def sparse_engine(self) -> SparseEngine:
        """The sparse exact engine (variable elimination on each evidence structure)."""
        return SparseEngine(self.config, self.memory_budget)

    def _backend(self, method: Method) -> Engine | None:
        """The engine `method` names; ``None`` for pgmpy."""
        if method == "compiled":
            return self.engine
        if method == "dense":
            return self.dense_engine
        if method == "sparse":
            return self.sparse_engine
        if method == "pgmpy":
            return None
        raise KneebayesError(f"method: expected one of {', '.join(map(repr, METHODS))}, got "
                             f"{shorten(method)}.")

    def _cause_probabilities(self, observed: dict[str, int], method: Method) -> np.ndarray:
        backend = self._backend(method)
        if backend is not None:
            return backend.posterior(*evidence_arrays([observed], self.config))[0]
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
        method : {'compiled', 'dense', 'sparse', 'pgmpy'}
            ``'compiled'`` (default): the fastest exact engine for this model
            (:attr:`engine`); ``'dense'`` or ``'sparse'``: that engine; ``'pgmpy'``:
            pgmpy's VariableElimination on :attr:`network`, the reference every engine is
            tested against.

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

    def posterior_batch(self, cases: pd.DataFrame, method: Method = "compiled"
                        ) -> pd.DataFrame:
        """P(cause present | evidence) for every case of a DataFrame, exact.

        Parameters
        ----------
        cases : pandas.DataFrame
            A column per finding or factor id (any subset); cells ``True``/``False``,
            ``1``/``0``, ``"present"``/``"absent"``, ``"yes"``/``"no"``,
            ``"positive"``/``"negative"``, or ``NaN``/empty for unobserved.
        method : {'compiled', 'dense', 'sparse', 'pgmpy'}
            As for :meth:`posterior`.

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
        return self._posterior_arrays(findings, factors, cases.index, method)

    def _posterior_arrays(self, findings: np.ndarray, factors: np.ndarray, index: pd.Index,
                          method: Method = "compiled") -> pd.DataFrame:
        backend = self._backend(method)
        out = np.empty((len(index), len(self.causes)))
        for lo in range(0, len(index), _BATCH_ROWS):
            part = slice(lo, lo + _BATCH_ROWS)
            if backend is not None:
                out[part] = backend.posterior(findings[part], factors[part])
            else:
                rows = range(lo, min(lo + _BATCH_ROWS, len(index)))
                out[part] = [self._cause_probabilities(self._row(findings, factors, i), "pgmpy")
                             for i in rows]
        impossible = np.flatnonzero(~np.isfinite(out).all(axis=1))
        if len(impossible):
            first, detail = int(impossible[0]), ""
            try:
                self._checked(self._row(findings, factors, first), method)
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
            ``red_flags`` (fired rule ids joined by ``;``) and ``p_<cause>`` for every
            must-not-miss cause of the priors file's triage.
        """
        findings, factors = frame_arrays(cases, self.config)
        if posterior is None:
            posterior = self._posterior_arrays(findings, factors, cases.index)
        return self._triage_arrays(findings, factors, posterior)

    def _triage_arrays(
        self, findings: np.ndarray, factors: np.ndarray, posterior: pd.DataFrame
    ) -> pd.DataFrame:
        observed = {**dict(zip(self.findings, findings.T, strict=True)),
                    **dict(zip(self.factors, factors.T, strict=True))}
        probability = {c: posterior[c].to_numpy() for c in self.config.triage.causes}
        levels, flags = assess_batch(self.config, observed, probability)
        text = pd.StringDtype()  # typed text, so that Dask and Arrow need not guess it
        return pd.DataFrame({"triage": pd.array(levels, dtype=text),
                             "red_flags": pd.array(flags, dtype=text),
                             **{f"p_{c}": p for c, p in probability.items()}},
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
        return assess(self.config, observed,
                      {c: float(posterior[c]) for c in self.config.triage.causes})

    # -- reasoning (kneebayes.reasoning does the work, on whichever engine answers)

    def explain(self, evidence: Evidence, cause: str, method: Method = "compiled"
                ) -> pd.DataFrame:
        """Why the posterior of `cause` is what it is: each observation's weight of evidence.

        The weight of an observation is log10 of its likelihood ratio for `cause` present vs
        absent given the rest of the evidence (leave-one-out): log10 posterior odds minus
        log10 odds without it. Its sign says which way removing it would move the posterior.

        Parameters
        ----------
        evidence : mapping
            As for :meth:`posterior`.
        cause : str
            A cause id.
        method : {'compiled', 'dense', 'sparse'}
            The engine (see :meth:`posterior`).

        Returns
        -------
        pandas.DataFrame
            One row per observed finding or factor, sorted by absolute weight: ``label``,
            ``role``, ``value``, ``weight_of_evidence`` (log10 LR, leave-one-out),
            ``likelihood_ratio``, ``posterior_without`` and ``sequential_weight``: the same
            observations added one at a time in the table's order, steps that add up exactly
            from ``attrs["prior_log10_odds"]`` to ``attrs["posterior_log10_odds"]`` (also in
            ``attrs``: ``cause``, ``prior``, ``posterior``).
        """
        return reasoning.explain(self, normalise_evidence(evidence, self.config), cause,
                                 method)

    def next_findings(self, evidence: Evidence = None, k: int | None = None,
                      target: str | None = None, method: Method = "compiled",
                      by: str | None = None) -> pd.DataFrame:
        """Which finding to check next: every unobserved finding, ranked by what its answer
        is expected to change.

        Two rankings:

        - ``'decision'`` (the default where the priors file has a ``[decision]`` loss
          table): the expected reduction in the loss of the triage decision, where missing
          a must-not-miss condition costs far more than an unneeded visit. A question whose
          answer cannot change the decision scores 0; ties fall back to information gain.
          A red-flag rule that an answer would fire is not counted (only the posterior's
          decision is), so a red-flag question can score 0 though its "yes" is urgent.
          The red-flag rules already fired are a floor no answer can lower (a level reached
          through a posterior threshold is not: a reassuring answer can lower it). When the
          triage is ``urgent``, no question is worth asking: the table comes back
          empty and ``attrs['advice']`` says to refer.
        - ``'information'``: the mutual information, in bits, between the finding and the
          joint state of all causes given the evidence, H(C | e) - E_f[H(C | e, f)]; with
          `target`, about that one cause.

        Both are exact, from the engine.

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`posterior`.
        k : int, optional
            Keep the top `k`.
        target : str, optional
            A cause id to learn about instead of all of them (the information ranking).
        method : {'compiled', 'dense', 'sparse'}
            The engine (see :meth:`posterior`). The gain about all causes jointly needs
            the dense engine; where it does not fit (many causes), the gains about each
            cause are summed instead, and ``attrs['target']`` says so.
        by : {'decision', 'information'}, optional
            The ranking; by default ``'decision'`` where the file has a loss table and no
            `target` is given, else ``'information'``.

        Returns
        -------
        pandas.DataFrame
            Index the finding ids; ``label``, ``kind``, ``p_present`` (its predictive
            probability), ``loss_reduction`` (decision ranking only, in the loss table's
            units), ``information_gain`` (bits), ``cost`` (from the priors file, NaN where
            it gives none) and ``gain_per_cost``. ``attrs``: ``ranking``, ``target``,
            ``advice`` (None, or the referral advice of an urgent triage) and, for the
            decision ranking, ``triage``, ``decision`` (the level the loss table prefers
            now) and ``expected_loss``.
        """
        observed = normalise_evidence(evidence, self.config)
        if k is not None:
            k = check_count(k, "k")
        return reasoning.next_findings(self, observed, k=k, target=target, method=method,
                                       by=by)

    def most_probable_explanation(self, evidence: Evidence = None, k: int = 5) -> pd.DataFrame:
        """The `k` most probable joint states of the causes: patients can have two at once.

        Mechanism nodes and unobserved findings are summed out (the most probable
        explanation over the causes, not over every latent node).

        Returns
        -------
        pandas.DataFrame
            Index ``rank`` from 1; ``causes`` (the present ones joined by ``+``),
            ``probability``, and a boolean column per cause.
        """
        observed = normalise_evidence(evidence, self.config)
        return reasoning.most_probable_explanation(self, observed, k=check_count(k, "k"))

    def compare(self, evidence: Evidence, a: str, b: str) -> reasoning.Comparison:
        """Two causes side by side: their posterior odds, and the unobserved findings that
        would best tell them apart (expected information about "`a` rather than `b`", and
        the probability of each finding if only `a` or only `b` were present).

        Returns
        -------
        kneebayes.reasoning.Comparison
        """
        return reasoning.compare(self, normalise_evidence(evidence, self.config), a, b)

    # -- second-order uncertainty (kneebayes.uncertainty)

    def credible_posterior(self, evidence: Evidence = None, draws: int = 1000,
                           level: float = 0.9, seed: int | None = 0,
                           default_strength: float = uncertainty.DEFAULT_STRENGTH
                           ) -> pd.DataFrame:
        """How sure the posterior is, given how sure the priors file is of its numbers.

        Every parameter is drawn from its Beta (``{ mean, n }`` or ``{ low, high }`` in the
        file; a plain number gets `default_strength`), the exact posterior is recomputed for
        every draw (vectorised), and the draws are summarised.

        Parameters
        ----------
        evidence : mapping, optional
            As for :meth:`posterior`.
        draws : int
            Parameter sets to draw.
        level : float
            Mass of the central credible interval.
        seed : int or None
            For :func:`numpy.random.default_rng`: the same seed gives the same answer.
        default_strength : float
            Beta strength ``a + b`` for parameters written as plain numbers.

        Returns
        -------
        pandas.DataFrame
            Index the causes (by point posterior, highest first); ``posterior`` (at the point
            values), ``mean``, ``median``, ``low``, ``high``.
        """
        observed = normalise_evidence(evidence, self.config)
        return uncertainty.credible_posterior(self.config, observed, draws, level, seed,
                                              default_strength, self.memory_budget)

    def sensitivity(self, evidence: Evidence, cause: str, parameter: str | None = None,
                    level: float = 0.9, grid: np.ndarray | None = None,
                    default_strength: float = uncertainty.DEFAULT_STRENGTH) -> pd.DataFrame:
        """How the posterior of `cause` moves across each parameter's credible range.

        Parameters
        ----------
        evidence : mapping
            As for :meth:`posterior`.
        cause : str
        parameter : str, optional
            A key path (``findings.groin_pain.causes.hip_referred_pain``): return the
            one-way sensitivity curve of that parameter instead.
        level : float
            The credible range is the central `level` interval of each parameter's Beta.
        grid : array_like, optional
            Values for the one-way curve (default: 41 points over the Beta's central 99%).
        default_strength : float
            As for :meth:`credible_posterior`.

        Returns
        -------
        pandas.DataFrame
            Tornado data, one row per parameter sorted by ``swing``: ``node``, ``mean``,
            ``low``, ``high``, ``posterior_low``, ``posterior_high``, ``swing``; or, with
            `parameter`, the curve: ``value``, ``posterior``. Every other parameter stays at
            its point value; a noisy-OR weight pushed below its leak counts as the leak.
        """
        observed = normalise_evidence(evidence, self.config)
        return uncertainty.sensitivity(self.config, observed, cause, parameter, level, grid,
                                       default_strength, self.memory_budget)

    # -- data: synthetic cohorts, learning, writing the priors file back

    def sample(self, n: int, seed: int | None = 0, missing: float | Mapping | None = None,
               latent: bool = True) -> pd.DataFrame:
        """A synthetic cohort by forward sampling: a bool column per node.

        Parameters
        ----------
        n : int
            Cases.
        seed : int or None
            For :func:`numpy.random.default_rng`.
        missing : float or mapping, optional
            Missing findings: one rate for every finding (missing completely at random), or
            ``{finding: rate}``, or ``{finding: {"factor": id, "present": rate, "absent":
            rate}}`` for missingness that depends on a factor. Findings with missing values
            get pandas' nullable ``boolean`` dtype.
        latent : bool
            Keep the cause and mechanism columns (the truth); ``False`` drops them.

        Returns
        -------
        pandas.DataFrame
        """
        from .sampling import sample

        if isinstance(n, numbers.Real):  # the size check first; sample() checks the type
            check_memory(8.0 * n * (2 * len(self.config.nodes) + 4), self.memory_budget,
                         f"a cohort of {n:,} cases", "sample fewer cases at a time (each "
                         "seed gives its own cohort) or raise memory_budget")
        return sample(self.config, n, seed=seed, missing=missing, latent=latent)

    def fit(self, cases: pd.DataFrame, prior_weight: float = 1.0, max_iter: int = 200,
            tol: float = 1e-7, start: DiagnosticModel | None = None,
            method: Method = "compiled", data: str | Path | None = None,
            intervals: str | None = None) -> DiagnosticModel:
        """A new model with its parameters updated from case data; this one is untouched.

        Exact expectation-maximisation (causes and mechanisms may be observed, partly
        observed or missing; see `method` for the E-step), the priors file's Beta
        strengths acting as pseudo-counts. Noisy-OR nodes stay noisy-OR, so the result
        still reads as a priors file (:meth:`to_toml`); each fitted number is sourced
        ``fitted: N cases ...``.

        Parameters
        ----------
        cases : pandas.DataFrame
            A column per node id (any subset); values as for :meth:`posterior_batch`, NaN
            for missing.
        prior_weight : float
            Multiplies the pseudo-counts; 0 fits by maximum likelihood.
        max_iter, tol : int, float
            Stop after `max_iter` iterations or when the log posterior changes by less than
            `tol` relative.
        start : DiagnosticModel, optional
            Initial parameter values (default: this model's).
        method : {'compiled', 'dense', 'sparse'}
            The E-step: enumerate the latent states (``'dense'``, the faster while there are
            at most 14 causes and mechanisms and 12 factors), or the sparse engine's
            (``'sparse'``, any size); ``'compiled'`` picks. Both give the same fit.
        data : str or Path, optional
            The file `cases` were read from: its name and SHA-256 go into the fitted
            model's ``[provenance]`` and every fitted number's source.
        intervals : {'observed-information', 'informed-cases'}, optional
            How each fitted number's Beta strength (so its credible interval) is found
            (:mod:`kneebayes.fitted_strength`): the observed information (a Laplace
            approximation whose 90% intervals cover the truth about 90% of the time; two
            E-steps per fitted number), or the prior's strength plus the cases that
            informed the number (one engine pass; too narrow for numbers that hang on
            latent causes). Default: the observed information when the E-step is dense,
            the informed cases otherwise. Numbers fitted to 0 or 1 (maximum likelihood
            gives them) take the informed cases, and the whole fit falls back to them,
            saying so, where the observed information is not positive definite.

        Returns
        -------
        DiagnosticModel
            With ``fit_result`` (:class:`kneebayes.learn.FitResult`: the objective and
            log-likelihood per iteration, iterations, converged, and the rule that gave
            the strengths, also in the fitted file's ``[provenance]``).
        """
        from .learn import fit

        result = fit(self.config, cases, prior_weight=prior_weight, max_iter=max_iter,
                     tol=tol, start=None if start is None else start.config,
                     memory_budget=self.memory_budget, method=method, data_file=data,
                     intervals=intervals)
        fitted = DiagnosticModel(result.config, self.memory_budget)
        fitted.fit_result = result
        return fitted

    def evaluate(self, cases: pd.DataFrame, labels: pd.DataFrame | None = None,
                 diagnosis: str | None = None, mapping: dict | None = None,
                 others: str = "absent", draws: int = 1000, level: float = 0.95,
                 seed: int = 0, ignore_extra: bool = False, data: str | Path | None = None):
        """Measure the model on labelled cases (see :mod:`kneebayes.evaluation`).

        Parameters
        ----------
        cases : pandas.DataFrame
            Findings and factors (as for :meth:`posterior_batch`) and the labels: a column
            per cause id (present / absent / empty for not labelled), or the `diagnosis`
            column.
        labels : pandas.DataFrame, optional
            The labels given apart instead (a column per cause, 1 / 0 / NaN).
        diagnosis : str, optional
            A column of diagnoses (several separated by ``;``), read through `mapping`
            (diagnosis text -> cause id, or None for none of the causes).
        others : {'absent', 'unknown'}
            With `diagnosis`: whether the causes a diagnosis does not name are absent or
            not labelled.
        draws, level, seed
            Bootstrap resamples for each AUC interval, the intervals' level, the seed.
        ignore_extra : bool
            Ignore columns that are neither findings, factors nor labels (else each is an
            error naming it).
        data : str or Path, optional
            The file `cases` came from, for the provenance.

        Returns
        -------
        kneebayes.evaluation.Evaluation
            ``per_cause`` (labelled, positives, prevalence, ROC AUC with its bootstrap
            interval, Brier, ECE), ``accuracy`` (top-1, top-3 with Wilson intervals),
            ``triage`` (sensitivity per must-not-miss condition), the posteriors, triage
            levels and labels used, and the provenance.
        """
        from .evaluation import evaluate

        return evaluate(self, cases, labels, diagnosis, mapping, others, draws, level, seed,
                        ignore_extra, data)

    def limits(self) -> pd.DataFrame:
        """What this model's size allows, before any work: one row per capability with
        ``available`` and ``detail`` (the engine, the memory it needs, the fitting cost).

        The README states the limits; ``kneebayes check`` prints this table, and ``fit``
        says which E-step it will use before it starts.
        """
        from .fitted_strength import information_e_steps
        from .learn import dense_e_step
        from .validation import recovery_budget

        rows = []
        try:
            _ = self.dense_engine  # built only if its tables fit the budget
            dense, why = True, (f"every one of the {2**len(self.causes):,} joint cause "
                                "states is enumerated within the memory budget")
        except EngineTooLarge as exc:
            dense, why = False, str(exc).splitlines()[0]
        rows.append(("joint over the causes (most_probable_explanation, compare, joint "
                     "information gain)", dense, why))
        rows.append(("posteriors, triage, explain, next_findings, score, evaluate", True,
                     f"on the {type(self.engine).__name__} (exact)"))
        dense_fit, detail = dense_e_step(self.config)
        rows.append(("fit: dense E-step (all cases at once)", dense_fit, detail))
        rows.append(("fit: observed-information intervals by default", dense_fit,
                     f"at most {information_e_steps(self.config):,} E-steps after the fit" + (
                         "" if dense_fit else "; informed cases unless asked for "
                         "(intervals='observed-information')")))
        cases, iterations = recovery_budget(self, 20_000)
        rows.append(("validate: parameter recovery on the full cohort", cases == 20_000,
                     f"{cases:,} cases, at most {iterations} EM iterations"))
        return pd.DataFrame(rows, columns=["capability", "available", "detail"]
                            ).set_index("capability")

    def to_toml(self, path: str | Path) -> Path:
        """Write the model as a priors file that :func:`load_model` reads back.

        Written safely (:func:`kneebayes.outputs.atomic_output`); never onto the priors file
        the model was read from."""
        from .writer import write_toml

        return write_toml(self.config, path, inputs=[self.config.path])

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
