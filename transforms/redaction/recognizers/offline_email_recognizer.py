"""Presidio's e-mail recognizer, validating domains against the bundled suffix list."""
from __future__ import annotations

from presidio_analyzer.predefined_recognizers import EmailRecognizer

from transforms.redaction.offline import has_public_suffix


class OfflineEmailRecognizer(EmailRecognizer):
    """Same patterns and context as ``EmailRecognizer``; ``validate_result`` never fetches."""

    def __init__(self, supported_language: str = "en", **kwargs):
        super().__init__(supported_language=supported_language, name="OfflineEmailRecognizer", **kwargs)

    def validate_result(self, pattern_text: str) -> bool:  # noqa: D102
        return has_public_suffix(pattern_text)
