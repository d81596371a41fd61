"""Mentions of one meeting's participants: full, first and last names, e-mails, handles.

A roster value is PII wherever it appears in that meeting's text, in any case and in
possessive form (``Alice's``), matched on word boundaries. Each match carries the
participant's canonical identity in ``recognition_metadata['participant_key']`` so
the pseudonymiser gives a mention the same token as the speaker field.
"""
from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Tuple

from presidio_analyzer import LocalRecognizer, RecognizerResult
from spacy.lang.en.stop_words import STOP_WORDS

from transforms.records import Participant
from transforms.redaction.normalize import normalize_value

PARTICIPANT_KEY = "participant_key"
_NAME_SPLIT = re.compile(r"[\s,]+")
_MIN_PART_CHARS = 2


def participant_identity(participant: Participant) -> str:
    """Canonical identity of a participant: normalised full name, else e-mail, else id."""
    if participant.name.strip():
        return normalize_value(participant.name)
    if participant.email.strip():
        return normalize_value(participant.email)
    return "id:" + participant.participant_id


def _aliases(participant: Participant) -> Iterable[Tuple[str, bool]]:
    """(alias, case_sensitive) pairs for one participant."""
    name = " ".join(participant.name.split())
    if name:
        yield name, False
        parts = [p.strip(".'\u2019") for p in _NAME_SPLIT.split(name) if p.strip(".'\u2019")]
        if len(parts) > 1:
            for part in (parts[0], parts[-1]):
                if len(part) < _MIN_PART_CHARS:
                    continue
                # common words (e.g. "Will", "May") only count when capitalised
                yield part, part.casefold() in STOP_WORDS
    email = participant.email.strip()
    if email:
        yield email, False
    for handle in participant.handles:
        handle = handle.strip()
        if len(handle) >= _MIN_PART_CHARS:
            yield handle, False
            if handle.startswith("@") and len(handle) > 2:
                yield handle[1:], False


class RosterRecognizer(LocalRecognizer):
    """Finds the roster of one meeting in its text (built per meeting, cached by the engine)."""

    ENTITY = "PERSON"

    def __init__(self, roster: Tuple[Participant, ...], supported_language: str = "en"):
        self._identity_by_alias: Dict[str, Optional[str]] = {}
        insensitive: List[str] = []
        sensitive: List[str] = []
        for participant in roster:
            identity = participant_identity(participant)
            for alias, case_sensitive in _aliases(participant):
                key = normalize_value(alias)
                if not key:
                    continue
                previous = self._identity_by_alias.get(key, identity)
                # an alias two participants share is still PII but identifies no one
                self._identity_by_alias[key] = identity if previous == identity else None
                (sensitive if case_sensitive else insensitive).append(alias)
        self._insensitive = self._compile(insensitive, re.IGNORECASE)
        self._sensitive = self._compile(sensitive, 0)
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         name="RosterRecognizer")

    @staticmethod
    def _compile(aliases: List[str], flags: int) -> Optional[re.Pattern]:
        unique = sorted(set(aliases), key=lambda a: (-len(a), a))
        if not unique:
            return None
        body = "|".join(r"\s+".join(re.escape(w) for w in a.split()) for a in unique)
        return re.compile(rf"(?<![\w@.\-])(?:{body})(?![\w@]|\.\w)", flags | re.UNICODE)

    def load(self) -> None:  # noqa: D102 - nothing to load
        pass

    def identity_for(self, mention: str) -> Optional[str]:
        """The participant identity a mention (any case, possessive) refers to, if unique."""
        return self._identity_by_alias.get(normalize_value(mention))

    def analyze(self, text: str, entities: List[str], nlp_artifacts=None) -> List[RecognizerResult]:  # noqa: D102
        results: List[RecognizerResult] = []
        for pattern in (self._insensitive, self._sensitive):
            if pattern is None:
                continue
            for match in pattern.finditer(text):
                identity = self.identity_for(match.group(0))
                metadata = {
                    RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                    RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                    PARTICIPANT_KEY: identity,
                }
                results.append(RecognizerResult(self.ENTITY, match.start(), match.end(), 1.0,
                                                 recognition_metadata=metadata))
        return results
