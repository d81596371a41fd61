"""docx / pptx / xlsx parsers and the zip-container guards they share."""
from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.builders import (
    build_docx,
    build_encrypted_ooxml,
    build_pdf,
    build_pptx,
    build_xlsx,
    build_zip_bomb,
)
from pipeline.config import IngestLimits
from transforms.parsers import docx as docx_parser
from transforms.parsers import pptx as pptx_parser
from transforms.parsers import xlsx as xlsx_parser
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.parsers.containers import MAX_ZIP_ENTRIES
from transforms.records import DeadLetterReason as R

SECRET = "Zelda Quimby-Vasquez"
PARSERS = {"docx": docx_parser, "pptx": pptx_parser, "xlsx": xlsx_parser}
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ctx(flavour: str, **limits) -> ParseContext:
    return ParseContext(kind="upload", filename=f"file.{flavour}", limits=IngestLimits(**limits))


def _reason(flavour: str, payload: bytes, **limits) -> R:
    with pytest.raises(ArtifactRejected) as info:
        PARSERS[flavour].parse(payload, _ctx(flavour, **limits))
    assert SECRET not in str(info.value)
    return info.value.reason


def _rezip(payload: bytes, replace=None, extra=()) -> bytes:
    """Copy an OOXML zip, replacing some parts' bytes and adding ``extra`` (name, data)."""
    replace = replace or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(payload)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info.filename, replace[info.filename](data) if info.filename in replace else data)
        for name, data in extra:
            target.writestr(name, data)
    return out.getvalue()


# --------------------------------------------------------------------------- docx

def test_docx_paragraphs_then_table_cells_in_document_order():
    payload = build_docx(["Kickoff notes", "  ", "Decide   the release"], table=[["Owner", "Task"], ["Ann", ""]])
    doc = docx_parser.parse(payload, _ctx("docx"))
    assert doc.source_format == "docx"
    assert [s.text for s in doc.segments] == ["Kickoff notes", "Decide the release", "Owner", "Task", "Ann"]
    assert all(s.speaker_label is None for s in doc.segments)


def test_docx_merged_cell_is_read_once_and_table_between_paragraphs_keeps_position():
    import docx

    document = docx.Document()
    document.add_paragraph("Before")
    table = document.add_table(rows=2, cols=2)
    merged = table.cell(0, 0).merge(table.cell(0, 1))
    merged.text = "Merged heading"
    table.cell(1, 0).text = "Left"
    table.cell(1, 1).text = "Right"
    document.add_paragraph("After")
    out = io.BytesIO()
    document.save(out)
    doc = docx_parser.parse(out.getvalue(), _ctx("docx"))
    assert [s.text for s in doc.segments] == ["Before", "Merged heading", "Left", "Right", "After"]


def test_docx_hyperlinks_insertions_tabs_breaks_and_no_deleted_text():
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = (
        f'<w:p xmlns:w="{w}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<w:pPr><w:tabs><w:tab w:val="left" w:pos="720"/></w:tabs></w:pPr>'
        '<w:r><w:t xml:space="preserve">See </w:t></w:r>'
        '<w:hyperlink r:id="rIdX"><w:r><w:t>the link</w:t></w:r></w:hyperlink>'
        '<w:ins w:id="1" w:author="A"><w:r><w:t xml:space="preserve"> inserted</w:t></w:r></w:ins>'
        '<w:del w:id="2" w:author="A"><w:r><w:delText> deleted</w:delText></w:r></w:del>'
        '<w:r><w:tab/><w:t>after tab</w:t><w:br/><w:t>next line</w:t></w:r></w:p>'
    )

    def add_paragraph(data: bytes) -> bytes:
        return data.replace(b"<w:sectPr", body.encode() + b"<w:sectPr", 1)

    payload = _rezip(build_docx(["First"]), replace={"word/document.xml": add_paragraph})
    doc = docx_parser.parse(payload, _ctx("docx"))
    assert [s.text for s in doc.segments] == ["First", "See the link inserted after tab\nnext line"]


def test_docx_without_text_is_empty():
    assert _reason("docx", build_docx([])) is R.EMPTY


# --------------------------------------------------------------------------- pptx

def test_pptx_one_segment_per_slide_in_reading_order_with_notes():
    # The builder adds boxes bottom-up, so shape order is the reverse of reading order.
    payload = build_pptx([["Roadmap", "Quarter goals", "Hiring"], [], ["Risks"]], notes=["Mention budget", "", ""])
    doc = pptx_parser.parse(payload, _ctx("pptx"))
    assert doc.source_format == "pptx"
    assert [s.text for s in doc.segments] == ["Roadmap\nQuarter goals\nHiring\nMention budget", "Risks"]


