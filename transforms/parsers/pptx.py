"""PowerPoint (.pptx) uploads: one segment per slide, text in reading order, then notes.

Text frames, tables and grouped shapes are read; shapes are ordered top-to-bottom,
left-to-right (shapes whose tops are within a row tolerance count as one row). The
slide's speaker notes follow its text in the same segment. Slides without text are
skipped. The zip container is checked by ``containers.open_ooxml`` first.
"""
from __future__ import annotations

import io
from typing import List, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import office_library_errors, open_ooxml, tidy_text
from transforms.parsers.whiteboard_json import reading_order
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "pptx"
# Shapes whose tops differ by less than this (EMU; 914400 per inch) share a row: ~0.1 in.
ROW_TOLERANCE_EMU = 91_440
_MAX_GROUP_DEPTH = 16


def _position(shape) -> Tuple[float, float]:
    try:
        top, left = shape.top, shape.left
    except Exception:  # placeholders without a resolvable position
        top, left = None, None
    return float(top or 0), float(left or 0)


def _shape_items(shapes, depth: int = 0) -> List[Tuple[float, float, str]]:
    """(y, x, text) of every text-bearing shape; groups are flattened.

    Group members keep their own offsets: PowerPoint writes them in slide coordinates
    (child offset = group offset), which is all reading order needs.
    """
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    items: List[Tuple[float, float, str]] = []
    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            if depth < _MAX_GROUP_DEPTH:
                items.extend(_shape_items(shape.shapes, depth + 1))
            continue
        y, x = _position(shape)
        if getattr(shape, "has_table", False) and shape.has_table:
            cells = []
            for row in shape.table.rows:
                for cell in row.cells:
                    text = tidy_text(cell.text)
                    if text:
                        cells.append(text)
            if cells:
                items.append((y, x, "\n".join(cells)))
            continue
        if getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            text = tidy_text(shape.text_frame.text)
            if text:
                items.append((y, x, text))
    return items


def _slide_text(slide) -> str:
    items = _shape_items(slide.shapes)
    ordered = reading_order(items, y=lambda i: i[0], x=lambda i: i[1], tolerance=ROW_TOLERANCE_EMU)
    parts = [text for _, _, text in ordered]
    if slide.has_notes_slide:
        frame = slide.notes_slide.notes_text_frame
        if frame is not None:
            notes = tidy_text(frame.text)
            if notes:
                parts.append(notes)
    return "\n".join(parts)


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse a .pptx; raises only ``ArtifactRejected``."""
    open_ooxml(payload, context.limits, "pptx")
    with office_library_errors("Pptx"):
        from pptx import Presentation

        presentation = Presentation(io.BytesIO(payload))
        texts = [text for text in (_slide_text(slide) for slide in presentation.slides) if text]
    if not texts:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "PptxNoText")
    return ParsedDocument(source_format=SOURCE_FORMAT, segments=tuple(ParsedSegment(text=t) for t in texts))
