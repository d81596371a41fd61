"""IBANs in any case and with or without group spaces, validated with the ISO 7064 mod-97 check."""
from __future__ import annotations

import re
from typing import List

from presidio_analyzer import LocalRecognizer, RecognizerResult

from transforms.redaction.residual import iban_valid

_IBAN = re.compile(r"(?<![\w-])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,3})?(?![\w-])")


class IbanCodeRecognizer(LocalRecognizer):
    """Case-insensitive IBAN recognizer (Presidio's only accepts upper-case country codes)."""

    ENTITY = "IBAN_CODE"

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         name="IbanCodeRecognizer")

    def load(self) -> None:  # noqa: D102
        pass

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        out: List[RecognizerResult] = []
        for m in _IBAN.finditer(text):
            candidate = m.group(0)
            # a trailing word that is not part of the IBAN may have been swallowed; shrink until valid
            while candidate and not iban_valid(candidate):
                cut = candidate.rfind(" ")
                if cut < 0:
                    break
                candidate = candidate[:cut]
            if candidate and iban_valid(candidate):
                metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                            RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
                out.append(RecognizerResult(self.ENTITY, m.start(), m.start() + len(candidate), 1.0,
                                            recognition_metadata=metadata))
        return out
