"""Deterministic builders of real files for the binary and markup artifact formats.

Tests and the sample-data generator use these to make PDFs, office documents, HTML,
whiteboard exports (JSON, SVG, PNG) and hostile inputs (encrypted files, a zip bomb)
from plain text. Every builder is a pure function: the same arguments give the same
bytes (fixed zip timestamps, fixed document dates, no random file identifiers).
"""
from __future__ import annotations

import hashlib
import html
import io
import json
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, List, Optional, Sequence, Tuple

FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)
FIXED_DOC_TIME = datetime(2024, 1, 1, 0, 0, 0)
_FIXED_W3CDTF = "2024-01-01T00:00:00Z"


# --------------------------------------------------------------------------- PDF

def _pdf_literal(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252); unmappable characters become '?'."""
    raw = text.encode("cp1252", errors="replace")
    out = bytearray(b"(")
    for byte in raw:
        if byte in (0x28, 0x29, 0x5C):          # ( ) backslash
            out += b"\\" + bytes([byte])
        elif 0x20 <= byte < 0x7F:
            out.append(byte)
        else:
            out += b"\\%03o" % byte
    out += b")"
    return bytes(out)


def _pdf_page_stream(page_text: str) -> bytes:
    """Helvetica 12 pt, 16 pt leading, one PDF line per text line; blank lines kept."""
    ops = [b"BT", b"/F1 12 Tf", b"16 TL", b"72 760 Td"]
    for index, line in enumerate(page_text.split("\n")):
        if index:
            ops.append(b"T*")
        if line.strip():
            ops.append(_pdf_literal(line) + b" Tj")
    ops.append(b"ET")
    return b"\n".join(ops) + b"\n"


def _pdf_document(objects: Sequence[bytes], trailer_extra: bytes = b"") -> bytes:
    """Serialize numbered objects (1..n, object 1 the catalog) with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, trailer_extra)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


def build_pdf(pages: Sequence[str], compress: bool = False) -> bytes:
    """A valid PDF 1.4 with one page per string; "\\n" starts a new line on the page.

    Text is drawn in the standard Helvetica font (WinAnsi encoding) so pypdf extracts
    it back. Lines are not wrapped. An empty string gives a page with no text.
    ``compress`` stores the content streams FlateDecode-compressed, like most producers.
    """
    page_count = len(pages)
    # 1 catalog, 2 page tree, 3 font, then (page, content) pairs.
    page_numbers = [4 + 2 * i for i in range(page_count)]
    objects: List[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % n for n in page_numbers)
        + b"] /Count %d >>" % page_count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, page_text in enumerate(pages):
        stream = _pdf_page_stream(page_text)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_numbers[index] + 1)
        )
        if compress:
            stream = zlib.compress(stream, 9) + b"\n"
            objects.append(b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"endstream")
        else:
            objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream")
    return _pdf_document(objects)


