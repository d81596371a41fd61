"""Poll results as JSON, mirroring Zoom's past-meeting poll API.

``{"id": ..., "questions": [{"name": "Ann", "email": "ann@x", "question_details":
[{"question": "Q?", "answer": "A", "polling_id": ..., "date_time": ...}]}]}``, optionally
wrapped as ``{"polls": [{"title": ..., "questions"|"responses"|"participants": [...]}]}``.
Every object with a ``question_details`` list is a respondent; an object with ``question`` and
``answer`` (and optionally ``name``/``email``) outside one is a single flat answer.
One segment per answered question, ``"<question>: <answer>"``; author by e-mail, then name.
"""
from __future__ import annotations

from typing import Any, List, Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_json
from transforms.parsers.roster import Roster
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "zoom_poll_json"

_RECOGNISED_KEYS = frozenset({"polls", "questions", "responses", "participants", "question_details"})
_NAME_KEYS = ("name", "user_name", "username", "display_name")
_EMAIL_KEYS = ("email", "user_email", "email_address")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list):
        return "; ".join(part for part in (_text(v) for v in value) if part)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return ""


def _first(obj: dict, keys: Tuple[str, ...]) -> str:
    for key in keys:
        value = _text(obj.get(key))
        if value:
            return value
    return ""


def _answers(obj: dict) -> List[Tuple[str, str]]:
    question, answer = _text(obj.get("question")), _text(obj.get("answer", obj.get("answers")))
    return [(question, answer)] if question and answer else []


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    document, decoded = decode_json(payload)
    roster = Roster(context.roster)
    segments: List[ParsedSegment] = []
    recognised = False
    stack: List[Any] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        recognised = recognised or bool(_RECOGNISED_KEYS & set(node))
        details = node.get("question_details")
        flat = _answers(node)
        if isinstance(details, list) or flat:
            name, email = _first(node, _NAME_KEYS), _first(node, _EMAIL_KEYS)
            if not name:   # webinar poll reports split the name
                name = " ".join(p for p in (_first(node, ("first_name",)), _first(node, ("last_name",))) if p)
            pid: Optional[str] = (roster.match_email(email) if email else None) or roster.match(name)
            pairs = flat or [pair for d in details if isinstance(d, dict) for pair in _answers(d)]
            for question, answer in pairs:
                segments.append(ParsedSegment(f"{question}: {answer}", name or email or None, pid))
            recognised = True
            continue
        stack.extend(reversed(list(node.values())))
    if not segments:
        if recognised:
            raise ArtifactRejected(DeadLetterReason.EMPTY, "NoPollAnswers")
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "NotAPollDocument")
    return ParsedDocument(SOURCE_FORMAT, tuple(segments), decoded.encoding, decoded.fallback)
