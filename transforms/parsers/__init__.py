"""``parse_artifact``: route a payload to its parser by kind, extension and content sniffing.

Order of checks (first failure wins, nothing is parsed before the cheap checks):
unknown kind → UNKNOWN_KIND; no parser for kind + extension → UNSUPPORTED_FORMAT;
``len(payload) > limits.max_file_bytes`` → OVERSIZED; blank payload → EMPTY; content that
belongs to another format (a ".pdf" that is text, a ".vtt" that is a PDF...) → WRONG_FORMAT;
then the parser. Parser modules are imported lazily so that a missing optional parser
(binary formats) makes only its own formats UNSUPPORTED_FORMAT.

Whatever the bytes, this function returns a ``ParsedDocument`` with at least one segment or
raises ``ArtifactRejected``.
"""
from __future__ import annotations

import importlib
import posixpath
from typing import Dict, Optional, Tuple

from pipeline.config import IngestLimits
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import is_blank, is_blank_bytes
from transforms.parsers.roster import Roster
from transforms.records import ArtifactKind, DeadLetterReason, Participant

__all__ = ["parse_artifact", "parser_module_for", "ROUTES", "ArtifactRejected", "ParseContext",
           "ParsedDocument", "ParsedSegment"]

# (kind, extension) → parser module name inside transforms.parsers.
ROUTES: Dict[Tuple[ArtifactKind, str], str] = {
    (ArtifactKind.TRANSCRIPT, "vtt"): "webvtt",
    (ArtifactKind.TRANSCRIPT, "srt"): "srt",
    (ArtifactKind.TRANSCRIPT, "sbv"): "sbv",
    (ArtifactKind.TRANSCRIPT, "json"): "zoom_transcript_json",
    (ArtifactKind.CHAT, "txt"): "zoom_chat",
    (ArtifactKind.POLL, "csv"): "poll_csv",
    (ArtifactKind.POLL, "json"): "poll_json",
    (ArtifactKind.WHITEBOARD, "json"): "whiteboard_json",
    (ArtifactKind.WHITEBOARD, "svg"): "whiteboard_svg",
    (ArtifactKind.WHITEBOARD, "pdf"): "pdf",
    (ArtifactKind.WHITEBOARD, "png"): "image_ocr",
    (ArtifactKind.WHITEBOARD, "jpg"): "image_ocr",
    (ArtifactKind.WHITEBOARD, "jpeg"): "image_ocr",
    (ArtifactKind.UPLOAD, "pdf"): "pdf",
    (ArtifactKind.UPLOAD, "docx"): "docx",
    (ArtifactKind.UPLOAD, "pptx"): "pptx",
    (ArtifactKind.UPLOAD, "xlsx"): "xlsx",
    (ArtifactKind.UPLOAD, "csv"): "csv_table",
    (ArtifactKind.UPLOAD, "txt"): "plain_text",
    (ArtifactKind.UPLOAD, "md"): "plain_text",
    (ArtifactKind.UPLOAD, "html"): "html",
    (ArtifactKind.UPLOAD, "htm"): "html",
    (ArtifactKind.DERIVED, "json"): "derived_json",
    (ArtifactKind.DERIVED, "txt"): "plain_text",
    (ArtifactKind.DERIVED, "md"): "plain_text",
}

# Magic numbers of the binary formats we route (and of common binaries we must not read as text).
_MAGIC: Tuple[Tuple[str, Tuple[bytes, ...]], ...] = (
    ("pdf", (b"%PDF-",)),
    ("zip", (b"PK\x03\x04", b"PK\x05\x06")),
    ("png", (b"\x89PNG\r\n\x1a\n",)),
    ("jpeg", (b"\xff\xd8\xff",)),
    ("gif", (b"GIF87a", b"GIF89a")),
    ("ole", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),   # legacy .doc/.xls, encrypted OOXML
    ("gzip", (b"\x1f\x8b",)),
)
_EXPECTED_MAGIC = {"pdf": "pdf", "docx": "zip", "pptx": "zip", "xlsx": "zip",
                   "png": "png", "jpg": "jpeg", "jpeg": "jpeg"}
