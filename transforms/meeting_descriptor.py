"""Parse and validate ``meeting.json`` into a ``Meeting``.

Errors raise ``MeetingDescriptorError`` whose message names the field, never its value, and
whose ``reason`` is the dead-letter reason of the meeting.

The JSON is read strictly: duplicate keys (two readers could disagree on which one counts),
``NaN``/``Infinity``, numbers Python refuses to convert and nesting too deep are
``malformed_meeting``; a string that is not Unicode text (a lone surrogate escape such as
``"\\ud800"``, which nothing downstream can encode) anywhere in the document is
``invalid_unicode``; a ``started_at`` that does not parse, overflows when converted to UTC
(``9999-12-31T23:00:00-05:00``) or lies outside ``EARLIEST_DATE``..``LATEST_DATE`` is
``invalid_started_at``.
"""
from __future__ import annotations

import json
import posixpath
from datetime import date, datetime, timezone
from typing import Any, Mapping, Optional, Tuple

from transforms.records import ArtifactDeclaration, DeadLetterReason, Meeting, MeetingCategory, Participant

DESCRIPTOR_NAME = "meeting.json"
# The UTC dates a meeting may have started on: anything else is a broken export or clock.
EARLIEST_DATE = date(1990, 1, 1)
LATEST_DATE = date(2199, 12, 31)


class MeetingDescriptorError(ValueError):
    """meeting.json is unreadable or invalid. The message names a field, not a value."""

    def __init__(self, message: str, reason: DeadLetterReason = DeadLetterReason.MALFORMED_MEETING):
        super().__init__(message)
        self.reason = reason


def _no_duplicate_keys(pairs):
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise MeetingDescriptorError("meeting.json has duplicate keys")
    return dict(pairs)


def _no_constants(name: str):
    raise MeetingDescriptorError(f"meeting.json holds {name}, which is not JSON")


