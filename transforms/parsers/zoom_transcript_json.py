"""Transcript JSON: one entry per utterance with a speaker, text and times.

Shapes accepted:
* Zoom timeline: ``{"timeline": [{"ts": "00:00:01.000", "end_ts": "...", "username": "Ann",
  "text": "..."}]}`` (speaker may also come from ``users: [{"username", "email_address"}]``);
* a list, or ``{"segments"|"transcript"|"results"|"entries"|"utterances": [...]}``, of
  ``{"speaker", "text", "start", "end"}`` with times as clock strings or seconds
  (``start_ms``/``end_ms`` in milliseconds).
Entries without text (active-speaker-only timelines) are skipped.
"""
from __future__ import annotations

import math
from typing import Any, List, Mapping, Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_json
from transforms.parsers.roster import Roster
from transforms.parsers.timecodes import clock_to_ms
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "zoom_transcript_json"

_CONTAINERS = ("timeline", "segments", "transcript", "results", "entries", "utterances")
_TEXT_KEYS = ("text", "content", "transcript", "utterance")
_SPEAKER_KEYS = ("username", "speaker", "speaker_name", "user_name", "name", "display_name")
_EMAIL_KEYS = ("email", "email_address", "user_email")
_START_KEYS = (("start_ms", 1), ("ts", 0), ("start", 0), ("start_time", 0), ("startTime", 0), ("begin", 0))
_END_KEYS = (("end_ms", 1), ("end_ts", 0), ("end", 0), ("end_time", 0), ("endTime", 0))
_MAX_MS = 10 ** 11        # ~3 years: anything larger is not a meeting offset


def time_to_ms(value: Any, already_ms: bool = False) -> Optional[int]:
    """Clock string, numeric string or number of seconds (or ms) → ms; None if unusable."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        clock = clock_to_ms(value)
        if clock is not None:
            return clock
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, (int, float)):
        return None
    number = float(value)
    if not math.isfinite(number) or number < 0:
        return None
    ms = number if already_ms else number * 1000.0
    return int(round(ms)) if ms <= _MAX_MS else None


def _first_str(entry: Mapping[str, Any], keys: Tuple[str, ...]) -> Optional[str]:
    for key in keys:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _time(entry: Mapping[str, Any], keys: Tuple[Tuple[str, int], ...]) -> Optional[int]:
    for key, is_ms in keys:
        if key in entry:
            return time_to_ms(entry[key], already_ms=bool(is_ms))
    return None


def _entries(document: Any) -> Optional[List[Any]]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for key in _CONTAINERS:
            if isinstance(document.get(key), list):
                return document[key]
    return None


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    document, decoded = decode_json(payload)
    entries = _entries(document)
    if entries is None:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "NoTranscriptEntries")
    roster = Roster(context.roster)
    segments: List[ParsedSegment] = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        text = _first_str(entry, _TEXT_KEYS)
        if text is None:
            continue
        speaker = _first_str(entry, _SPEAKER_KEYS)
        email = _first_str(entry, _EMAIL_KEYS)
        users = entry.get("users")
        if isinstance(users, list) and users and isinstance(users[0], dict):
            speaker = speaker or _first_str(users[0], _SPEAKER_KEYS)
            email = email or _first_str(users[0], _EMAIL_KEYS)
        participant_id = (roster.match_email(email) if email else None) or roster.match(speaker)
        start, end = _time(entry, _START_KEYS), _time(entry, _END_KEYS)
        if start is not None and end is not None and end < start:
            end = None
        segments.append(ParsedSegment(text, speaker or email, participant_id, start, end))
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoTranscriptText")
    return ParsedDocument(SOURCE_FORMAT, tuple(segments), decoded.encoding, decoded.fallback)
