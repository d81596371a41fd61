"""Small builders for consent tests (records in the real shapes, no content of interest)."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable, Optional, Sequence, Tuple

from transforms.consent.events import ConsentEvent, ConsentStatus, SubjectType
from transforms.records import (
    Artifact,
    ArtifactDeclaration,
    ArtifactKind,
    Meeting,
    MeetingCategory,
    Participant,
    Segment,
)

AS_OF = datetime(2025, 6, 1, tzinfo=timezone.utc)


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


def event(event_id: str, subject_type: str, subject_id: str, status: str = "granted",
          kinds: Sequence[str] = ("*",), at: str = "2024-01-01T00:00:00+00:00",
          expires: Optional[str] = None, special: bool = False, purpose: str = "ai_training") -> ConsentEvent:
    return ConsentEvent(
        event_id=event_id,
        subject_type=SubjectType(subject_type),
        subject_id=subject_id,
        purpose=purpose,
        artifact_kinds=tuple(sorted(kinds)),
        status=ConsentStatus(status),
        effective_at=ts(at),
        expires_at=ts(expires) if expires else None,
        special_category=special,
    )


def meeting(meeting_id: str = "m1", account_id: str = "acc1", category: str = "general",
            participants: Iterable[str] = ("p1", "p2"),
            declarations: Iterable[ArtifactDeclaration] = ()) -> Meeting:
    return Meeting(
        meeting_id=meeting_id,
        account_id=account_id,
        topic="weekly sync",
        started_at="2025-01-01T10:00:00+00:00",
        category=MeetingCategory(category),
        host_participant_id=None,
        participants=tuple(Participant(participant_id=p, name=f"Person {p}") for p in participants),
        artifacts=tuple(declarations),
    )


def artifact(artifact_id: str, kind: str, authors: Sequence[Optional[str]] = ("p1", "p2"),
             meeting_id: str = "m1", derived_from: Tuple[str, ...] = (), owner: Optional[str] = None,
             direct_messages: Sequence[int] = ()) -> Artifact:
    segments = tuple(
        Segment(
            segment_id=f"{artifact_id}:{index:05d}",
            participant_id=author,
            speaker_label=None if author is None else f"Person {author}",
            start_ms=index * 1000,
            end_ms=index * 1000 + 900,
            text=f"line {index}",
            direct_message=index in direct_messages,
        )
        for index, author in enumerate(authors)
    )
    return Artifact(
        artifact_id=artifact_id,
        meeting_id=meeting_id,
        kind=ArtifactKind(kind),
        source_uri=f"/data/{meeting_id}/{artifact_id}",
        derived_from=tuple(derived_from),
        fingerprint="0" * 64,
        source_format="test",
        segments=segments,
        owner_participant_id=owner,
    )


def account_and_participant_grants(meeting_id: str = "m1", account_id: str = "acc1",
                                   participants: Iterable[str] = ("p1", "p2"), special: bool = False):
    events = [event("e-acc", "account", account_id, special=special)]
    if special:
        events.append(event("e-mtg", "meeting", meeting_id, special=True))
    events.extend(event(f"e-{p}", "participant", p, special=special) for p in participants)
    return events
