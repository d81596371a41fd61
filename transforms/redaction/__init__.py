"""PII redaction stage: Presidio-based engine, meeting-aware recognizers, keyed pseudonyms.

The engine's names load on first use, so that building a pipeline (on the driver) does not
import Presidio and spaCy; only the workers that redact do.
"""
from transforms.redaction.config import RedactionConfigError
from transforms.redaction.pseudonyms import PseudonymKeyError
from transforms.redaction.residual import PSEUDONYM_PATTERN, is_redaction_token, residual_scan

_ENGINE_NAMES = ("RedactionEngine", "RedactionRequest", "RedactionResult", "DetectedEntity")

__all__ = ["RedactionEngine", "RedactionRequest", "RedactionResult", "DetectedEntity",
           "RedactionConfigError", "PseudonymKeyError", "residual_scan", "PSEUDONYM_PATTERN",
           "is_redaction_token"]


def __getattr__(name):
    if name in _ENGINE_NAMES:
        from transforms.redaction import engine

        return getattr(engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
