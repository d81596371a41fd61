"""Types every parser shares. A parser is a module with ``parse(payload, context) -> ParsedDocument``.

Parsers are pure functions of bytes: no filesystem, no network, no logging of content.
They either return a ``ParsedDocument`` or raise ``ArtifactRejected`` with a reason code.
Any other exception is a parser bug; ingest catches it and dead-letters the file as
``internal_error`` (and the property tests fail).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

from pipeline.config import IngestLimits
from transforms.records import DeadLetterReason, Participant


class ArtifactRejected(Exception):
    """The payload cannot become an artifact. ``str()`` never contains payload content."""

    def __init__(self, reason: DeadLetterReason, error_class: str = ""):
        self.reason = DeadLetterReason(reason)
        self.error_class = error_class or "ArtifactRejected"
        super().__init__(f"{self.reason.value} ({self.error_class})")


@dataclass(frozen=True)
class ParseContext:
    kind: str                              # ArtifactKind value
    filename: str                          # base name only, for the extension
    roster: Tuple[Participant, ...] = ()
    limits: IngestLimits = IngestLimits()
    owner_participant_id: Optional[str] = None


@dataclass(frozen=True)
class ParsedSegment:
    text: str
    speaker_label: Optional[str] = None        # raw name / handle as written in the file
    participant_id: Optional[str] = None       # matched against the roster, None = unknown
    start_ms: Optional[int] = None
    end_ms: Optional[int] = None
    direct_message: bool = False


@dataclass(frozen=True)
class ParsedDocument:
    source_format: str                         # e.g. "webvtt", "srt", "zoom_chat_tsv", "pdf"
    segments: Tuple[ParsedSegment, ...]
    encoding: str = "utf-8"
    encoding_fallback: bool = False            # True when no BOM/UTF-8 and a fallback codec was used
