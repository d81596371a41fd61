"""A CSV upload (a table someone shared): one segment per data row, no author.

The first non-empty row is the header; each later row becomes ``"<column>: <value>"``
lines for its non-empty cells (columns without a header use their position).
"""
from __future__ import annotations

import csv
import io
from typing import List

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_text
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "csv"


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    try:
        rows = [r for r in csv.reader(io.StringIO(decoded.normalized.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    except csv.Error:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "CsvError") from None
    if not rows:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoRows")
    header = [c.strip() for c in rows[0]]
    body = rows[1:] or rows[:1]
    segments: List[ParsedSegment] = []
    for row in body:
        lines = []
        for i, cell in enumerate(row):
            value = cell.strip()
            if not value:
                continue
            column = header[i] if i < len(header) and header[i] and len(rows) > 1 else f"column {i + 1}"
            lines.append(f"{column}: {value}")
        if lines:
            segments.append(ParsedSegment(text="\n".join(lines)))
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoCells")
    return ParsedDocument(SOURCE_FORMAT, tuple(segments), decoded.encoding, decoded.fallback)
