"""kneebayes: the differential diagnosis of knee pain radiating up the leg as a Bayesian network.

An educational and research tool, not a medical device.

>>> import kneebayes as kb
>>> model = kb.load_model()
>>> model.posterior({"groin_pain": True, "numbness_or_tingling": False})  # doctest: +SKIP
"""

from .config import PriorsConfig, load_config
from .errors import ConfigError, EvidenceError, KneebayesError, ModelTooLarge
from .model import DiagnosticModel, load_model
from .triage import NOTICE, Triage

__all__ = [
    "NOTICE",
    "ConfigError",
    "DiagnosticModel",
    "EvidenceError",
    "KneebayesError",
    "ModelTooLarge",
    "PriorsConfig",
    "Triage",
    "load_config",
    "load_model",
]
__version__ = "0.1.0"
