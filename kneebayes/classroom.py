"""A class working through the vignettes: each student commits an answer (three causes in
order, a triage level, optionally a probability for the first), it is scored against the
vignette's expert key, saved to the student's answers file, and a teacher merges the files.

The scoring is against the key a clinician wrote, not against the model: the model's
differential is shown beside it, as a second opinion to discuss.

>>> from kneebayes import classroom, load_model, vignettes
>>> model, library = load_model(), vignettes.load()
>>> answer = classroom.Answer("s01", "recruit_stairs_and_sitting",
...                           ("pfps", "itb_syndrome", "quadriceps_tendinopathy"), "none", 0.7)
>>> score = classroom.score(model, library["recruit_stairs_and_sitting"], answer)
>>> score.leading_correct, score.triage_result
(True, 'correct')
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .config import TRIAGE_LEVELS
from .errors import KneebayesError
from .outputs import write_text
from .vignettes import Vignette

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["ANSWER_COLUMNS", "Answer", "AnswerError", "Score", "class_summary", "key_leading",
           "missed_causes", "model_stamp", "read_answers", "record", "score"]

_STUDENT_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")

ANSWER_COLUMNS = (
    "student", "vignette", "answered_at", "cause_1", "cause_2", "cause_3", "triage",
    "probability", "leading_correct", "brier", "differential_recall", "missed",
    "model_overlap", "triage_result", "key_triage", "model_triage", "model_top_3", "priors",
    "key_file",
)
"""The columns of a student's answers file, in order (one row per student and case)."""

# An answers file written before the key's file was recorded: read, with that column empty.
_EARLIER_COLUMNS = ANSWER_COLUMNS[:-1]


class AnswerError(KneebayesError):
    """An answer that cannot be scored: incomplete, repeated or out of range."""