_OOXML = frozenset({"docx", "pptx", "xlsx"})
# Password-protected OOXML files are OLE containers holding an "EncryptionInfo" stream.
_OLE_ENCRYPTION_STREAM = "EncryptionInfo".encode("utf-16-le")


def extension_of(filename: str) -> str:
    base = posixpath.basename(str(filename).replace("\\", "/"))
    _, dot, ext = base.rpartition(".")
    return ext.lower().strip() if dot and _ else ""


def sniff_magic(payload: bytes) -> Optional[str]:
    """The binary container a payload starts with, or None. PDF headers may sit in the first KiB."""
    for name, signatures in _MAGIC:
        if payload.startswith(signatures):
            return name
    if b"%PDF-" in payload[:1024]:
        return "pdf"
    return None


def parser_module_for(kind: str, filename: str) -> str:
    """Module name for kind + filename, or ArtifactRejected(UNKNOWN_KIND / UNSUPPORTED_FORMAT)."""
    try:
        artifact_kind = ArtifactKind.parse(kind)
    except (ValueError, TypeError):
        raise ArtifactRejected(DeadLetterReason.UNKNOWN_KIND, "UnknownKind") from None
    module = ROUTES.get((artifact_kind, extension_of(filename)))
    if module is None:
        raise ArtifactRejected(DeadLetterReason.UNSUPPORTED_FORMAT, "NoParserForExtension")
    return module


def _check_content(extension: str, payload: bytes) -> None:
    magic = sniff_magic(payload)
    expected = _EXPECTED_MAGIC.get(extension)
    if expected is not None:
        if magic == "ole" and extension in _OOXML and _OLE_ENCRYPTION_STREAM in payload:
            raise ArtifactRejected(DeadLetterReason.ENCRYPTED, "EncryptedOoxml")
        if magic != expected:
            raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, f"Not{extension.upper()}")
    elif magic is not None and extension != "svg":
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "BinaryContainerInTextFormat")


def _load(module_name: str):
    try:
        return importlib.import_module(f"{__name__}.{module_name}")
    except ImportError:
        raise ArtifactRejected(DeadLetterReason.UNSUPPORTED_FORMAT, "ParserUnavailable") from None


def _finish(document: ParsedDocument, roster: Roster) -> ParsedDocument:
    """Drop blank segments, fill roster matches a parser left open, reject empty documents."""
    segments = []
    for segment in document.segments:
        if not isinstance(segment, ParsedSegment) or not isinstance(segment.text, str) or is_blank(segment.text):
            continue
        if segment.participant_id is None and segment.speaker_label and roster:
            matched = roster.match(segment.speaker_label)
            if matched is not None:
                segment = ParsedSegment(segment.text, segment.speaker_label, matched, segment.start_ms,
                                        segment.end_ms, segment.direct_message)
        segments.append(segment)
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoSegments")
    if len(segments) == len(document.segments) and all(a is b for a, b in zip(segments, document.segments)):
        return document
    return ParsedDocument(document.source_format, tuple(segments), document.encoding, document.encoding_fallback)


def parse_artifact(
    payload: bytes,
    *,
    kind: str,
    filename: str,
    roster: Tuple[Participant, ...] = (),
    limits: IngestLimits = IngestLimits(),
    owner_participant_id: Optional[str] = None,
) -> ParsedDocument:
    """Parse one artifact's bytes; raises only ``ArtifactRejected`` for bad input."""
    module_name = parser_module_for(kind, filename)
    payload = bytes(payload)
    if len(payload) > limits.max_file_bytes:
        raise ArtifactRejected(DeadLetterReason.OVERSIZED, "AboveMaxFileBytes")
    if is_blank_bytes(payload):
        raise ArtifactRejected(DeadLetterReason.EMPTY, "EmptyPayload")
    extension = extension_of(filename)
    _check_content(extension, payload)
    context = ParseContext(
        kind=ArtifactKind.parse(kind).value,
        filename=posixpath.basename(str(filename).replace("\\", "/")),
        roster=tuple(roster),
        limits=limits,
        owner_participant_id=owner_participant_id,
    )
    document = _load(module_name).parse(payload, context)
    return _finish(document, Roster(context.roster))
