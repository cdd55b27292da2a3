"""Checks of the model against the literature: single-finding likelihood ratios implied by
the network beside the published ones (`clinical-evidence.md`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from .model import DiagnosticModel

__all__ = ["PUBLISHED_LIKELIHOOD_RATIOS", "PublishedLR", "likelihood_ratios"]


class PublishedLR(NamedTuple):
    finding: str
    cause: str
    published: float
    tolerance: float  # allowed factor between model and publication (other populations)
    source: str


PUBLISHED_LIKELIHOOD_RATIOS = (
    PublishedLR("pain_on_stairs_or_squatting", "pfps", 1.8, 2.0,
                "Nunes 2013, pain on squatting -> PFPS"),
    PublishedLR("patellar_grind_positive", "pfps", 1.18, 2.0,
                "Doberstein 2008, Clarke's sign -> chondromalacia"),
    PublishedLR("groin_pain", "hip_referred_pain", 2.84, 2.0,
                "Khan 2004, groin pain -> hip OA vs spinal stenosis"),
    PublishedLR("reduced_hip_internal_rotation", "hip_referred_pain", 4.83, 2.0,
                "restricted IR in neutral -> FAI, n=63"),
    PublishedLR("numbness_or_tingling", "lumbar_radiculopathy", 1.65, 2.5,
                "Tawa 2017, sensory deficit -> radiculopathy"),
    PublishedLR("straight_leg_raise_positive", "lumbar_radiculopathy", 1.28, 2.5,
                "van der Windt 2010 (Cochrane), SLR -> disc herniation"),
    PublishedLR("femoral_nerve_stretch_positive", "lumbar_radiculopathy", 5.0, 2.5,
                "Suri 2011, FNST -> L2-L4 root impingement (>= 5)"),
)


def likelihood_ratios(model: DiagnosticModel) -> pd.DataFrame:
    """The positive likelihood ratio P(f | c) / P(f | not c) the model implies for each
    published pair, every other node marginalised: posterior odds over prior odds."""
    rows = []
    prior = model.prior()
    for item in PUBLISHED_LIKELIHOOD_RATIOS:
        post = model.posterior({item.finding: True})[item.cause]
        p0 = prior[item.cause]
        lr = (post / (1 - post)) / (p0 / (1 - p0))
        rows.append({**item._asdict(), "model": lr,
                     "within_tolerance": abs(np.log(lr / item.published))
                     <= np.log(item.tolerance)})
    return pd.DataFrame(rows).set_index(["finding", "cause"])