def test_pptx_same_row_is_read_left_to_right_and_tables_are_read():
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    # Right box slightly higher than the left one: still one row, so left comes first.
    slide.shapes.add_textbox(Inches(5), Inches(1.0), Inches(3), Inches(1)).text_frame.text = "right column"
    slide.shapes.add_textbox(Inches(1), Inches(1.05), Inches(3), Inches(1)).text_frame.text = "left column"
    slide.shapes.add_textbox(Inches(1), Inches(0.2), Inches(3), Inches(0.5)).text_frame.text = "Title"
    table = slide.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(6), Inches(1)).table
    for r, row in enumerate([["a1", "b1"], ["a2", "b2"]]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    out = io.BytesIO()
    presentation.save(out)
    doc = pptx_parser.parse(out.getvalue(), _ctx("pptx"))
    assert [s.text for s in doc.segments] == ["Title\nleft column\nright column\na1\nb1\na2\nb2"]


def test_pptx_grouped_shapes_are_flattened_into_reading_order():
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    slide = presentation.slides.add_slide(presentation.slide_layouts[6])
    group = slide.shapes.add_group_shape()
    group.shapes.add_textbox(Inches(1), Inches(3), Inches(3), Inches(1)).text_frame.text = "grouped lower"
    group.shapes.add_textbox(Inches(1), Inches(0.5), Inches(3), Inches(1)).text_frame.text = "grouped top"
    slide.shapes.add_textbox(Inches(1), Inches(2), Inches(3), Inches(1)).text_frame.text = "loose middle"
    out = io.BytesIO()
    presentation.save(out)
    doc = pptx_parser.parse(out.getvalue(), _ctx("pptx"))
    assert [s.text for s in doc.segments] == ["grouped top\nloose middle\ngrouped lower"]


def test_pptx_without_text_is_empty():
    assert _reason("pptx", build_pptx([[], []])) is R.EMPTY


# --------------------------------------------------------------------------- xlsx

def test_xlsx_one_segment_per_non_empty_row_per_sheet():
    payload = build_xlsx(
        [["Item", "Count", None, "Done"], [None, None], ["Chairs", 12, 2.5, True], [None, "  spaced   out "]],
        extra_sheets=[("Second", [["Budget", 1000.0]])],
    )
    doc = xlsx_parser.parse(payload, _ctx("xlsx"))
    assert doc.source_format == "xlsx"
    assert [s.text for s in doc.segments] == [
        "Item | Count | Done", "Chairs | 12 | 2.5 | TRUE", "spaced out", "Budget | 1000",
    ]


def test_xlsx_formula_cells_use_cached_values_only():
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["label", "=1+1"])   # openpyxl stores no cached value
    out = io.BytesIO()
    workbook.save(out)
    doc = xlsx_parser.parse(out.getvalue(), _ctx("xlsx"))
    assert [s.text for s in doc.segments] == ["label"]


def test_xlsx_without_values_is_empty():
    assert _reason("xlsx", build_xlsx([[None], []])) is R.EMPTY


# --------------------------------------------------------------------------- container guards

@pytest.mark.parametrize("flavour", ["docx", "pptx", "xlsx"])
def test_zip_bomb_by_ratio(flavour):
    assert _reason(flavour, build_zip_bomb()) is R.ZIP_BOMB


def test_zip_bomb_by_expanded_size_and_entry_count():
    payload = build_docx(["x" * 5000])
    assert _reason("docx", payload, max_expanded_bytes=10_000) is R.ZIP_BOMB
    many = _rezip(payload, extra=[(f"word/media/{i}.bin", b"") for i in range(MAX_ZIP_ENTRIES + 1)])
    assert _reason("docx", many) is R.ZIP_BOMB


def test_understated_central_directory_size_cannot_inflate_more():
    """A directory that understates a part's size: zipfile returns at most that much; rejected."""
    payload = bytearray(build_zip_bomb(expanded_bytes=4 * 1024 * 1024))
    position = payload.find(b"PK\x01\x02")
    while position != -1:
        name_length = int.from_bytes(payload[position + 28:position + 30], "little")
        if payload[position + 46:position + 46 + name_length] == b"word/document.xml":
            payload[position + 24:position + 28] = (1000).to_bytes(4, "little")   # uncompressed size
        position = payload.find(b"PK\x01\x02", position + 4)
    assert _reason("docx", bytes(payload)) is R.CORRUPT


def test_ratio_limit_is_configurable():
    bomb = build_zip_bomb(expanded_bytes=2 * 1024 * 1024)
    assert _reason("docx", bomb, max_compression_ratio=200.0) is R.ZIP_BOMB
    # With the ratio guard relaxed the bomb content is simply not a Word document.
    assert _reason("docx", bomb, max_compression_ratio=1e9) is R.CORRUPT


