"""Text normalisation shared by the roster recognizer and the pseudonymiser."""
from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_POSSESSIVE = re.compile(r"(?:['\u2019]s|['\u2019])$", re.IGNORECASE)
_EDGE_PUNCT = " \t\r\n.,;:!?\"()[]{}<>«»“”‘’'`"


def normalize_value(value: str) -> str:
    """Case-, width- and spacing-insensitive form of a PII value (possessive stripped)."""
    text = unicodedata.normalize("NFKC", value)
    text = _SPACE.sub(" ", text).strip(_EDGE_PUNCT)
    text = _POSSESSIVE.sub("", text).strip(_EDGE_PUNCT)
    return text.casefold()