def build_encrypted_pdf(pages: Sequence[str], user_password: str = "", owner_password: str = "owner") -> bytes:
    """``build_pdf(pages)`` encrypted with RC4-128 by pypdf.

    The default empty user password means any reader opens it; the parser must still
    reject it. The file identifier is derived from the content, not random.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ArrayObject, ByteStringObject

    plain = build_pdf(pages)
    file_id = hashlib.md5(plain + user_password.encode() + owner_password.encode()).digest()

    class _FixedIdWriter(PdfWriter):
        def generate_file_identifiers(self) -> None:  # pypdf draws random ids here
            self._ID = ArrayObject((ByteStringObject(file_id), ByteStringObject(file_id)))

    writer = _FixedIdWriter(clone_from=PdfReader(io.BytesIO(plain)))
    writer.encrypt(user_password, owner_password, algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------- OOXML

_CORE_DATE = re.compile(
    rb"(<dcterms:(created|modified)\b[^>]*>)[^<]*(</dcterms:\2>)"
)
_CORE_PRINTED = re.compile(rb"<cp:lastPrinted>[^<]*</cp:lastPrinted>")


def _fixed_zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 0
    info.external_attr = 0
    return info


def normalize_zip(raw: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps/attributes and fixed docProps dates."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = _CORE_DATE.sub(lambda m: m.group(1) + _FIXED_W3CDTF.encode() + m.group(3), data)
                data = _CORE_PRINTED.sub(b"", data)
            target.writestr(_fixed_zip_info(info.filename), data)
    return out.getvalue()


def build_docx(paragraphs: Sequence[str], table: Optional[Sequence[Sequence[str]]] = None) -> bytes:
    """A .docx with one paragraph per string, then (optionally) a table of ``table`` rows."""
    import docx

    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        width = max(len(row) for row in table)
        grid = document.add_table(rows=len(table), cols=width)
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    props = document.core_properties
    props.created = FIXED_DOC_TIME
    props.modified = FIXED_DOC_TIME
    props.last_printed = FIXED_DOC_TIME
    props.author = "builder"
    props.last_modified_by = "builder"
    out = io.BytesIO()
    document.save(out)
    return normalize_zip(out.getvalue())


def build_pptx(slides: Sequence[Sequence[str]], notes: Optional[Sequence[str]] = None) -> bytes:
    """A .pptx with one blank-layout slide per list; each string is a text box.

    Boxes are stacked top to bottom in list order but added to the shape tree
    bottom-up, so the file's shape order is the reverse of the reading order (a parser
    must sort by position). ``notes[i]`` (if given and non-empty) becomes slide i's notes.
    """
    from pptx import Presentation
    from pptx.util import Inches, Pt

    presentation = Presentation()
    blank_layout = presentation.slide_layouts[6]
    for index, boxes in enumerate(slides):
        slide = presentation.slides.add_slide(blank_layout)
        for position in reversed(range(len(boxes))):
            shape = slide.shapes.add_textbox(Inches(1), Inches(0.5 + 1.1 * position), Inches(8), Inches(1))
            shape.text_frame.text = boxes[position]
            for paragraph in shape.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(18)
        if notes and index < len(notes) and notes[index]:
            slide.notes_slide.notes_text_frame.text = notes[index]
    props = presentation.core_properties
    props.created = FIXED_DOC_TIME
    props.modified = FIXED_DOC_TIME
    props.last_printed = FIXED_DOC_TIME
    props.author = "builder"
    props.last_modified_by = "builder"
    props.revision = 1
    out = io.BytesIO()
    presentation.save(out)
    return normalize_zip(out.getvalue())


def build_xlsx(
    rows: Sequence[Sequence[Any]],
    sheet_title: str = "Sheet1",
    extra_sheets: Sequence[Tuple[str, Sequence[Sequence[Any]]]] = (),
) -> bytes:
    """An .xlsx whose first sheet holds ``rows`` (None = empty cell); more sheets optional."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheets = [(sheet_title, rows), *extra_sheets]
    for index, (title, sheet_rows) in enumerate(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        sheet.title = title
        for row in sheet_rows:
            sheet.append(list(row))
    workbook.properties.created = FIXED_DOC_TIME
    workbook.properties.modified = FIXED_DOC_TIME
    workbook.properties.creator = "builder"
    out = io.BytesIO()
    workbook.save(out)
    return normalize_zip(out.getvalue())


def build_zip_bomb(expanded_bytes: int = 16 * 1024 * 1024) -> bytes:
    """A small .docx-shaped zip holding one ``expanded_bytes`` run of zeros (ratio ~1000).

    It has a content-types part and a ``word/document.xml`` so only the size/ratio
    guards can stop it. Built in memory in well under a second for the default size.
    """
    content_types = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="xml" ContentType="application/xml"/></Types>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(_fixed_zip_info("[Content_Types].xml"), content_types)
        info = _fixed_zip_info("word/document.xml")
        with archive.open(info, "w", force_zip64=expanded_bytes > 0x7FFFFFFF) as member:
            chunk = b"\x00" * (1024 * 1024)
            remaining = expanded_bytes
            while remaining > 0:
                piece = chunk if remaining >= len(chunk) else chunk[:remaining]
                member.write(piece)
                remaining -= len(piece)
    return out.getvalue()


def build_encrypted_ooxml(size: int = 4096) -> bytes:
    """What Office writes for a password-protected .docx/.xlsx/.pptx: an OLE2 compound file.

    A minimal but well-formed compound file (v3, 512-byte sectors) whose directory holds
    the ``EncryptionInfo`` and ``EncryptedPackage`` streams; stream bodies are
    deterministic filler (``size`` bytes each, at least 4096 so no mini-stream is needed).
    """
    sector = 512
    size = max(size, 4096)
    stream_sectors = -(-size // sector)
    end_of_chain, fat_sector, free = 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    # Layout: sector 0 = FAT, sector 1 = directory, then EncryptionInfo, then EncryptedPackage.
    info_start = 2
    package_start = info_start + stream_sectors
    total_sectors = package_start + stream_sectors
    if total_sectors > sector // 4:
        raise ValueError("size too large for a single FAT sector")
    fat = [fat_sector, end_of_chain]
    for start in (info_start, package_start):
        fat += [start + i + 1 for i in range(stream_sectors - 1)] + [end_of_chain]
    fat += [free] * (sector // 4 - len(fat))

    def dir_entry(name: str, kind: int, child: int, start: int, length: int, left: int = free, right: int = free) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1)      # name length, type, colour black
            + struct.pack("<III", left, right, child)
            + b"\x00" * 16 + struct.pack("<I", 0) + b"\x00" * 16   # clsid, state, times
            + struct.pack("<IQ", start, length)
        )

    directory = (
        dir_entry("Root Entry", 5, 1, end_of_chain, 0)
        + dir_entry("EncryptionInfo", 2, free, info_start, size, right=2)
        + dir_entry("EncryptedPackage", 2, free, package_start, size)
        + b"\x00" * 128
    )
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
        + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
        + b"\x00" * 6
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end_of_chain, 0, end_of_chain, 0)
        + struct.pack("<I", 0) + struct.pack("<I", free) * 108
    )
    filler = hashlib.sha256(b"encrypted-package").digest()
    body = (filler * (-(-size // len(filler))))[:size]
    padded = body.ljust(stream_sectors * sector, b"\x00")
    return header + struct.pack("<128I", *fat) + directory + padded + padded


# --------------------------------------------------------------------------- HTML

def build_html(paragraphs: Sequence[str], title: str = "Meeting notes") -> bytes:
    """A UTF-8 HTML page: a head (title, style), a script, and one <p> per paragraph."""
    body = "\n".join(f"<p>{html.escape(text)}</p>" for text in paragraphs)
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(title)}</title>\n<style>p {{ margin: 0 }}</style>\n</head>\n"
        "<body>\n<script>var tracking = \"not content\";</script>\n"
        f"{body}\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


# --------------------------------------------------------------------------- whiteboards

@dataclass(frozen=True)
class BoardElement:
    """One element of a whiteboard export. ``kind``: "sticky", "text" or "shape"."""

    text: str
    x: float
    y: float
    author: Optional[str] = None
    kind: str = "sticky"
    width: float = 200.0
    height: float = 120.0


def build_whiteboard_json(elements: Sequence[BoardElement], board_title: str = "Team board") -> bytes:
    """The JSON whiteboard export (see ``transforms.parsers.whiteboard_json``), UTF-8."""
    items = []
    for index, element in enumerate(elements):
        item: dict = {
            "id": f"el-{index + 1:04d}",
            "type": element.kind,
            "text": element.text,
            "x": element.x,
            "y": element.y,
            "width": element.width,
            "height": element.height,
        }
        if element.author is not None:
            item["author"] = {"name": element.author}
        items.append(item)
    items.append({"id": "el-connector", "type": "connector", "from": "el-0001", "to": "el-0002"})
    document = {
        "format": "whiteboard-export",
        "version": 1,
        "board": {"id": "board-0001", "title": board_title, "created_at": "2024-01-01T00:00:00Z"},
        "elements": items,
    }
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _svg_number(value: float) -> str:
    return f"{value:g}"


def build_whiteboard_svg(elements: Sequence[BoardElement]) -> bytes:
    """An SVG whiteboard export. Stickies: translated <g> with <rect> and <tspan> lines;
    text: a bare <text x y>; shapes: <foreignObject> with an XHTML <div>."""
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" width="2000" height="2000" viewBox="0 0 2000 2000">',
        "<title>Whiteboard export</title>",
    ]
    for element in elements:
        x, y = _svg_number(element.x), _svg_number(element.y)
        lines = element.text.split("\n")
        if element.kind == "text":
            parts.append(f'<text x="{x}" y="{y}" font-size="16">{html.escape(element.text)}</text>')
        elif element.kind == "shape":
            parts.append(
                f'<foreignObject x="{x}" y="{y}" width="{_svg_number(element.width)}" '
                f'height="{_svg_number(element.height)}"><div xmlns="http://www.w3.org/1999/xhtml">'
                + "".join(f"<div>{html.escape(line)}</div>" for line in lines)
                + "</div></foreignObject>"
            )
        else:
            tspans = "".join(
                f'<tspan x="12" dy="{20 if i else 0}">{html.escape(line)}</tspan>' for i, line in enumerate(lines)
            )
            parts.append(
                f'<g transform="translate({x}, {y})"><rect width="{_svg_number(element.width)}" '
                f'height="{_svg_number(element.height)}" fill="#fff59d"/>'
                f'<text x="12" y="28" font-size="16">{tspans}</text></g>'
            )
    parts.append("</svg>")
    return ("\n".join(parts) + "\n").encode("utf-8")


def build_whiteboard_png(lines: Sequence[str], font_size: int = 32) -> bytes:
    """A white PNG with one dark text line per string, drawn so OCR reads it back.

    Uses Pillow's bundled scalable default font. Words are drawn one by one with a
    triple-width gap because the OCR model tends to drop narrow spaces.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=font_size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1), 255))
    space = probe.textlength(" ", font=font) * 3
    line_height = int(font_size * 2)
    margin = font_size

    def line_width(line: str) -> float:
        words = line.split()
        return sum(probe.textlength(w, font=font) for w in words) + space * max(len(words) - 1, 0)

    width = int(max((line_width(line) for line in lines), default=0) + 2 * margin)
    height = line_height * max(len(lines), 1) + margin
    image = Image.new("L", (max(width, 64), max(height, 64)), 255)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        x = float(margin)
        y = margin // 2 + line_height * index
        for word in line.split():
            draw.text((x, y), word, fill=0, font=font)
            x += probe.textlength(word, font=font) + space
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()


def build_large_image_header_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` pixels (a pixel bomb).

    Only the IHDR is honest about the size; the image data is a single compressed
    empty scanline, so decoding fails, but size checks must reject it first.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def iter_builders() -> Iterable[Tuple[str, bytes]]:
    """(file name, bytes) of one small sample per format, for smoke tests and samples."""
    yield "notes.pdf", build_pdf(["Agenda for the planning review", "Second page with action items"])
    yield "notes.docx", build_docx(["Kickoff notes", "Decide the release date"], table=[["Owner", "Task"]])
    yield "deck.pptx", build_pptx([["Roadmap", "Quarter goals"], ["Risks"]], notes=["Speaker notes here"])
    yield "sheet.xlsx", build_xlsx([["Item", "Count"], ["Chairs", 12]])
    yield "page.html", build_html(["First paragraph", "Second paragraph"])
    yield "board.json", build_whiteboard_json([BoardElement("Idea one", 10, 10), BoardElement("Idea two", 300, 10)])
    yield "board.svg", build_whiteboard_svg([BoardElement("Idea one", 10, 10), BoardElement("Idea two", 300, 10)])
