"""The teaching widget (ipywidgets): tick findings present / absent / unknown and watch the
triage, the differential, the explanation and the next question move; load a vignette; or
commit to a ranking first and see how far off it was.

>>> from kneebayes.widget import TeachingWidget
>>> TeachingWidget()  # in JupyterLab  # doctest: +SKIP
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w
import pandas as pd

from . import plot
from . import vignettes as vignette_library
from .evidence import normalise_evidence
from .model import DiagnosticModel, load_model
from .summary import triage_banner_html
from .triage import NOTICE

__all__ = ["TeachingWidget", "ranking_score"]

_UNKNOWN, _YES, _NO = "?", "yes", "no"
_GROUPS = (("History", "history"), ("Examination", "examination"), ("Red flags", "red_flag"))


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

    Parameters
    ----------
    model : DiagnosticModel, optional
        The shipped model when omitted.
    vignettes : dict of str to Vignette, optional
        The shipped vignettes when omitted.
    commit_first : bool
        Start in "commit first" mode: the differential stays hidden until the student has
        ranked the top three causes and pressed *Reveal*.

    Attributes
    ----------
    widget : ipywidgets.VBox
        What the notebook displays (the object itself displays as it).
    posterior, triage, next_questions : the latest results, for scripting and tests.
    """

    def __init__(self, model: DiagnosticModel | None = None,
                 vignettes: dict | None = None, commit_first: bool = False):
        self.model = load_model() if model is None else model
        self.vignettes = vignette_library.load() if vignettes is None else vignettes
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
        self.guesses = [w.Dropdown(options=choices, description=f"Your #{i + 1}",
                                   layout=w.Layout(width="95%"))
                        for i in range(3)]
        self.reveal_button = w.Button(description="Reveal", button_style="primary")
        self.reveal_button.on_click(lambda _: self.reveal())
        self.reset_button = w.Button(description="Clear findings")
        self.reset_button.on_click(lambda _: self.set_evidence({}))
        self.banner = w.HTML()
        self.differential = w.Image(format="png")
        self.explanation = w.Image(format="png")
        self.next_table = w.HTML()
        self.score = w.HTML()
        for name, widget in (("vignette", self.vignette_picker), ("banner", self.banner),
                             ("differential", self.differential), ("score", self.score),
                             ("commit-first", self.commit_first),
                             ("reveal", self.reveal_button), ("next", self.next_table)):
            widget.add_class(f"kb-{name}")
        for i, guess in enumerate(self.guesses):
            guess.add_class(f"kb-guess-{i + 1}")
        self.revealed = not commit_first
        self._quiet = False
        left = w.VBox([self.vignette_picker, self.story, self.reset_button, accordion],
                      layout=w.Layout(width="45%"))
        right = w.VBox([self.banner, self.commit_first, *self.guesses, self.reveal_button,
                        self.score,
                        self.differential, self.cause_to_explain, self.explanation,
                        self.next_table], layout=w.Layout(width="55%"))
        self.widget = w.VBox([w.HTML(f"<b>kneebayes</b>: {html.escape(NOTICE)}"),
                              w.HBox([left, right])])
        self.refresh()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- evidence

    def evidence(self) -> dict[str, str]:
        """The ticked findings and factors (``"yes"``/``"no"``, or a factor's state)."""
        return {nid: t.value for nid, t in self.toggles.items() if t.value != _UNKNOWN}

    def set_evidence(self, evidence: dict[str, Any]) -> None:
        """Set every toggle at once (unlisted ones to unknown) and refresh once; any accepted
        spelling of a value (see :func:`kneebayes.evidence.normalise_evidence`)."""
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
        vignette = self.vignettes.get(change["new"])
        if vignette is None:
            self.story.value = ""
            return
        self.story.value = (f"<p><b>{html.escape(vignette.title)}</b><br>"
                            f"{html.escape(vignette.story)}</p>")
        self.revealed = not self.commit_first.value
        self.set_evidence(vignette.evidence)

    def _mode_changed(self, change) -> None:
        self.revealed = not change["new"]
        self.refresh()

    # -- results

    def refresh(self) -> None:
        """Recompute triage, differential, explanation and next question; redraw."""
        evidence = self.evidence()
        self.posterior = self.model.posterior(evidence)
        self.triage = self.model.triage(evidence, posterior=self.posterior)
        self.banner.value = triage_banner_html(self.triage)
        self.next_questions = self.model.next_findings(evidence, k=5)
        rows = "".join(
            f"<tr><td>{html.escape(r['label'])}</td><td>{r['information_gain']:.3f}</td>"
            f"<td>{r['p_present']:.0%}</td></tr>" for _, r in self.next_questions.iterrows())
        self.next_table.value = ("<b>Ask or examine next</b><table><tr><th>finding</th>"
                                 f"<th>bits</th><th>P(present)</th></tr>{rows}</table>")
        if not self.revealed:
            hidden = "<i>Rank the top three causes, then press Reveal.</i>"
            self.score.value = hidden
            self.differential.value = b""
            self.explanation.value = b""
            return
        post = self.posterior
        self.differential.value = plot.png(lambda ax: plot.posterior(post, model=self.model,
                                                                 ax=ax), (6, 3.2))
        cause = self.cause_to_explain.value or post.index[0]
        if evidence:
            table = self.model.explain(evidence, cause)
            self.explanation.value = plot.png(lambda ax: plot.explanation(table, ax=ax),
                                          (6, 0.35 * len(table) + 1.6))
        else:
            self.explanation.value = b""

    def reveal(self) -> pd.DataFrame | None:
        """Show the differential and score the student's ranking (commit-first mode)."""
        guess = [g.value for g in self.guesses if g.value]
        self.revealed = True
        self.refresh()
        if not guess:
            self.score.value = "<i>No ranking was given.</i>"
            return None
        self.last_score = ranking_score(guess, self.posterior)
        rows = "".join(
            f"<tr><td>{html.escape(self.model.config.nodes[c].label)}</td>"
            f"<td>{int(r['your_rank'])}</td><td>{int(r['model_rank'])}</td>"
            f"<td>{r['probability']:.0%}</td></tr>" for c, r in self.last_score.iterrows())
        self.score.value = (f"<b>Your ranking is off by {self.last_score.attrs['footrule']} "
                            "place(s) in all.</b><table><tr><th>cause</th><th>you</th>"
                            f"<th>model</th><th>P</th></tr>{rows}</table>")
        return self.last_score