def _check_unicode(document: Any) -> None:
    """Every key and string in the document must encode as UTF-8 (no lone surrogates)."""
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings = (item,)
        elif isinstance(item, dict):
            strings = tuple(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for text in strings:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise MeetingDescriptorError("meeting.json holds a string that is not Unicode text",
                                             DeadLetterReason.INVALID_UNICODE) from None


def _require_str(raw: Mapping[str, Any], key: str, where: str, optional: bool = False) -> Optional[str]:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise MeetingDescriptorError(f"{where}.{key} must be a string")
    value = (value or "").strip()
    if not value:
        if optional:
            return None
        raise MeetingDescriptorError(f"{where}.{key} is missing")
    return value


def _participant(raw: Any, index: int) -> Participant:
    where = f"participants[{index}]"
    if not isinstance(raw, Mapping):
        raise MeetingDescriptorError(f"{where} must be an object")
    handles = raw.get("handles") or ()
    if not isinstance(handles, (list, tuple)) or not all(isinstance(h, str) for h in handles):
        raise MeetingDescriptorError(f"{where}.handles must be a list of strings")
    return Participant(
        participant_id=_require_str(raw, "participant_id", where),
        name=_require_str(raw, "name", where, optional=True) or "",
        email=_require_str(raw, "email", where, optional=True) or "",
        handles=tuple(h.strip() for h in handles if h.strip()),
    )


def _artifact(raw: Any, index: int) -> ArtifactDeclaration:
    where = f"artifacts[{index}]"
    if not isinstance(raw, Mapping):
        raise MeetingDescriptorError(f"{where} must be an object")
    derived_from = raw.get("derived_from") or []
    if not isinstance(derived_from, list) or not all(isinstance(d, str) for d in derived_from):
        raise MeetingDescriptorError(f"{where}.derived_from must be a list of artifact ids")
    return ArtifactDeclaration(
        artifact_id=_require_str(raw, "artifact_id", where),
        kind=_require_str(raw, "kind", where),
        path=_require_str(raw, "path", where),
        derived_from=tuple(derived_from),
        owner_participant_id=_require_str(raw, "owner_participant_id", where, optional=True),
    )


def parse_meeting_descriptor(payload: bytes, folder_uri: str = "") -> Meeting:
    try:
        raw = json.loads(payload.decode("utf-8-sig"), object_pairs_hook=_no_duplicate_keys,
                         parse_constant=_no_constants)
    except MeetingDescriptorError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:   # JSONDecodeError is a ValueError
        raise MeetingDescriptorError(f"meeting.json is not valid JSON ({type(exc).__name__})") from None
    _check_unicode(raw)
    if not isinstance(raw, Mapping):
        raise MeetingDescriptorError("meeting.json must hold an object")
    started_at = _require_str(raw, "started_at", "meeting")
    utc_date(started_at)
    category_raw = (_require_str(raw, "category", "meeting", optional=True) or "general").lower()
    try:
        category = MeetingCategory(category_raw)
    except ValueError:
        raise MeetingDescriptorError("meeting.category is not a known category") from None
    participants = raw.get("participants") or []
    artifacts = raw.get("artifacts") or []
    if not isinstance(participants, list):
        raise MeetingDescriptorError("meeting.participants must be a list")
    if not isinstance(artifacts, list):
        raise MeetingDescriptorError("meeting.artifacts must be a list")
    roster = tuple(_participant(p, i) for i, p in enumerate(participants))
    declared = tuple(_artifact(a, i) for i, a in enumerate(artifacts))
    _check_unique([p.participant_id for p in roster], "participants[].participant_id")
    _check_unique([a.artifact_id for a in declared], "artifacts[].artifact_id")
    return Meeting(
        meeting_id=_require_str(raw, "meeting_id", "meeting"),
        account_id=_require_str(raw, "account_id", "meeting"),
        topic=_require_str(raw, "topic", "meeting", optional=True) or "",
        started_at=started_at,
        category=category,
        host_participant_id=_require_str(raw, "host_participant_id", "meeting", optional=True),
        participants=roster,
        artifacts=declared,
        folder_uri=folder_uri,
    )


def _check_unique(values, field_name: str) -> None:
    if len(set(values)) != len(values):
        raise MeetingDescriptorError(f"{field_name} has duplicates")


def utc_date(started_at: str) -> str:
    """The UTC calendar date of an ISO 8601 time (no offset: UTC), within the plausible range.

    Raises ``MeetingDescriptorError`` (``invalid_started_at``) otherwise.
    """
    try:
        started = datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        raise MeetingDescriptorError("meeting.started_at is not ISO 8601",
                                     DeadLetterReason.INVALID_STARTED_AT) from None
    try:
        if started.tzinfo is not None:
            started = started.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        started = None
    if started is None or not EARLIEST_DATE <= started.date() <= LATEST_DATE:
        raise MeetingDescriptorError("meeting.started_at is out of range", DeadLetterReason.INVALID_STARTED_AT)
    return started.date().isoformat()


def meeting_date(meeting: Meeting) -> str:
    """The UTC calendar date a meeting started on: the partition its published rows go to."""
    return utc_date(meeting.started_at)


def resolve_artifact_path(declared_path: str) -> Optional[str]:
    """The declared path normalised relative to its meeting folder, or None if it escapes it.

    Rejects absolute paths, URL schemes, drive letters, backslash tricks and ``..`` that
    climbs out of the folder.
    """
    if not declared_path or "\x00" in declared_path:
        return None
    candidate = declared_path.replace("\\", "/")
    if candidate.startswith("/") or "://" in candidate or (len(candidate) > 1 and candidate[1] == ":"):
        return None
    normalised = posixpath.normpath(candidate)
    if normalised in (".", "") or normalised == ".." or normalised.startswith("../"):
        return None
    return normalised


def declared_paths(meeting: Meeting) -> Tuple[Tuple[ArtifactDeclaration, Optional[str]], ...]:
    return tuple((a, resolve_artifact_path(a.path)) for a in meeting.artifacts)
