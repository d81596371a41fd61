"""PDF parser: text layer per page, rejections with reason codes, never another exception."""
from __future__ import annotations

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.builders import build_encrypted_pdf, build_pdf
from pipeline.config import IngestLimits
from transforms.parsers import pdf
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.records import DeadLetterReason as R

SECRET = "Zelda Quimby-Vasquez"
CONTEXT = ParseContext(kind="upload", filename="notes.pdf")
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reason(payload: bytes, context: ParseContext = CONTEXT) -> R:
    with pytest.raises(ArtifactRejected) as info:
        pdf.parse(payload, context)
    assert SECRET not in str(info.value)
    return info.value.reason


def test_one_segment_per_page_lines_joined_without_author():
    doc = pdf.parse(build_pdf(["Agenda for review\nsecond line (draft)", "Page two text"]), CONTEXT)
    assert doc.source_format == "pdf"
    assert [s.text for s in doc.segments] == ["Agenda for review second line (draft)", "Page two text"]
    assert all(s.speaker_label is None and s.participant_id is None for s in doc.segments)


def test_flate_compressed_content_streams():
    payload = build_pdf(["Compressed page text", "More"], compress=True)
    assert b"/FlateDecode" in payload
    assert [s.text for s in pdf.parse(payload, CONTEXT).segments] == ["Compressed page text", "More"]


def test_non_ascii_winansi_text_round_trips():
    doc = pdf.parse(build_pdf(["Café déjà vu — naïve"]), CONTEXT)
    assert doc.segments[0].text == "Café déjà vu — naïve"


def test_pages_without_text_are_skipped_and_all_blank_is_empty():
    doc = pdf.parse(build_pdf(["", "Only page with words", "   "]), CONTEXT)
    assert [s.text for s in doc.segments] == ["Only page with words"]
    assert _reason(build_pdf(["", ""])) is R.EMPTY


def test_paragraph_split_on_blank_lines_of_the_text_layer():
    assert pdf._paragraphs("first line\ncontinued\n\n  \nsecond   para\r\n") == ["first line continued", "second para"]


@pytest.mark.parametrize("user_password", ["", "s3cret"])
def test_encrypted_pdf_is_rejected_even_with_empty_password(user_password):
    assert _reason(build_encrypted_pdf([SECRET], user_password=user_password)) is R.ENCRYPTED


def test_page_limit():
    payload = build_pdf(["one", "two", "three"])
    limited = ParseContext(kind="upload", filename="a.pdf", limits=IngestLimits(max_pdf_pages=2))
    assert _reason(payload, limited) is R.OVERSIZED
    assert len(pdf.parse(payload, ParseContext(kind="upload", filename="a.pdf", limits=IngestLimits(max_pdf_pages=3))).segments) == 3


def test_file_size_limit_and_empty_payload():
    small = ParseContext(kind="upload", filename="a.pdf", limits=IngestLimits(max_file_bytes=100))
    assert _reason(build_pdf(["text"]), small) is R.OVERSIZED
    assert _reason(b"") is R.EMPTY


def test_not_a_pdf():
    assert _reason(f"{SECRET} wrote this plain text".encode()) is R.WRONG_FORMAT
    assert _reason(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64) is R.WRONG_FORMAT
    assert _reason(bytes(range(1, 32)) * 8) is R.BINARY_GARBAGE


def test_truncated_pdf():
    payload = build_pdf([SECRET])
    assert _reason(payload[: len(payload) // 2]) is R.TRUNCATED


def test_corrupt_pdf_with_header_and_trailer_marker():
    payload = b"%PDF-1.4\n" + f"({SECRET}) garbage ".encode() * 20 + b"\n%%EOF\n"
    assert _reason(payload) is R.CORRUPT
    assert _reason(build_pdf([SECRET]).replace(b"xref", b"xxxx")) is R.CORRUPT


def test_nothing_content_bearing_is_logged(caplog):
    caplog.set_level(logging.DEBUG)
    broken = build_pdf([SECRET]).replace(b"/Length", b"/Lxngth").replace(b"xref", b"xxxx")
    with pytest.raises(ArtifactRejected):
        pdf.parse(broken, CONTEXT)
    pdf.parse(build_pdf([SECRET]).replace(b"startxref\n", b"startxref\n9"), CONTEXT)  # pypdf repairs, warns
    assert SECRET not in caplog.text
    assert "Zelda" not in caplog.text


def _check_total(payload: bytes) -> None:
    try:
        result = pdf.parse(payload, CONTEXT)
    except ArtifactRejected as exc:
        assert isinstance(exc.reason, R)
        return
    assert isinstance(result, ParsedDocument) and result.segments


@PROPERTY
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_only_raise_artifact_rejected(payload):
    _check_total(payload)


@PROPERTY
@given(st.binary(max_size=512))
def test_arbitrary_bytes_inside_a_pdf_frame(body):
    _check_total(b"%PDF-1.4\n" + body + b"\n%%EOF\n")


_VALID = build_pdf(["Agenda for review\nsecond line", "Page two text"])


@PROPERTY
@given(
    st.lists(st.tuples(st.integers(0, len(_VALID) - 1), st.integers(0, 255)), max_size=8),
    st.integers(1, len(_VALID)),
)
def test_mutated_and_truncated_valid_pdf(flips, keep):
    mutated = bytearray(_VALID)
    for position, value in flips:
        mutated[position] = value
    _check_total(bytes(mutated[:keep]))
