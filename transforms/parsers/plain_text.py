"""Plain text and Markdown (uploads, derived summaries): one segment per paragraph, no author.

Paragraphs are separated by blank lines; lines inside a paragraph keep their newlines.
"""
from __future__ import annotations

import re
from typing import List, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_text, is_blank
from transforms.records import DeadLetterReason

_BLANK_LINES = re.compile(r"\n[ \t\u00a0\ufeff]*\n")


def split_paragraphs(text: str) -> List[str]:
    """Blank-line separated paragraphs, trailing spaces trimmed, empty ones dropped."""
    paragraphs = []
    for block in _BLANK_LINES.split(text):
        lines = [line.rstrip() for line in block.split("\n")]
        paragraph = "\n".join(lines).strip("\n").strip()
        if not is_blank(paragraph):
            paragraphs.append(paragraph)
    return paragraphs


def source_format_for(filename: str) -> str:
    return "markdown" if filename.lower().endswith((".md", ".markdown")) else "plain_text"


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    paragraphs = split_paragraphs(decoded.normalized.lstrip("\ufeff"))
    if not paragraphs:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoParagraphs")
    segments: Tuple[ParsedSegment, ...] = tuple(ParsedSegment(text=p) for p in paragraphs)
    return ParsedDocument(source_format_for(context.filename), segments, decoded.encoding, decoded.fallback)
