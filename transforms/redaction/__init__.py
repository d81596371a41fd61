"""PII redaction stage: Presidio-based engine, meeting-aware recognizers, keyed pseudonyms."""
from transforms.redaction.config import RedactionConfigError
from transforms.redaction.engine import DetectedEntity, RedactionEngine, RedactionRequest, RedactionResult
from transforms.redaction.pseudonyms import PseudonymKeyError
from transforms.redaction.residual import PSEUDONYM_PATTERN, is_redaction_token, residual_scan

__all__ = ["RedactionEngine", "RedactionRequest", "RedactionResult", "DetectedEntity",
           "RedactionConfigError", "PseudonymKeyError", "residual_scan", "PSEUDONYM_PATTERN",
           "is_redaction_token"]
