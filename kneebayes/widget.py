"""The teaching widget (ipywidgets): tick findings present / absent / unknown and watch the
triage, the differential, the explanation and the next question move; or, in commit-first
mode on a vignette, commit three causes, a triage level and a probability before anything is
revealed, then see the triage, the score against the vignette's expert key, the model's
differential and the teaching point.

>>> from kneebayes.widget import TeachingWidget
>>> TeachingWidget()  # in JupyterLab  # doctest: +SKIP
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as w
import pandas as pd

from . import classroom, plot
from . import vignettes as vignette_library
from .config import TRIAGE_LEVELS
from .errors import KneebayesError
from .evidence import normalise_evidence
from .model import DiagnosticModel, load_model
from .reasoning import reversal_notes
from .summary import next_findings_heading, triage_banner_html
from .triage import NOTICE

__all__ = ["TeachingWidget", "ranking_score"]

_UNKNOWN, _YES, _NO = "?", "yes", "no"
_GROUPS = (("History", "history"), ("Examination", "examination"), ("Red flags", "red_flag"))
_LEVEL_WORDS = {"none": "no red flag: routine care", "see_clinician": "see a clinician soon",
                "urgent": "urgent: same day"}
_RESULT_WORDS = {"correct": "correct", "under": "UNDER-triaged (the worst error)",
                 "over": "over-triaged"}


def ranking_score(guess: list[str], posterior: pd.Series) -> pd.DataFrame:
    """How far a student's ranking of the differential is from the model's.

    Parameters
    ----------
    guess : list of str
        Cause ids, most likely first.
    posterior : pandas.Series
        The model's posterior, sorted highest first.

    Returns
    -------
    pandas.DataFrame
        One row per guessed cause: the student's rank, the model's rank, the model's
        probability and the displacement; ``attrs["footrule"]`` is the summed displacement
        (0 = the same order).
    """
    model_rank = {c: i + 1 for i, c in enumerate(posterior.index)}
    frame = pd.DataFrame(
        {
            "your_rank": range(1, len(guess) + 1),
            "model_rank": [model_rank[c] for c in guess],
            "probability": [float(posterior[c]) for c in guess],
        },
        index=pd.Index(guess, name="cause", dtype=object),
    )
    frame["off_by"] = (frame["model_rank"] - frame["your_rank"]).abs()
    frame.attrs["footrule"] = int(frame["off_by"].sum())
    return frame


class TeachingWidget:
    """Interactive differential for teaching, for JupyterLab.

    Two modes:

    - *free* (the default, or commit-first with no vignette chosen): findings entered by
      hand; the triage shows at once, first, with the differential, the explanation and the
      next question.
    - *commit first* on a vignette (a written case, not a patient): the findings are locked
      and nothing shows a cause probability or the triage until the student has committed
      three different causes in order, a triage level and, optionally, a probability that
      their first cause is the leading one. An incomplete or repeated answer is refused
      with a message. The reveal shows the triage first, then the score against the
      vignette's expert key, the model's differential beside the student's, the teaching
      point and the three findings that weigh most for the key's leading cause; then the
      findings unlock for exploring.

    Parameters
    ----------
    model : DiagnosticModel, optional
        The shipped model when omitted.
    vignettes : dict of str to Vignette, optional
        The shipped vignettes when omitted (a teacher's own: :func:`kneebayes.vignettes.load`
        of their file).
    commit_first : bool
        Start in commit-first mode.
    student : str, optional
        The student's pseudonymous id (they can also type it).
    answers : str or Path, optional
        A class's answers folder: each committed answer is appended to
        ``<answers>/<student>.csv`` as it is given (see :mod:`kneebayes.classroom`).

    Attributes
    ----------
    widget : ipywidgets.VBox
        What the notebook displays (the object itself displays as it).
    posterior, triage, next_questions : the latest results, for scripting and tests (also
        computed while hidden; only the display waits for the commit).
    last_score : classroom.Score or None
        The latest scored answer.
    """

    def __init__(self, model: DiagnosticModel | None = None,
                 vignettes: dict | None = None, commit_first: bool = False,
                 student: str | None = None, answers: str | Path | None = None):
        self.model = load_model() if model is None else model
        self.vignettes = vignette_library.load() if vignettes is None else vignettes
        self.answers = answers
        config = self.model.config
        self.toggles: dict[str, w.ToggleButtons] = {}
        for nid in (*config.findings, *config.factors):
            states = config.nodes[nid].states
            two_state = not config.nodes[nid].categorical
            toggle = w.ToggleButtons(
                options=[_UNKNOWN, _YES, _NO] if two_state else [_UNKNOWN, *states],
                value=_UNKNOWN, style={"button_width": "52px" if two_state else "64px"},
                tooltips=["not asked", "present", "absent"] if two_state
                else ["not asked", *states])
            toggle.observe(self._changed, names="value")
            toggle.add_class(f"kb-toggle-{nid}")
            self.toggles[nid] = toggle
        groups = [(title, [x for x in config.findings if config.nodes[x].kind == kind])
                  for title, kind in _GROUPS] + [("Contributing factors", list(config.factors))]
        accordion = w.Accordion(children=[
            w.VBox([w.HBox([self.toggles[nid], w.Label(config.nodes[nid].label)])
                    for nid in ids]) for _, ids in groups])
        for i, (title, _) in enumerate(groups):
            accordion.set_title(i, title)
        self.vignette_picker = w.Dropdown(
            options=[("(choose a vignette)", "")]
            + [(v.title, vid) for vid, v in self.vignettes.items()],
            description="Vignette", layout=w.Layout(width="95%"))
        self.vignette_picker.observe(self._vignette_chosen, names="value")
        self.story = w.HTML()
        self.cause_to_explain = w.Dropdown(
            options=[("the leading cause", "")]
            + [(config.nodes[c].label, c) for c in config.causes],
            description="Explain")
        self.cause_to_explain.observe(self._changed, names="value")
        self.commit_first = w.Checkbox(value=commit_first, description="Commit first")
        self.commit_first.observe(self._mode_changed, names="value")
        choices = [("-", "")] + [(config.nodes[c].label, c) for c in config.causes]
        self.student = w.Text(value=student or "", description="Student id",
                              placeholder="a pseudonym, not your name")
        self.guesses = [w.Dropdown(options=choices, description=f"Your #{i + 1}",
                                   layout=w.Layout(width="95%"))
                        for i in range(3)]
        self.triage_guess = w.Dropdown(
            options=[("-", "")] + [(_LEVEL_WORDS[t], t) for t in TRIAGE_LEVELS],
            description="Triage")
        self.probability_guess = w.Text(description="P(#1) %",
                                        placeholder="optional, 0-100")
        self.reveal_button = w.Button(description="Commit and reveal", button_style="primary")
        self.reveal_button.on_click(lambda _: self.reveal())
        self.commit_panel = w.VBox([self.student, *self.guesses, self.triage_guess,
                                    self.probability_guess, self.reveal_button])
        self.reset_button = w.Button(description="Clear findings")
        self.reset_button.on_click(lambda _: self.set_evidence({}))
        self.banner = w.HTML()
        self.differential = w.Image(format="png")
        self.explanation = w.Image(format="png")
        self.notes = w.HTML()
        self.next_table = w.HTML()
        self.score = w.HTML()
        for name, widget in (("vignette", self.vignette_picker), ("banner", self.banner),
                             ("differential", self.differential), ("score", self.score),
                             ("commit-first", self.commit_first), ("student", self.student),
                             ("triage-guess", self.triage_guess),
                             ("probability-guess", self.probability_guess),
                             ("reveal", self.reveal_button), ("next", self.next_table),
                             ("notes", self.notes)):
            widget.add_class(f"kb-{name}")
        for i, guess in enumerate(self.guesses):
            guess.add_class(f"kb-guess-{i + 1}")
        self.vignette: vignette_library.Vignette | None = None
        self.revealed = True
        self.last_score: classroom.Score | None = None
        self._quiet = False
        left = w.VBox([self.vignette_picker, self.story, self.reset_button, accordion],
                      layout=w.Layout(width="45%"))
        right = w.VBox([self.banner, self.commit_first, self.commit_panel, self.score,
                        self.differential, self.cause_to_explain, self.explanation,
                        self.notes, self.next_table], layout=w.Layout(width="55%"))
        self.widget = w.VBox([w.HTML(f"<b>kneebayes</b>: {html.escape(NOTICE)}"),
                              w.HBox([left, right])])
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def hidden(self) -> bool:
        """Whether the results wait for the student's commit: commit-first mode, on a
        vignette, before the reveal."""
        return self.commit_first.value and self.vignette is not None and not self.revealed

    # -- evidence

    def evidence(self) -> dict[str, str]:
        """The ticked findings and factors (``"yes"``/``"no"``, or a factor's state)."""
        return {nid: t.value for nid, t in self.toggles.items() if t.value != _UNKNOWN}

    def set_evidence(self, evidence: dict[str, Any]) -> None:
        """Set every toggle at once (unlisted ones to unknown) and refresh once; accepts
        exactly what :meth:`DiagnosticModel.posterior` accepts (any spelling of present or
        absent, a factor's state or a number for a banded factor such as age)."""
        # read (and refuse bad ids or values) before any toggle changes
        observed = normalise_evidence(evidence, self.model.config)
        self._quiet = True
        try:
            for nid, toggle in self.toggles.items():
                node = self.model.config.nodes[nid]
                state = observed.get(nid)
                toggle.value = (_UNKNOWN if state is None
                                else node.states[state] if node.categorical
                                else (_NO, _YES)[state])
        finally:
            self._quiet = False
        self.refresh()

    def _changed(self, _change) -> None:
        if not self._quiet:
            self.refresh()

    def _vignette_chosen(self, change) -> None:
        self.vignette = self.vignettes.get(change["new"])
        self.revealed = not self.commit_first.value
        self._clear_answer()
        if self.vignette is None:
            self.story.value = ""
            self.refresh()
            return
        self.story.value = (f"<p><b>{html.escape(self.vignette.title)}</b><br>"
                            f"{html.escape(self.vignette.story)}</p>")
        self.set_evidence(self.vignette.evidence)

    def _mode_changed(self, change) -> None:
        self.revealed = not change["new"]
        self._clear_answer()
        self.refresh()

    def _clear_answer(self) -> None:
        for guess in self.guesses:
            guess.value = ""
        self.triage_guess.value = ""
        self.probability_guess.value = ""
        self.score.value = ""
        self.last_score = None

    # -- results

    def refresh(self) -> None:
        """Recompute triage, differential, explanation and next question; redraw what the
        mode allows."""
        evidence = self.evidence()
        self.posterior = self.model.posterior(evidence)
        self.triage = self.model.triage(evidence, posterior=self.posterior)
        self.next_questions = self.model.next_findings(evidence, k=5)
        hidden = self.hidden
        self.commit_panel.layout.display = "" if hidden else "none"
        for control in (*self.toggles.values(), self.reset_button):
            control.disabled = hidden  # the case is the vignette until the reveal
        if hidden:
            self.banner.value = ("<i>The triage and the differential are hidden until you "
                                 "commit: choose three causes in order and a triage level, "
                                 "then press <b>Commit and reveal</b>.</i>")
            for image in (self.differential, self.explanation):
                image.value = b""
            self.next_table.value = self.notes.value = ""
            return
        self.banner.value = triage_banner_html(self.triage)
        self.next_table.value = self._next_html()
        post = self.posterior
        self.differential.value = plot.png(lambda ax: plot.posterior(post, model=self.model,
                                                                 ax=ax), (6, 3.2))
        cause = self.cause_to_explain.value or post.index[0]
        if evidence:
            table = self.model.explain(evidence, cause)
            self.explanation.value = plot.png(lambda ax: plot.explanation(table, ax=ax),
                                              (6, 0.35 * len(table) + 1.6))
            self.notes.value = "".join(f"<p><small>{html.escape(note)}</small></p>"
                                       for note in reversal_notes(self.model, table))
        else:
            self.explanation.value = b""
            self.notes.value = ""

    def _next_html(self) -> str:
        table = self.next_questions
        heading = html.escape(next_findings_heading(table))
        if table.empty:
            return f"<b>Ask or examine next</b><p>{heading}</p>"
        saves = "loss_reduction" in table
        rows = "".join(
            f"<tr><td>{html.escape(r['label'])}</td>"
            + (f"<td>{r['loss_reduction']:.3f}</td>" if saves else "")
            + f"<td>{r['information_gain']:.3f}</td><td>{r['p_present']:.0%}</td></tr>"
            for _, r in table.iterrows())
        head = "<th>finding</th>" + ("<th>saves</th>" if saves else "") + \
            "<th>bits</th><th>P(present)</th>"
        return (f"<b>Ask or examine next</b><p><small>{heading}</small></p>"
                f"<table><tr>{head}</tr>{rows}</table>")

    def answer(self, causes: list[str], triage: str, probability: float | None = None,
               student: str | None = None) -> classroom.Score | None:
        """Fill in the commit form (as a student would) and press *Commit and reveal*.

        `probability` is a fraction (0.7) or a percentage (70)."""
        for guess, cause in zip(self.guesses, [*causes, "", "", ""][:3], strict=True):
            guess.value = cause
        self.triage_guess.value = triage
        self.probability_guess.value = "" if probability is None else (
            f"{probability * 100:g}" if probability <= 1 else f"{probability:g}")
        if student is not None:
            self.student.value = student
        return self.reveal()

    def reveal(self) -> classroom.Score | None:
        """Commit the student's answer, reveal and score it against the vignette's key.

        In commit-first mode on a vignette: an incomplete or repeated answer is refused
        (the message says why) and nothing is revealed. Otherwise the results show, the
        answer is scored and, with an answers folder, saved. Returns the score, or None
        when nothing was scored."""
        if not self.hidden:
            self.score.value = ("<i>Nothing to commit: choose a vignette with Commit first "
                                "ticked.</i>")
            return None
        try:
            answer = self._read_answer()
            scored = classroom.score(self.model, self.vignette, answer)
            saved = (classroom.record(self.answers, scored, classroom.model_stamp(self.model))
                     if self.answers is not None else None)
        except KneebayesError as exc:
            self.score.value = f"<p style='color:#a00'>{html.escape(str(exc))}</p>"
            return None
        self.revealed = True
        self.last_score = scored
        self.refresh()
        self.score.value = self._score_html(scored, saved)
        return scored

    def _read_answer(self) -> classroom.Answer:
        text = self.probability_guess.value.strip().rstrip("%")
        try:
            probability = None if not text else float(text) / 100
        except ValueError:
            raise classroom.AnswerError(
                f"Answer not accepted: P(#1) %: expected a number from 0 to 100 or nothing, "
                f"got {self.probability_guess.value!r}.") from None
        if probability is not None and not 0 <= probability <= 1:
            raise classroom.AnswerError(
                f"Answer not accepted: P(#1) %: expected a number from 0 to 100, got "
                f"{self.probability_guess.value!r}.")
        student = self.student.value.strip()
        if not student and self.answers is not None:
            raise classroom.AnswerError("Answer not accepted: enter your student id (a "
                                        "pseudonym) so that your answer can be saved.")
        return classroom.Answer(student or "anonymous", self.vignette.id,
                                tuple(g.value for g in self.guesses), self.triage_guess.value,
                                probability)

    def _score_html(self, scored: classroom.Score, saved: bool | None) -> str:
        label = lambda c: html.escape(self.model.config.nodes[c].label)  # noqa: E731
        answer = scored.answer
        ranking = ranking_score(list(answer.causes), self.posterior)
        model_rows = list(scored.model_top.items())
        rows = "".join(
            f"<tr><td>{i + 1}</td><td>{label(c)}</td><td>{label(m)} ({p:.0%})</td></tr>"
            for i, (c, (m, p)) in enumerate(zip(answer.causes, model_rows, strict=True)))
        leading = " or ".join(label(c) for c in classroom.key_leading(self.vignette))
        lines = [
            f"<b>Triage</b>: you said <i>{_LEVEL_WORDS[answer.triage]}</i>; the key says "
            f"<i>{_LEVEL_WORDS[scored.key_triage]}</i>: "
            f"<b>{_RESULT_WORDS[scored.triage_result]}</b>.",
            f"<b>Leading cause</b>: {'right' if scored.leading_correct else 'not the key'}"
            f" (the key accepts {leading}).",
        ]
        if scored.brier is not None:
            lines.append(f"<b>Brier score</b> of your {answer.probability:.0%}: "
                         f"{scored.brier:.3f} (0 is perfect; always saying 50% scores 0.25).")
        lines.append(f"<b>Differential</b>: {scored.differential_recall:.0%} of the causes "
                     "the key says must be considered"
                     + (f"; you left out {', '.join(label(c) for c in scored.missed)}."
                        if scored.missed else "."))
        lines.append(f"Your ranking is {ranking.attrs['footrule']} place(s) from the model's.")
        evidence = "".join(f"<li>{html.escape(r['label'])} = {html.escape(r['value'])} "
                           f"(LR {r['likelihood_ratio']:.2g})</li>"
                           for _, r in scored.key_evidence.iterrows())
        saved_line = {None: "", True: "<p><small>Answer saved.</small></p>",
                      False: "<p><small>You had already answered this case: your first "
                             "answer stands.</small></p>"}[saved]
        return ("<div class='kb-reveal-score'>" + "<br>".join(lines)
                + f"<table><tr><th>#</th><th>you</th><th>model</th></tr>{rows}</table>"
                + f"<p><b>Teaching point</b>: {html.escape(scored.teaching_point)}</p>"
                + f"<p><b>What weighs most for {label(scored.key_cause)}</b>:</p>"
                + f"<ul>{evidence}</ul>{saved_line}</div>")
