"""Make the example labelled cohort (examples/labelled_cohort.csv and diagnosis_map.toml).

The cases are sampled from a model whose numbers differ from the shipped ones (every
parameter perturbed on the logit scale, sd 0.4, seed 11), so that evaluating the shipped
model on them is not circular: it meets data it was not built from. Labels are given the two
ways a clinic's export has them: a column per cause (the common causes and the must-not-miss
conditions; the mimics left unlabelled, to show partial labels) and one `final_diagnosis`
column in words. 30% of findings are missing; a `visit_date` column is not the model's.

    python examples/make_labelled_cohort.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import kneebayes as kb
from kneebayes.learn import perturb
from kneebayes.outputs import write_text

HERE = Path(__file__).parent
N, SEED = 1500, 5
UNLABELLED = ("meralgia_paresthetica", "greater_trochanteric_pain", "meniscal_tear",
              "crystal_arthritis")


def main() -> None:
    shipped = kb.load_model()
    truth = kb.DiagnosticModel(perturb(shipped.config, scale=0.4, seed=11))
    cohort = truth.sample(N, seed=SEED, missing=0.3, latent=True)
    causes = list(shipped.causes)
    label = {c: shipped.config.nodes[c].label for c in causes}
    present = cohort[causes].to_numpy(dtype=bool)
    diagnosis = ["; ".join(label[c] for c, on in zip(causes, row, strict=True) if on)
                 or "no specific diagnosis" for row in present]
    out = cohort[[c for c in cohort.columns if c in shipped.findings or c in shipped.factors]]
    out = out.astype(object).where(out.notna(), "")
    out = out.replace({True: "yes", False: "no"})
    for cause in causes:
        out[cause] = "" if cause in UNLABELLED else np.where(cohort[cause], "yes", "no")
    out.insert(0, "visit_date", pd.date_range("2026-01-05", periods=N, freq="4h").date)
    out["final_diagnosis"] = diagnosis
    out.index = pd.Index([f"K{i:05d}" for i in range(N)], name="case")
    write_text(HERE / "labelled_cohort.csv", out.to_csv())
    lines = ["# Maps the final_diagnosis column of labelled_cohort.csv to the model's causes",
             "# (kneebayes evaluate --diagnosis-column final_diagnosis --map ...).",
             "[diagnoses]",
             *(f'"{label[c]}" = "{c}"' for c in causes),
             '"no specific diagnosis" = ""']
    write_text(HERE / "diagnosis_map.toml", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
