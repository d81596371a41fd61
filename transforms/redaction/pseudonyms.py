"""Keyed pseudonyms: HMAC-SHA256 over (scope, entity type, canonical value).

Never a plain hash: without the key a token cannot be recomputed from a guessed value.
The scope decides how far a token is stable: ``dataset`` (the same value gives the same
token in every meeting) or ``meeting`` (tokens are unlinkable across meetings).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from typing import Optional

from transforms.redaction.normalize import normalize_value

MIN_KEY_BYTES = 16
PSEUDONYM_SCOPES = ("meeting", "dataset")
_DIGIT_TYPES = {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "IBAN_CODE", "MEETING_ID", "US_DRIVER_LICENSE"}
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


class PseudonymKeyError(ValueError):
    """No usable pseudonym key: redaction fails closed."""


def canonical_value(entity_type: str, value: str) -> str:
    """The form two mentions of one value share (case, spacing, separators ignored)."""
    normalized = normalize_value(value)
    if entity_type in _DIGIT_TYPES:
        return _NON_ALNUM.sub("", normalized)
    return normalized


class Pseudonymizer:
    """Makes ``<ENTITY_hex>`` tokens from a secret key."""

    def __init__(self, key: bytes, scope: str = "dataset", hex_chars: int = 8):
        if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
            raise PseudonymKeyError(f"pseudonym key missing or shorter than {MIN_KEY_BYTES} bytes")
        if scope not in PSEUDONYM_SCOPES:
            raise PseudonymKeyError("pseudonym scope must be 'meeting' or 'dataset'")
        self._key = bytes(key)
        self.scope = scope
        self.hex_chars = hex_chars

    def _scope_id(self, meeting_id: Optional[str]) -> str:
        if self.scope == "dataset":
            return "dataset"
        return "meeting:" + (meeting_id or "")

    def token_for_identity(self, entity_type: str, identity: str, meeting_id: Optional[str]) -> str:
        """Token for an already canonical identity (e.g. a participant's normalised name)."""
        message = "\x1f".join((self._scope_id(meeting_id), entity_type, identity)).encode("utf-8")
        digest = hmac.new(self._key, message, hashlib.sha256).hexdigest()
        return f"<{entity_type}_{digest[: self.hex_chars]}>"

    def token(self, entity_type: str, value: str, meeting_id: Optional[str]) -> str:
        """Token for a raw value found in text."""
        return self.token_for_identity(entity_type, canonical_value(entity_type, value), meeting_id)
