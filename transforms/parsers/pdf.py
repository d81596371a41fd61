"""PDF uploads and whiteboard exports: the text layer, one segment per paragraph per page.

PDFs carry no per-paragraph author, so ``speaker_label`` is always None. Encrypted PDFs
are rejected even when they open with an empty password: protected documents are not
training data. pypdf's own logger and warnings are silenced because their messages can
quote object contents.
"""
from __future__ import annotations

import io
import logging
import re
import warnings
from typing import List

from pypdf import PdfReader
from pypdf.errors import PdfReadWarning

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import check_payload_size, reject_not_container, scrub_text
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "pdf"
_HEADER = b"%PDF-"
_EOF_MARKER = b"%%EOF"
# The header may follow up to 1 KiB of junk; the trailer marker may be followed by some.
_HEADER_WINDOW = 1024
_TRAILER_WINDOW = 2048
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_SPACES = re.compile(r"[ \t\u00a0\f\v]+")

_pypdf_logger = logging.getLogger("pypdf")
_pypdf_logger.addHandler(logging.NullHandler())
_pypdf_logger.propagate = False
_pypdf_logger.setLevel(logging.CRITICAL + 1)
warnings.filterwarnings("ignore", category=PdfReadWarning)


def _paragraphs(page_text: str) -> List[str]:
    """Split a page's extracted text on blank lines; lines of a paragraph join with a space."""
    text = scrub_text(page_text)
    paragraphs = []
    for block in _PARAGRAPH_BREAK.split(text):
        lines = [_SPACES.sub(" ", line).strip() for line in block.split("\n")]
        joined = " ".join(line for line in lines if line)
        if joined:
            paragraphs.append(joined)
    return paragraphs


def _check_framing(payload: bytes) -> None:
    if _HEADER not in payload[:_HEADER_WINDOW]:
        raise reject_not_container(payload, "pdf")
    if _EOF_MARKER not in payload[-_TRAILER_WINDOW:]:
        raise ArtifactRejected(DeadLetterReason.TRUNCATED, "PdfNoEofMarker")


def _open(payload: bytes) -> PdfReader:
    try:
        reader = PdfReader(io.BytesIO(payload), strict=False)
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many types for broken files
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
    if encrypted:
        raise ArtifactRejected(DeadLetterReason.ENCRYPTED, "EncryptedPdf")
    return reader


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse a PDF; raises only ``ArtifactRejected``."""
    limits = context.limits
    check_payload_size(payload, limits)
    _check_framing(payload)
    reader = _open(payload)
    try:
        page_count = len(reader.pages)
    except Exception as exc:
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
    if page_count > limits.max_pdf_pages:
        raise ArtifactRejected(DeadLetterReason.OVERSIZED, "TooManyPages")
    segments: List[ParsedSegment] = []
    try:
        for page in reader.pages:
            page_text = page.extract_text() or ""
            segments.extend(ParsedSegment(text=paragraph) for paragraph in _paragraphs(page_text))
    except RecursionError:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "PdfTooDeeplyNested") from None
    except Exception as exc:
        raise ArtifactRejected(DeadLetterReason.CORRUPT, type(exc).__name__) from None
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "PdfNoTextLayer")
    return ParsedDocument(source_format=SOURCE_FORMAT, segments=tuple(segments))