@dataclass(frozen=True)
class Answer:
    """What a student commits before the reveal.

    Attributes
    ----------
    student : str
        A pseudonymous id (letters, digits, ``-`` and ``_``; never a name).
    vignette : str
        The vignette id.
    causes : tuple of str
        Three different cause ids, most likely first.
    triage : {'none', 'see_clinician', 'urgent'}
    probability : float or None
        Optionally, the student's probability (0 to 1) that their first cause is the
        leading one.
    """

    student: str
    vignette: str
    causes: tuple[str, ...]
    triage: str
    probability: float | None = None

    def check(self, causes: Iterable[str], labels: Mapping[str, str] | None = None) -> None:
        """Refuse an answer that cannot be scored, with every problem in one message.

        Raises
        ------
        AnswerError
        """
        known = list(causes)
        name = (labels or {}).get
        problems = []
        if not isinstance(self.student, str) or not _STUDENT_ID.fullmatch(self.student):
            problems.append(f"student id: expected 1-40 letters, digits, '-' or '_' (a "
                            f"pseudonym, not a name), got {self.student!r}")
        chosen = [c for c in self.causes if c]
        if len(self.causes) != 3 or len(chosen) != 3:
            problems.append(f"choose three causes, most likely first; {len(chosen)} chosen")
        unknown = [c for c in chosen if c not in known]
        if unknown:
            problems.append(f"unknown cause(s) {unknown}; expected ids of {known}")
        repeated = sorted({c for c in chosen if chosen.count(c) > 1})
        if repeated:
            problems.append("choose three different causes; "
                            + ", ".join(f"{name(c, c)!r} is chosen more than once"
                                        for c in repeated))
        if self.triage not in TRIAGE_LEVELS:
            problems.append(f"choose a triage level ({', '.join(TRIAGE_LEVELS)}), got "
                            f"{self.triage!r}")
        p = self.probability
        if p is not None and (isinstance(p, bool) or not isinstance(p, int | float)
                              or not 0 <= p <= 1):
            problems.append(f"probability: expected a number from 0 to 1 or none, got {p!r}")
        if problems:
            raise AnswerError("Answer not accepted: " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class Score:
    """A committed answer scored against the vignette's expert key, with the model's view.

    Attributes
    ----------
    answer : Answer
    leading_correct : bool
        The student's first cause is one the key accepts as leading.
    brier : float or None
        ``(probability - leading_correct) ** 2`` when a probability was given (0 is best,
        1 worst; always saying 50% scores 0.25).
    missed : tuple of str
        Causes the key says must be in the differential that the student left out.
    differential_recall : float
        The share of the key's must-include causes the student named (1 when it lists none).
    model_overlap : int
        How many of the student's three are in the model's top three.
    triage_result : {'correct', 'under', 'over'}
        The student's triage level against the key's.
    key_triage, model_triage : str
    model_top : pandas.Series
        The model's three leading causes and their posterior probabilities.
    key_cause : str
        The key's leading cause the evidence is shown for (of the acceptable ones, the one
        the model ranks highest).
    key_evidence : pandas.DataFrame
        The (up to) three observations with the most weight of evidence for `key_cause`
        (rows of :meth:`DiagnosticModel.explain`).
    teaching_point : str
    key_file : str
        The vignettes file the key came from, with its hash (:attr:`Vignette.source`).
    """

    answer: Answer
    leading_correct: bool
    brier: float | None
    missed: tuple[str, ...]
    differential_recall: float
    model_overlap: int
    triage_result: str
    key_triage: str
    model_triage: str
    model_top: pd.Series
    key_cause: str
    key_evidence: pd.DataFrame
    teaching_point: str
    key_file: str = ""

    def to_row(self, priors: str = "") -> dict[str, object]:
        """The row of the answers file (:data:`ANSWER_COLUMNS`)."""
        a = self.answer
        return {
            "student": a.student, "vignette": a.vignette,
            "answered_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "cause_1": a.causes[0], "cause_2": a.causes[1], "cause_3": a.causes[2],
            "triage": a.triage,
            "probability": math.nan if a.probability is None else float(a.probability),
            "leading_correct": self.leading_correct,
            "brier": math.nan if self.brier is None else self.brier,
            "differential_recall": self.differential_recall,
            "missed": " ".join(self.missed), "model_overlap": self.model_overlap,
            "triage_result": self.triage_result, "key_triage": self.key_triage,
            "model_triage": self.model_triage, "model_top_3": " ".join(self.model_top.index),
            "priors": priors, "key_file": self.key_file,
        }


def key_leading(vignette: Vignette) -> tuple[str, ...]:
    """The causes the key accepts as leading: `expected`, or the must-include
    `differential` where the key names no single leading cause."""
    return vignette.expected or vignette.differential


def score(model: DiagnosticModel, vignette: Vignette, answer: Answer) -> Score:
    """Score a committed answer against the vignette's expert key.

    Parameters
    ----------
    model : DiagnosticModel
    vignette : Vignette
        Its ``expected``, ``differential``, ``triage`` and ``teaching_point`` are the key.
    answer : Answer

    Raises
    ------
    AnswerError
        If the answer is incomplete, repeats a cause, or is for another vignette.
    """
    labels = {c: model.config.nodes[c].label for c in model.causes}
    answer.check(model.causes, labels)
    if answer.vignette != vignette.id:
        raise AnswerError(f"Answer not accepted: it is for vignette {answer.vignette!r}, "
                          f"not {vignette.id!r}.")
    posterior = model.posterior(vignette.evidence)
    triage = model.triage(vignette.evidence, posterior=posterior)
    leading = key_leading(vignette)
    correct = answer.causes[0] in leading
    brier = None if answer.probability is None else (answer.probability - correct) ** 2
    must = vignette.differential or vignette.expected
    missed = tuple(c for c in must if c not in answer.causes)
    key_triage = vignette.triage or "none"
    rank = TRIAGE_LEVELS.index
    result = ("correct" if answer.triage == key_triage
              else "under" if rank(answer.triage) < rank(key_triage) else "over")
    key_cause = min(leading, key=list(posterior.index).index)
    weights = model.explain(vignette.evidence, key_cause)
    for_it = weights[weights["weight_of_evidence"] > 0]
    return Score(
        answer=answer, leading_correct=correct, brier=brier, missed=missed,
        differential_recall=1 - len(missed) / len(must) if must else 1.0,
        model_overlap=len(set(answer.causes) & set(posterior.index[:3])),
        triage_result=result, key_triage=key_triage, model_triage=triage.level,
        model_top=posterior.head(3), key_cause=key_cause,
        key_evidence=for_it.nlargest(3, "weight_of_evidence"),
        teaching_point=vignette.teaching_point, key_file=vignette.source,
    )


def model_stamp(model: DiagnosticModel) -> str:
    """The model an answer was shown against: the priors file's title and the first 16 hex
    digits of its SHA-256 (see :func:`kneebayes.provenance.priors_sha256`)."""
    from .provenance import priors_sha256

    return f"{model.config.title} (sha256 {priors_sha256(model.config)[0][:16]})"


def answers_path(directory: str | Path, student: str) -> Path:
    """Where a student's answers are kept: ``<directory>/<student>.csv``."""
    return Path(directory) / f"{student}.csv"


def read_answers(paths: str | Path | Iterable[str | Path]) -> pd.DataFrame:
    """Read answers files (a directory of them, one file, or several) into one table.

    Raises
    ------
    KneebayesError
        Naming a file that is not a kneebayes answers file (its header differs).
    """
    if isinstance(paths, str | Path):
        path = Path(paths)
        paths = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    frames = []
    for path in paths:
        try:
            frame = pd.read_csv(path, dtype={"student": str, "vignette": str},
                                keep_default_na=False, na_values={"probability": [""],
                                                                  "brier": [""]})
        except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise KneebayesError(f"{path}: cannot be read as an answers file: {exc}") from None
        if tuple(frame.columns) == _EARLIER_COLUMNS:
            frame["key_file"] = ""
        if tuple(frame.columns) != ANSWER_COLUMNS:
            raise KneebayesError(
                f"{path}: not a kneebayes answers file: expected the columns "
                f"{list(ANSWER_COLUMNS)}, got {list(frame.columns)}.")
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=list(ANSWER_COLUMNS))
    return pd.concat(frames, ignore_index=True)


