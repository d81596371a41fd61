"""Word (.docx) uploads: body paragraphs and table cells in document order.

One segment per non-empty paragraph (runs, hyperlinks, tracked insertions and text
boxes anchored in it) and one per non-empty table cell (a cell's own
paragraphs joined by newlines; nested tables follow their cell). Headers, footers and
comments are not read. Documents have no per-paragraph author: ``speaker_label`` None.
The zip container is checked by ``containers.open_ooxml`` before python-docx opens it.
"""
from __future__ import annotations

import io
from typing import Iterator, List

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import office_library_errors, open_ooxml, tidy_text
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "docx"
_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_P = f"{{{_W_NS}}}p"
_TBL = f"{{{_W_NS}}}tbl"
_TR = f"{{{_W_NS}}}tr"
_TC = f"{{{_W_NS}}}tc"
_SDT = f"{{{_W_NS}}}sdt"
_SDT_CONTENT = f"{{{_W_NS}}}sdtContent"
_T = f"{{{_W_NS}}}t"
_TAB = f"{{{_W_NS}}}tab"
_BR = f"{{{_W_NS}}}br"
_CR = f"{{{_W_NS}}}cr"
_MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
# Tab-stop definitions (w:pPr/w:tabs/w:tab) are formatting, not text.
_SKIPPED_ANCESTORS = frozenset({_MC_FALLBACK, f"{{{_W_NS}}}pPr", f"{{{_W_NS}}}rPr"})
# Tables nested deeper than this are flattened no further (hostile documents).
_MAX_TABLE_DEPTH = 16


def _paragraph_text(paragraph) -> str:
    """All visible text of a ``w:p``: runs, hyperlinks, tracked insertions, text boxes.

    Deleted text is ``w:delText`` and never matched; ``mc:Fallback`` copies of text boxes
    (Word writes each text box twice) and tab-stop definitions are skipped.
    """
    parts: List[str] = []
    for element in paragraph.iter(_T, _TAB, _BR, _CR):
        if any(ancestor.tag in _SKIPPED_ANCESTORS for ancestor in element.iterancestors()):
            continue
        if element.tag == _T:
            parts.append(element.text or "")
        elif element.tag == _TAB:
            parts.append("\t")
        else:
            parts.append("\n")
    return "".join(parts)


def _block_texts(container, depth: int = 0) -> Iterator[str]:
    """Texts of paragraphs and table cells under ``container`` (body, cell, sdtContent)."""
    for child in container.iterchildren():
        if child.tag == _P:
            text = tidy_text(_paragraph_text(child))
            if text:
                yield text
        elif child.tag == _TBL and depth < _MAX_TABLE_DEPTH:
            yield from _table_texts(child, depth + 1)
        elif child.tag == _SDT:
            for content in child.iterchildren(_SDT_CONTENT):
                yield from _block_texts(content, depth)


def _table_texts(table, depth: int) -> Iterator[str]:
    # Rows and cells straight from the XML: a merged cell appears once, not per grid column.
    for row in table.iterchildren(_TR):
        for cell in row.iterchildren(_TC):
            paragraphs: List[str] = []
            for child in cell.iterchildren():
                if child.tag == _P:
                    text = tidy_text(_paragraph_text(child))
                    if text:
                        paragraphs.append(text)
                elif child.tag == _TBL and depth < _MAX_TABLE_DEPTH:
                    if paragraphs:
                        yield "\n".join(paragraphs)
                        paragraphs = []
                    yield from _table_texts(child, depth + 1)
            if paragraphs:
                yield "\n".join(paragraphs)


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse a .docx; raises only ``ArtifactRejected``."""
    open_ooxml(payload, context.limits, "docx")
    with office_library_errors("Docx"):
        import docx

        document = docx.Document(io.BytesIO(payload))
        texts = list(_block_texts(document.element.body))
    if not texts:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "DocxNoText")
    return ParsedDocument(source_format=SOURCE_FORMAT, segments=tuple(ParsedSegment(text=t) for t in texts))
