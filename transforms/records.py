"""The record model every stage shares: typed, frozen, picklable.

Nothing here carries behaviour beyond small derived properties; stages live in
their own modules. Raw text only ever lives in ``Segment.text`` (before
redaction) and in ``RedactedSegment.text`` (after); every other record is safe
to log, audit and publish because it holds ids, codes and counts only.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Optional, Tuple

PURPOSE_AI_TRAINING = "ai_training"


class ArtifactKind(str, enum.Enum):
    TRANSCRIPT = "transcript"
    CHAT = "chat"
    POLL = "poll"
    WHITEBOARD = "whiteboard"
    UPLOAD = "upload"
    DERIVED = "derived"

    @classmethod
    def parse(cls, value: str) -> "ArtifactKind":
        return cls(str(value).strip().lower())


class MeetingCategory(str, enum.Enum):
    GENERAL = "general"
    TELEHEALTH = "telehealth"
    THERAPY = "therapy"
    MEDICAL = "medical"
    LEGAL = "legal"
    HR = "hr"
    EDUCATION = "education"


class DeadLetterReason(str, enum.Enum):
    """Why an input could not be turned into an Artifact. Never carries content."""

    MALFORMED_MEETING = "malformed_meeting"      # meeting.json unreadable or invalid
    INVALID_STARTED_AT = "invalid_started_at"    # meeting.started_at unparseable or out of range
    INVALID_UNICODE = "invalid_unicode"          # meeting.json holds a string that is not Unicode text
    UNSAFE_ID = "unsafe_id"                      # an id (or folder name) that may not be published
    MEETING_ID_MISMATCH = "meeting_id_mismatch"  # meeting.json's meeting_id is not its folder's name
    DUPLICATE_MEETING_ID = "duplicate_meeting_id"  # two folders whose meeting ids differ only in case
    SYMLINK = "symlink"                          # a path component is a symbolic link: never followed
    SPECIAL_FILE = "special_file"                # not a regular file (FIFO, socket, device)
    MISSING_FILE = "missing_file"                # declared artifact path does not exist
    PATH_ESCAPE = "path_escape"                  # declared path leaves the meeting folder
    DUPLICATE_DECLARATION = "duplicate_declaration"  # a second artifact declared on the same file
    UNKNOWN_KIND = "unknown_kind"                # artifact kind not in ArtifactKind
    UNSUPPORTED_FORMAT = "unsupported_format"    # no parser for this kind + extension
    EMPTY = "empty"                              # zero bytes or no text at all
    OVERSIZED = "oversized"                      # above the configured byte limit
    ZIP_BOMB = "zip_bomb"                        # container expands beyond limits
    UNDECODABLE = "undecodable"                  # text encoding could not be determined
    BINARY_GARBAGE = "binary_garbage"            # bytes are not the declared format
    WRONG_FORMAT = "wrong_format"                # extension and content disagree
    TRUNCATED = "truncated"                      # structure ends early
    ENCRYPTED = "encrypted"                      # encrypted PDF / office document
    CORRUPT = "corrupt"                          # container or structure broken
    MALFORMED = "malformed"                      # structurally invalid for the format
    READ_ERROR = "read_error"                    # filesystem error reading the file
    INTERNAL_ERROR = "internal_error"            # a bug: parser raised unexpectedly


class SkipReason(str, enum.Enum):
    """Input files that are deliberately not artifacts."""

    UNDECLARED = "undeclared"            # a file in the meeting folder meeting.json does not list
    NOT_SELECTED = "not_selected"        # the meeting's date is outside this run's selection
    OUTSIDE_MEETING_FOLDER = "outside_meeting_folder"  # a file directly under the input root
    MEETING_DESCRIPTOR = "meeting_descriptor"  # meeting.json itself


class DropReason(str, enum.Enum):
    """Consent decisions that remove an artifact or a segment."""

    NO_GRANT = "no_grant"                                # default deny
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    EXPIRED = "expired"
    SPECIAL_CATEGORY_NOT_EXPLICIT = "special_category_not_explicit"
    PARTICIPANT_NO_GRANT = "participant_no_grant"
    PARTICIPANT_REFUSED = "participant_refused"
    PARTICIPANT_WITHDRAWN = "participant_withdrawn"
    PARTICIPANT_REVOKED = "participant_revoked"
    PARTICIPANT_EXPIRED = "participant_expired"
    UNKNOWN_SPEAKER = "unknown_speaker"
    DIRECT_MESSAGE = "direct_message"
    OWNER_NO_GRANT = "owner_no_grant"
    DERIVED_SOURCE_DROPPED = "derived_source_dropped"
    DERIVED_SOURCE_PARTIAL = "derived_source_partial"
    DERIVED_SOURCE_MISSING = "derived_source_missing"
    NO_SEGMENTS_LEFT = "no_segments_left"
    REDACTION_DROP = "redaction_drop"                    # an operator asked to drop the segment


@dataclass(frozen=True)
class Participant:
    participant_id: str
    name: str = ""
    email: str = ""
    handles: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ArtifactDeclaration:
    """One entry of meeting.json's ``artifacts`` list, as declared."""

    artifact_id: str
    kind: str                       # raw; validated by ingest into ArtifactKind
    path: str                       # relative to the meeting folder
    derived_from: Tuple[str, ...] = ()
    owner_participant_id: Optional[str] = None


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    account_id: str
    topic: str
    started_at: str                 # ISO 8601
    category: MeetingCategory
    host_participant_id: Optional[str]
    participants: Tuple[Participant, ...]
    artifacts: Tuple[ArtifactDeclaration, ...]
    folder_uri: str = ""            # where meeting.json was found (not published)

    def participant(self, participant_id: Optional[str]) -> Optional[Participant]:
        for p in self.participants:
            if p.participant_id == participant_id:
                return p
        return None


