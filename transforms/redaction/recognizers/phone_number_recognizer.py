"""Phone numbers in national and international notations, without a region guess.

Presidio's ``PhoneRecognizer`` only accepts numbers ``phonenumbers`` can parse for a
handful of regions, so short national forms (``089 72 63 41``, ``(88) 684-334``,
``50-98-28-96``) slip through. This recognizer accepts 7 to 15 digits in groups
with consistent separators, with an optional country code, area code in brackets
and extension, and rejects dates, year ranges, times and decimal numbers.
"""
from __future__ import annotations

import re
from typing import List

from presidio_analyzer import LocalRecognizer, RecognizerResult

_PHONE = re.compile(
    r"(?<![\w+/.:-])(?<!\d,)"
    r"(?P<number>"
    r"(?:\+|00)?(?:\d{1,3}[ .-]?)?"             # country code / trunk prefix
    r"(?:\(\d{1,4}\)[ .-]?)?"                   # area code in brackets
    r"(?:\d{2,5}(?:[ .-]\d{2,8}){0,4}|\d{6,15})"  # digit groups, or one run
    r")"
    r"(?P<ext>[ ]?(?:x|ext\.?|#)[ ]?\d{1,6})?"
    r"(?!\w|-\d|[.,]\d)"
)
_DATE_LIKE = re.compile(r"^(?:(?:19|20)\d\d[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./](?:19|20)?\d\d)$")
_YEAR_RANGE = re.compile(r"^(?:19|20)\d\d ?[-–] ?(?:(?:19|20)\d\d|\d\d)$")
_SSN_SHAPE = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_IP_SHAPE = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_SEP = re.compile(r"[ .()-]+")


class PhoneNumberRecognizer(LocalRecognizer):
    """Phone numbers with 7-15 digits; separators must be used consistently."""

    ENTITY = "PHONE_NUMBER"

    def __init__(self, supported_language: str = "en", min_digits: int = 7, max_digits: int = 15):
        self.min_digits = min_digits
        self.max_digits = max_digits
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         name="PhoneNumberRecognizer")

    def load(self) -> None:  # noqa: D102
        pass

    def _score(self, number: str) -> float:
        digits = sum(ch.isdigit() for ch in number)
        if not self.min_digits <= digits <= self.max_digits:
            return 0.0
        if _DATE_LIKE.match(number) or _YEAR_RANGE.match(number) or _SSN_SHAPE.match(number) or _IP_SHAPE.match(number):
            return 0.0
        separators = {s.strip() or " " for s in _SEP.findall(number.lstrip("+"))}
        separators.discard("(")
        groups = [g for g in _SEP.split(number.lstrip("+")) if g]
        if len(groups) == 1:
            # a bare run of digits: phone-like only at 10+ digits or with a "+"
            return 0.6 if digits >= 10 or number.startswith("+") else 0.0
        if len(groups) == 2 and "." in separators:
            return 0.0              # a decimal number, not a phone number
        if len({s for s in separators if s not in ("(", ")")}) > 2:
            return 0.0
        return 0.75 if digits >= 9 else 0.6

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        out: List[RecognizerResult] = []
        digit_count = 0
        for ch in text:
            if ch.isdigit():
                digit_count += 1
                if digit_count >= self.min_digits:
                    break
        else:
            return out
        for m in _PHONE.finditer(text):
            number = m.group("number").strip()
            score = self._score(number)
            if score <= 0.0:
                continue
            metadata = {RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                        RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id}
            start = m.start("number") + (len(m.group("number")) - len(m.group("number").lstrip()))
            out.append(RecognizerResult(self.ENTITY, start, m.end(), score, recognition_metadata=metadata))
        return out
