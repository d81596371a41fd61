"""The format builders: byte-deterministic, and every parser reads their output back."""
from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from examples import builders
from examples.builders import BoardElement
from transforms.parsers import docx, html, image_ocr, pdf, pptx, whiteboard_json, whiteboard_svg, xlsx
from transforms.parsers.base import ArtifactRejected, ParseContext
from transforms.records import DeadLetterReason as R
from transforms.records import Participant

REPO = Path(__file__).resolve().parents[2]
ELEMENTS = [BoardElement("Second row", 30, 300, author="Ann Lee"), BoardElement("First", 10, 10, kind="text"),
            BoardElement("Shape note\nline two", 400, 12, kind="shape")]
CASES = {
    "pdf": lambda: builders.build_pdf(["Agenda for the planning review", "Second page"]),
    "encrypted_pdf": lambda: builders.build_encrypted_pdf(["Protected"]),
    "docx": lambda: builders.build_docx(["Kickoff notes", "Decide the date"], table=[["Owner", "Task"]]),
    "pptx": lambda: builders.build_pptx([["Roadmap", "Goals"], ["Risks"]], notes=["Say hello", ""]),
    "xlsx": lambda: builders.build_xlsx([["Item", "Count"], ["Chairs", 12]], extra_sheets=[("Two", [["x"]])]),
    "html": lambda: builders.build_html(["First <p>", "Second & last"]),
    "whiteboard_json": lambda: builders.build_whiteboard_json(ELEMENTS),
    "whiteboard_svg": lambda: builders.build_whiteboard_svg(ELEMENTS),
    "whiteboard_png": lambda: builders.build_whiteboard_png(["Team retro", "Keep doing demos"]),
    "zip_bomb": lambda: builders.build_zip_bomb(),
    "encrypted_ooxml": lambda: builders.build_encrypted_ooxml(),
}


def _ctx(name: str, **kwargs) -> ParseContext:
    return ParseContext(kind="upload", filename=name, **kwargs)


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_arguments_give_identical_bytes(name):
    assert CASES[name]() == CASES[name]()


def test_bytes_are_identical_across_processes():
    """No wall-clock or random input: a fresh interpreter, later, builds the same files."""
    script = (
        "import hashlib, sys; sys.path.insert(0, sys.argv[1]);"
        "from tests.examples.test_builders import CASES;"
        "print(' '.join(f'{n}={hashlib.sha256(CASES[n]()).hexdigest()}' for n in sorted(CASES)))"
    )
    out = subprocess.run([sys.executable, "-c", script, str(REPO)], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    here = [f"{n}={hashlib.sha256(CASES[n]()).hexdigest()}" for n in sorted(CASES)]
    assert out == here


@pytest.mark.parametrize("name", ["docx", "pptx", "xlsx"])
def test_office_zips_have_fixed_timestamps_and_document_dates(name):
    with zipfile.ZipFile(io.BytesIO(CASES[name]())) as archive:
        assert {info.date_time for info in archive.infolist()} == {builders.FIXED_ZIP_TIME}
        core = archive.read("docProps/core.xml").decode()
    assert "2024-01-01T00:00:00Z" in core
    assert core.count("2024-01-01T00:00:00Z") == core.count("<dcterms:")


def test_pdf_has_no_creation_date_and_a_consistent_xref():
    payload = CASES["pdf"]()
    assert b"/CreationDate" not in payload and b"/ModDate" not in payload
    xref_at = int(payload.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert payload[xref_at:].startswith(b"xref\n")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(payload), strict=True)      # strict: no repairs needed
    assert len(reader.pages) == 2


def test_parsers_read_the_builders_back():
    roster = (Participant("p-ann", name="Ann Lee"),)
    texts = lambda doc: [s.text for s in doc.segments]  # noqa: E731
    assert texts(pdf.parse(CASES["pdf"](), _ctx("a.pdf"))) == ["Agenda for the planning review", "Second page"]
    assert texts(docx.parse(CASES["docx"](), _ctx("a.docx"))) == ["Kickoff notes", "Decide the date", "Owner", "Task"]
    assert texts(pptx.parse(CASES["pptx"](), _ctx("a.pptx"))) == ["Roadmap\nGoals\nSay hello", "Risks"]
    assert texts(xlsx.parse(CASES["xlsx"](), _ctx("a.xlsx"))) == ["Item | Count", "Chairs | 12", "x"]
    assert texts(html.parse(CASES["html"](), _ctx("a.html"))) == ["First <p>", "Second & last"]
    board = whiteboard_json.parse(CASES["whiteboard_json"](), ParseContext(kind="whiteboard", filename="b.json", roster=roster))
    assert [(s.text, s.participant_id) for s in board.segments] == [
        ("First", None), ("Shape note\nline two", None), ("Second row", "p-ann")]
    assert texts(whiteboard_svg.parse(CASES["whiteboard_svg"](), _ctx("b.svg"))) == [
        "First", "Shape note\nline two", "Second row"]
    ocr = image_ocr.parse(CASES["whiteboard_png"](), _ctx("b.png"))
    assert ["".join(t.split()).casefold() for t in texts(ocr)] == ["teamretro", "keepdoingdemos"]


@pytest.mark.parametrize("name, module, reason", [
    ("encrypted_pdf", pdf, R.ENCRYPTED),
    ("zip_bomb", docx, R.ZIP_BOMB),
    ("encrypted_ooxml", docx, R.ENCRYPTED),
    ("encrypted_ooxml", xlsx, R.ENCRYPTED),
])
def test_hostile_builders_are_rejected(name, module, reason):
    with pytest.raises(ArtifactRejected) as info:
        module.parse(CASES[name](), _ctx("x"))
    assert info.value.reason is reason


def test_encrypted_ooxml_is_a_well_formed_compound_file():
    payload = CASES["encrypted_ooxml"]()
    assert payload[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    assert (len(payload) - 512) % 512 == 0
    directory = payload[512 * 2:512 * 3]          # sector 1 (after the header and the FAT)
    names = [directory[i:i + 64].decode("utf-16-le").split("\x00")[0] for i in range(0, 384, 128)]
    assert names == ["Root Entry", "EncryptionInfo", "EncryptedPackage"]


def test_zip_bomb_is_small_but_expands_far():
    payload = builders.build_zip_bomb(expanded_bytes=8 * 1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        assert sum(i.file_size for i in archive.infolist()) > 8 * 1024 * 1024
    assert len(payload) < 64 * 1024


def test_iter_builders_samples_all_parse():
    modules = {".pdf": pdf, ".docx": docx, ".pptx": pptx, ".xlsx": xlsx, ".html": html,
               ".json": whiteboard_json, ".svg": whiteboard_svg}
    for filename, payload in builders.iter_builders():
        doc = modules[Path(filename).suffix].parse(payload, _ctx(filename))
        assert doc.segments, filename