@dataclass(frozen=True)
class Segment:
    """One unit of text a consent decision and redaction act on."""

    segment_id: str                 # stable: f"{meeting_id}/{artifact_id}:{index:05d}"
    participant_id: Optional[str]   # None: unknown speaker / author
    speaker_label: Optional[str]    # raw name as it appeared (PII; never published)
    start_ms: Optional[int]
    end_ms: Optional[int]
    text: str
    direct_message: bool = False


@dataclass(frozen=True)
class Artifact:
    artifact_id: str
    meeting_id: str
    kind: ArtifactKind
    source_uri: str                 # never published; fingerprinted in outputs
    derived_from: Tuple[str, ...]
    fingerprint: str                # sha256 of the raw bytes
    source_format: str              # e.g. "webvtt", "zoom_chat_tsv"
    segments: Tuple[Segment, ...]
    owner_participant_id: Optional[str] = None
    encoding: str = "utf-8"
    encoding_fallback: bool = False


@dataclass(frozen=True)
class DeadLetter:
    meeting_id: str
    artifact_id: Optional[str]
    source_fingerprint: str         # sha256 of the source URI, never the path itself
    stage: str                      # "ingest", "consent", "redact", ...
    reason: DeadLetterReason
    error_class: str
    kind: Optional[str] = None
    extension: Optional[str] = None


@dataclass(frozen=True)
class SkippedFile:
    meeting_id: str
    source_fingerprint: str
    reason: SkipReason
    extension: Optional[str] = None


@dataclass(frozen=True)
class ConsentDecision:
    """One audit row: an artifact-level (segment_id None) or segment-level decision."""

    meeting_id: str
    artifact_id: str
    segment_id: Optional[str]
    kind: str
    allowed: bool
    reason: str                      # DropReason value, or "granted"
    event_ids: Tuple[str, ...] = ()
    # The consent subjects the decision was taken for (ids only; set by the policy), so that
    # ``gatekeeper audit`` can re-decide a published row later without the run.
    account_id: Optional[str] = None
    category: Optional[str] = None               # the meeting's category
    participant_id: Optional[str] = None         # segment: its author; artifact: its declared owner
    roster_participant_ids: Tuple[str, ...] = ()  # artifact-level decisions: the meeting's roster


@dataclass(frozen=True)
class GatedArtifact:
    """An artifact after the consent gate: only allowed segments remain."""

    meeting: Meeting
    artifact: Artifact                # segments already filtered to the allowed ones
    consent_event_ids: Tuple[str, ...]  # events that allowed the artifact as a whole
    segment_event_ids: Tuple[Tuple[str, ...], ...] = ()  # per remaining segment, same order


@dataclass(frozen=True)
class RedactedSegment:
    """A published row. Text is redacted; speaker is a pseudonym."""

    run_id: str
    meeting_id: str
    artifact_id: str
    segment_id: str
    kind: str
    source_format: str
    speaker: Optional[str]           # pseudonym token, or None for whole-artifact kinds
    start_ms: Optional[int]
    end_ms: Optional[int]
    text: str
    entity_counts: Tuple[Tuple[str, int], ...]
    consent_event_ids: Tuple[str, ...]
    purpose: str
    derived_from: Tuple[str, ...]
    source_fingerprint: str
    residual_findings: Tuple[Tuple[str, int], ...] = field(default=())
    meeting_date: str = ""           # YYYY-MM-DD (UTC) the meeting started: the row's partition