def record(directory: str | Path, score: Score, priors: str = "") -> bool:
    """Append a scored answer to the student's answers file, safely.

    The file is rewritten whole to a temporary beside it and renamed (the safe writer), so
    an interrupted save leaves the previous file intact. A student's first answer to a case
    stands: a second one (after the reveal) is not recorded.

    Parameters
    ----------
    directory : str or Path
        The class's answers folder (made if missing).
    score : Score
    priors : str
        What to record as the model the answer was shown against (title and hash).

    Returns
    -------
    bool
        True if recorded, False if the student had already answered this case.

    Raises
    ------
    KneebayesError
        If the student's file exists and is not a kneebayes answers file: it is never
        replaced.
    """
    path = answers_path(directory, score.answer.student)
    old = read_answers(path) if path.exists() else pd.DataFrame(columns=list(ANSWER_COLUMNS))
    if (old["vignette"] == score.answer.vignette).any():
        return False
    row = pd.DataFrame([score.to_row(priors)], columns=list(ANSWER_COLUMNS))
    table = row if old.empty else pd.concat([old, row], ignore_index=True)
    write_text(path, table.to_csv(index=False))
    return True


def class_summary(answers: pd.DataFrame) -> pd.DataFrame:
    """One row per case: how the class did against the expert key.

    Parameters
    ----------
    answers : pandas.DataFrame
        From :func:`read_answers`.

    Returns
    -------
    pandas.DataFrame
        Index the vignette ids; ``students``, ``leading_correct`` (share),
        ``mean_brier`` (over those who gave a probability), ``differential_recall``
        (mean), ``under_triage`` and ``over_triage`` (shares), ``key_triage``,
        ``model_triage`` and ``most_missed`` (the must-include cause most often left out,
        with how many students missed it).
    """
    grouped = answers.groupby("vignette", sort=False)
    missed = missed_causes(answers)
    most = {v: f"{g.iloc[0]['cause']} ({g.iloc[0]['students']})"
            for v, g in missed.groupby("vignette", sort=False)}
    summary = pd.DataFrame({
        "students": grouped["student"].nunique(),
        "leading_correct": grouped["leading_correct"].mean(),
        "mean_brier": grouped["brier"].mean(),
        "differential_recall": grouped["differential_recall"].mean(),
        "under_triage": grouped["triage_result"].apply(lambda s: (s == "under").mean()),
        "over_triage": grouped["triage_result"].apply(lambda s: (s == "over").mean()),
        "key_triage": grouped["key_triage"].first(),
        "model_triage": grouped["model_triage"].first(),
    })
    summary["most_missed"] = [most.get(v, "") for v in summary.index]
    summary.index.name = "vignette"
    return summary


def missed_causes(answers: pd.DataFrame) -> pd.DataFrame:
    """How many students left each must-include cause out of their differential, per case
    (``vignette``, ``cause``, ``students``; most missed first within a case)."""
    rows = [(r.vignette, cause) for r in answers.itertuples() for cause in str(r.missed).split()]
    frame = pd.DataFrame(rows, columns=["vignette", "cause"])
    counts = frame.value_counts(sort=False).rename("students").reset_index()
    order = {v: i for i, v in enumerate(dict.fromkeys(answers["vignette"]))}
    return (counts.assign(_case=counts["vignette"].map(order))
            .sort_values(["_case", "students"], ascending=[True, False], kind="stable")
            .drop(columns="_case").reset_index(drop=True))
