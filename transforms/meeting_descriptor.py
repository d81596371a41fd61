"""Parse and validate ``meeting.json`` into a ``Meeting``.

Errors raise ``MeetingDescriptorError`` whose message names the field, never its value.
"""
from __future__ import annotations

import json
import posixpath
from datetime import datetime, timezone
from typing import Any, Mapping, Optional, Tuple

from transforms.records import ArtifactDeclaration, Meeting, MeetingCategory, Participant

DESCRIPTOR_NAME = "meeting.json"


class MeetingDescriptorError(ValueError):
    """meeting.json is unreadable or invalid. The message names a field, not a value."""


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
        raw = json.loads(payload.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MeetingDescriptorError(f"meeting.json is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(raw, Mapping):
        raise MeetingDescriptorError("meeting.json must hold an object")
    started_at = _require_str(raw, "started_at", "meeting")
    try:
        datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        raise MeetingDescriptorError("meeting.started_at is not ISO 8601") from None
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


def meeting_date(meeting: Meeting) -> str:
    """The UTC calendar date a meeting started on: the partition its published rows go to."""
    started = datetime.fromisoformat(meeting.started_at.replace("Z", "+00:00"))
    if started.tzinfo is not None:
        started = started.astimezone(timezone.utc)
    return started.date().isoformat()


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