@pytest.mark.parametrize("flavour", ["docx", "pptx", "xlsx"])
def test_encrypted_ooxml_and_legacy_ole(flavour):
    encrypted = build_encrypted_ooxml()
    assert _reason(flavour, encrypted) is R.ENCRYPTED
    legacy = encrypted.replace("EncryptedPackage".encode("utf-16-le"), "WordDocument\x00\x00\x00\x00".encode("utf-16-le"))
    assert _reason(flavour, legacy) is R.WRONG_FORMAT


def test_encrypted_zip_entry():
    payload = bytearray(build_docx(["hello"]))
    # Set the "encrypted" general-purpose flag in every central-directory record.
    position = payload.find(b"PK\x01\x02")
    while position != -1:
        payload[position + 8] |= 0x01
        position = payload.find(b"PK\x01\x02", position + 4)
    assert _reason("docx", bytes(payload)) is R.ENCRYPTED


@pytest.mark.parametrize("flavour", ["docx", "pptx", "xlsx"])
def test_wrong_flavour_and_non_zip_payloads(flavour):
    others = {"docx": build_xlsx([["a"]]), "pptx": build_docx(["a"]), "xlsx": build_pptx([["a"]])}
    assert _reason(flavour, others[flavour]) is R.WRONG_FORMAT
    assert _reason(flavour, build_pdf(["a"])) is R.WRONG_FORMAT
    assert _reason(flavour, f"{SECRET} plain text".encode()) is R.WRONG_FORMAT
    assert _reason(flavour, bytes(range(1, 32)) * 8) is R.BINARY_GARBAGE
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", SECRET)
    assert _reason(flavour, plain_zip.getvalue()) is R.WRONG_FORMAT
    assert _reason(flavour, b"") is R.EMPTY


def test_truncated_and_corrupt_zips():
    payload = build_docx([SECRET])
    assert _reason("docx", payload[: len(payload) // 2]) is R.TRUNCATED
    directory = payload.find(b"PK\x01\x02")
    broken = payload[:directory] + b"\x00" * 46 + payload[directory + 46:]
    assert _reason("docx", broken) is R.CORRUPT


def test_dtd_in_a_part_is_rejected():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    payload = _rezip(build_docx(["hello"]), replace={"word/document.xml": lambda _: bomb})
    assert _reason("docx", payload) is R.MALFORMED


def test_broken_xml_part_is_corrupt():
    payload = _rezip(build_docx(["hello"]), replace={"word/document.xml": lambda data: data[: len(data) // 2]})
    assert _reason("docx", payload) is R.CORRUPT


# --------------------------------------------------------------------------- totality

_VALID = {
    "docx": build_docx(["Kickoff notes", "Decide the release"], table=[["Owner", "Task"]]),
    "pptx": build_pptx([["Roadmap", "Goals"]], notes=["Notes"]),
    "xlsx": build_xlsx([["Item", "Count"], ["Chairs", 12]]),
}


def _check_total(flavour: str, payload: bytes) -> None:
    try:
        result = PARSERS[flavour].parse(payload, _ctx(flavour))
    except ArtifactRejected as exc:
        assert isinstance(exc.reason, R)
        return
    assert isinstance(result, ParsedDocument) and result.segments


@PROPERTY
@given(st.sampled_from(sorted(PARSERS)), st.binary(max_size=1024))
def test_arbitrary_bytes_only_raise_artifact_rejected(flavour, payload):
    _check_total(flavour, payload)


@PROPERTY
@given(st.sampled_from(sorted(PARSERS)), st.data())
def test_mutated_and_truncated_valid_files(flavour, data):
    valid = _VALID[flavour]
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(0, 255)), max_size=6))
    keep = data.draw(st.integers(1, len(valid)))
    mutated = bytearray(valid)
    for position, value in flips:
        mutated[position] = value
    _check_total(flavour, bytes(mutated[:keep]))


@PROPERTY
@given(st.sampled_from(sorted(PARSERS)), st.data())
def test_flipped_bytes_inside_compressed_parts(flavour, data):
    """Headers intact, deflate streams damaged: zlib errors must become rejections too."""
    valid = _VALID[flavour]
    central_directory = valid.find(b"PK\x01\x02")
    flips = data.draw(st.lists(st.tuples(st.integers(0, central_directory - 1), st.integers(0, 255)),
                               min_size=1, max_size=4))
    mutated = bytearray(valid)
    for position, value in flips:
        mutated[position] = value
    _check_total(flavour, bytes(mutated))


@PROPERTY
@given(st.sampled_from(sorted(PARSERS)), st.binary(min_size=1, max_size=400))
def test_valid_container_with_garbage_main_part(flavour, garbage):
    main = {"docx": "word/document.xml", "pptx": "ppt/presentation.xml", "xlsx": "xl/workbook.xml"}[flavour]
    _check_total(flavour, _rezip(_VALID[flavour], replace={main: lambda _: garbage}))
