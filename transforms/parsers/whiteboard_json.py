"""Whiteboard JSON exports (Zoom / Miro style): one segment per text element, in reading order.

Accepted shape (UTF-8 JSON, extra keys ignored)::

    {
      "format": "whiteboard-export", "version": 1,            # optional
      "board": {"id": "...", "title": "...", ...},            # optional, never read as content
      "elements": [
        {"id": "el-1", "type": "sticky", "text": "Ship it", "x": 120, "y": 40,
         "width": 200, "height": 120,
         "author": {"name": "Ann Lee", "email": "ann@example.com"}},   # author optional
        {"id": "el-2", "type": "connector", "from": "el-1", "to": "el-3"},
        ...
      ]
    }

Text-bearing types are ``text``, ``sticky``, ``shape`` and ``comment``; other types
(connectors, images, frames...) are skipped. A text-bearing element needs a string
``text`` and finite numeric ``x`` and ``y``, otherwise the whole file is MALFORMED
(fail closed: a partly understood export is not used). ``author`` may be a string
(name, handle or e-mail) or an object with ``name`` / ``email`` / ``handle``; it is
matched against the roster, and an element that names no author gets
``speaker_label=None``. Reading order: rows by ``y`` (elements whose ``y`` are within
half the median element height, or 20 units, share a row), then ``x``.
``reading_order`` is also used by the SVG, PPTX and OCR parsers.
"""
from __future__ import annotations

import json
import math
from statistics import median
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import check_payload_size, tidy_text
from transforms.parsers.encoding import DecodedText, decode_text
from transforms.parsers.roster import Roster
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "whiteboard_json"
TEXT_TYPES = frozenset({"text", "sticky", "shape", "comment"})
DEFAULT_ROW_TOLERANCE = 20.0
MAX_ELEMENTS = 100_000

T = TypeVar("T")


def reading_order(items: Sequence[T], y: Callable[[T], float], x: Callable[[T], float], tolerance: float) -> List[T]:
    """Items top-to-bottom, left-to-right. A row starts at its topmost item and holds every
    following item whose ``y`` is within ``tolerance`` of that start; rows are sorted by ``x``.
    Stable: equal positions keep input order."""
    by_y = sorted(items, key=y)
    ordered: List[T] = []
    row: List[T] = []
    row_top = 0.0
    for item in by_y:
        if row and y(item) - row_top > tolerance:
            ordered.extend(sorted(row, key=x))
            row = []
        if not row:
            row_top = y(item)
        row.append(item)
    ordered.extend(sorted(row, key=x))
    return ordered


def _malformed(error_class: str) -> ArtifactRejected:
    return ArtifactRejected(DeadLetterReason.MALFORMED, error_class)


def _reject_constant(_name: str) -> Any:
    raise _malformed("JsonNonFiniteNumber")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _malformed("WhiteboardBadCoordinate")
    number = float(value)
    if not math.isfinite(number):
        raise _malformed("WhiteboardBadCoordinate")
    return number


def _author(value: Any) -> Tuple[Optional[str], Optional[str]]:
    """(label as written, e-mail) from an ``author`` value; (None, None) when absent."""
    if value is None:
        return None, None
    if isinstance(value, str):
        return (value.strip() or None), None
    if isinstance(value, dict):
        name = value.get("name")
        email = value.get("email")
        handle = value.get("handle")
        for field in (name, email, handle):
            if field is not None and not isinstance(field, str):
                raise _malformed("WhiteboardBadAuthor")
        label = (name or "").strip() or (handle or "").strip() or (email or "").strip() or None
        return label, ((email or "").strip() or None)
    raise _malformed("WhiteboardBadAuthor")


def _load(payload: bytes) -> Tuple[Dict[str, Any], DecodedText]:
    decoded = decode_text(payload)
    try:
        document = json.loads(decoded.text, parse_constant=_reject_constant)
    except ArtifactRejected:
        raise
    except RecursionError:
        raise _malformed("JsonTooDeeplyNested") from None
    except ValueError:  # JSONDecodeError, and over-long integer literals
        raise _malformed("JsonDecodeError") from None
    if not isinstance(document, dict) or not isinstance(document.get("elements"), list):
        raise _malformed("WhiteboardNoElements")
    return document, decoded


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse a whiteboard JSON export; raises only ``ArtifactRejected``."""
    check_payload_size(payload, context.limits)
    document, decoded = _load(payload)
    elements = document["elements"]
    if len(elements) > MAX_ELEMENTS:
        raise ArtifactRejected(DeadLetterReason.OVERSIZED, "WhiteboardTooManyElements")
    roster = Roster(context.roster)
    items: List[Tuple[float, float, ParsedSegment]] = []
    heights: List[float] = []
    for element in elements:
        if not isinstance(element, dict):
            raise _malformed("WhiteboardBadElement")
        kind = element.get("type")
        if not isinstance(kind, str):
            raise _malformed("WhiteboardBadElementType")
        if kind.lower() not in TEXT_TYPES:
            continue
        text = element.get("text")
        if not isinstance(text, str):
            raise _malformed("WhiteboardBadText")
        x, y = _number(element.get("x")), _number(element.get("y"))
        if element.get("height") is not None:
            height = _number(element["height"])
            if height > 0:
                heights.append(height)
        label, email = _author(element.get("author"))
        participant_id = roster.match(label) if label else None
        if participant_id is None and email:
            participant_id = roster.match_email(email)
        cleaned = tidy_text(text)
        if not cleaned:
            continue
        segment = ParsedSegment(text=cleaned, speaker_label=label, participant_id=participant_id)
        items.append((y, x, segment))
    if not items:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "WhiteboardNoText")
    tolerance = max(DEFAULT_ROW_TOLERANCE, 0.5 * median(heights)) if heights else DEFAULT_ROW_TOLERANCE
    ordered = reading_order(items, y=lambda i: i[0], x=lambda i: i[1], tolerance=tolerance)
    return ParsedDocument(
        source_format=SOURCE_FORMAT,
        segments=tuple(segment for _, _, segment in ordered),
        encoding=decoded.encoding,
        encoding_fallback=decoded.fallback,
    )
