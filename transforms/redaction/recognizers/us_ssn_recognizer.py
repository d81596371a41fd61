"""US social security numbers by their structure, including well-known sample numbers.

Presidio's UsSsnRecognizer drops numbers it considers samples (078-05-1120, 123-45-6789...).
In a training-data gate a sample-looking SSN is still SSN-shaped text that the residual scan
flags, so this recognizer accepts every number the structural rules allow (area not 000, 666
or 9xx; group not 00; serial not 0000), with dashes or spaces, and a bare 9-digit run only
when "SSN" / "social security" appears nearby.
"""
from __future__ import annotations

import re
from typing import List

from presidio_analyzer import LocalRecognizer, RecognizerResult

from transforms.redaction.residual import ssn_valid

_SEPARATED = re.compile(r"(?<![\d-])(\d{3})[- ](\d{2})[- ](\d{4})(?![\d-])")
_BARE = re.compile(r"(?<!\d)(\d{3})(\d{2})(\d{4})(?!\d)")
_CONTEXT = re.compile(r"\b(?:ssn|ss#|social\s+security)\b", re.IGNORECASE)
_CONTEXT_WINDOW = 40


class UsSsnStructureRecognizer(LocalRecognizer):
    ENTITY = "US_SSN"

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         name="UsSsnStructureRecognizer")

    def load(self) -> None:  # noqa: D102
        pass

    def _result(self, start: int, end: int, score: float) -> RecognizerResult:
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return RecognizerResult(self.ENTITY, start, end, score, recognition_metadata=metadata)

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        out = [self._result(m.start(), m.end(), 0.85) for m in _SEPARATED.finditer(text) if ssn_valid(*m.groups())]
        for m in _BARE.finditer(text):
            window = text[max(0, m.start() - _CONTEXT_WINDOW):m.start()]
            if ssn_valid(*m.groups()) and _CONTEXT.search(window):
                out.append(self._result(m.start(), m.end(), 0.75))
        return out
