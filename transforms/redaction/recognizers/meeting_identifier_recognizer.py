"""Meeting identifiers: join URLs (with passcodes), meeting IDs, passcodes, dial strings."""
from __future__ import annotations

import re
from typing import List

from presidio_analyzer import LocalRecognizer, RecognizerResult

_HOSTS = r"(?:[\w-]+\.)*(?:zoom\.us|zoomgov\.com|zoom\.com|teams\.microsoft\.com|teams\.live\.com|meet\.google\.com|webex\.com|gotomeet\.me|gotomeeting\.com|whereby\.com|bluejeans\.com|chime\.aws|meet\.jit\.si)"
_URL = re.compile(rf"(?:https?://)?{_HOSTS}/[^\s<>\"')\]]+", re.IGNORECASE)
_PWD_PARAM = re.compile(r"[?&](?:pwd|passcode|password|pin)=[^\s&<>\"')\]]+", re.IGNORECASE)
_GOOGLE_CODE = re.compile(r"(?<![\w-])[a-z]{3}-[a-z]{4}-[a-z]{3}(?![\w-])")
_LABELLED_ID = re.compile(
    r"\b(?:meeting|webinar|conference|access|room)[ \t]*(?:id|code|number|no\.?)[ \t]*[:#]?[ \t]*"
    r"(?P<value>\d{3}[ \t-]?\d{3,4}[ \t-]?\d{3,5})(?!\d)", re.IGNORECASE)
_LABELLED_PASSCODE = re.compile(
    r"\b(?:passcode|password|pass code|pwd|pin|access code)[ \t]*(?:is|:|=|#)?[ \t]*"
    r"(?P<value>(?=[^\s]*\d)[^\s,;]{4,32}?)(?=[\s,;]|[.)](?:\s|$)|$)", re.IGNORECASE)
_DIAL_STRING = re.compile(r"(?<![\w+])\+?\d[\d \t().-]{6,}\d(?:,,[\d#*]+)+#?")


class MeetingIdentifierRecognizer(LocalRecognizer):
    """Regex recognizer for the identifiers that let someone join or find a meeting."""

    ENTITIES = ["MEETING_URL", "MEETING_ID", "MEETING_PASSCODE"]

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=list(self.ENTITIES), supported_language=supported_language,
                         name="MeetingIdentifierRecognizer")

    def load(self) -> None:  # noqa: D102
        pass

    def _result(self, entity: str, start: int, end: int, score: float) -> RecognizerResult:
        metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
        return RecognizerResult(entity, start, end, score, recognition_metadata=metadata)

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        out: List[RecognizerResult] = []
        lowered = text.lower()
        if any(h in lowered for h in ("zoom", "teams", "meet", "webex", "goto", "whereby", "bluejeans", "chime", "jit.si")):
            for m in _URL.finditer(text):
                end = m.end()
                while end > m.start() and text[end - 1] in ".,;:!?":
                    end -= 1
                out.append(self._result("MEETING_URL", m.start(), end, 1.0))
            for m in _GOOGLE_CODE.finditer(text):
                out.append(self._result("MEETING_ID", m.start(), m.end(), 0.6))
        for m in _PWD_PARAM.finditer(text):
            out.append(self._result("MEETING_PASSCODE", m.start() + 1, m.end(), 1.0))
        if any(ch.isdigit() for ch in text):
            for m in _LABELLED_ID.finditer(text):
                out.append(self._result("MEETING_ID", m.start("value"), m.end("value"), 0.9))
            for m in _LABELLED_PASSCODE.finditer(text):
                out.append(self._result("MEETING_PASSCODE", m.start("value"), m.end("value"), 0.9))
            for m in _DIAL_STRING.finditer(text):
                out.append(self._result("MEETING_ID", m.start(), m.end(), 0.9))
        return out
