"""parse_artifact: routing by kind + extension + sniffing, and the reason-code order."""
import codecs
import sys
import types

import pytest

from pipeline.config import IngestLimits
from transforms.parsers import ROUTES, extension_of, parse_artifact, parser_module_for, sniff_magic
from transforms.parsers.base import ArtifactRejected, ParsedDocument, ParsedSegment
from transforms.records import ArtifactKind, DeadLetterReason, Participant

VTT = b"WEBVTT\r\n\r\n1\r\n00:00:01.000 --> 00:00:02.000\r\nAnn Lee: hello\r\n"
CHAT = b"00:00:01\tAnn Lee:\thello\r\n"
ROSTER = (Participant("p-ann", "Ann Lee"),)


def _reason(payload, **kwargs):
    with pytest.raises(ArtifactRejected) as caught:
        parse_artifact(payload, **kwargs)
    return caught.value.reason


@pytest.mark.parametrize("kind,filename,payload,source_format", [
    ("transcript", "transcript.vtt", VTT, "webvtt"),
    ("Transcript", "dir/Transcript.VTT", VTT, "webvtt"),
    ("transcript", "t.srt", b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", "srt"),
    ("transcript", "t.sbv", b"0:00:01.000,0:00:02.000\nhi\n", "sbv"),
    ("transcript", "t.json", b'{"timeline": [{"ts": "00:00:01.000", "username": "Ann Lee", "text": "hi"}]}',
     "zoom_transcript_json"),
    ("chat", "chat.txt", CHAT, "zoom_chat_tsv"),
    ("chat", "chat.txt", b"10:00:00 From  Ann Lee  to  Everyone:\n  hi\n", "zoom_chat_legacy"),
    ("poll", "poll.csv", b"#,User Name,User Email,Q\n1,Ann Lee,,yes\n", "zoom_poll_csv"),
    ("poll", "poll.json", b'{"questions": [{"name": "Ann Lee", "question_details": [{"question": "Q", "answer": "A"}]}]}',
     "zoom_poll_json"),
    ("upload", "notes.txt", b"para one\n\npara two", "plain_text"),
    ("upload", "notes.md", b"# title\n\ntext", "markdown"),
    ("upload", "table.csv", b"a,b\n1,2\n", "csv"),
    ("derived", "summary.md", b"summary text", "markdown"),
    ("derived", "summary.txt", b"summary text", "plain_text"),
    ("derived", "tldr.json", b'{"highlights": {"t": [{"timestamp": "00:00:01", "highlight": "x"}]}}', "derived_json"),
])
def test_routes_text_formats(kind, filename, payload, source_format):
    doc = parse_artifact(payload, kind=kind, filename=filename, roster=ROSTER)
    assert doc.source_format == source_format
    assert doc.segments


def test_roster_is_applied():
    doc = parse_artifact(VTT, kind="transcript", filename="transcript.vtt", roster=ROSTER)
    assert doc.segments[0].participant_id == "p-ann"


@pytest.mark.parametrize("kwargs,reason", [
    (dict(kind="video", filename="x.vtt"), DeadLetterReason.UNKNOWN_KIND),
    (dict(kind="", filename="x.vtt"), DeadLetterReason.UNKNOWN_KIND),
    (dict(kind="transcript", filename="x.docx"), DeadLetterReason.UNSUPPORTED_FORMAT),
    (dict(kind="chat", filename="chat"), DeadLetterReason.UNSUPPORTED_FORMAT),
    (dict(kind="chat", filename=".txt"), DeadLetterReason.UNSUPPORTED_FORMAT),
    (dict(kind="upload", filename="movie.mp4"), DeadLetterReason.UNSUPPORTED_FORMAT),
])
def test_kind_and_extension_checks_come_first(kwargs, reason):
    assert _reason(VTT, **kwargs) is reason


def test_oversized_before_parsing():
    limits = IngestLimits(max_file_bytes=10)
    assert _reason(b"x" * 11, kind="upload", filename="a.txt", limits=limits) is DeadLetterReason.OVERSIZED
    assert _reason(b"\x00" * 11, kind="upload", filename="a.pdf", limits=limits) is DeadLetterReason.OVERSIZED
    doc = parse_artifact(b"x" * 10, kind="upload", filename="a.txt", limits=limits)
    assert doc.segments[0].text == "x" * 10


@pytest.mark.parametrize("payload,kind,filename,reason", [
    (b"", "transcript", "t.vtt", DeadLetterReason.EMPTY),
    (b" \r\n\t ", "chat", "chat.txt", DeadLetterReason.EMPTY),
    (codecs.BOM_UTF8, "upload", "a.md", DeadLetterReason.EMPTY),
    (b"", "upload", "a.pdf", DeadLetterReason.EMPTY),
    (b"just text, not a pdf", "upload", "a.pdf", DeadLetterReason.WRONG_FORMAT),
    (b"just text", "whiteboard", "wb.png", DeadLetterReason.WRONG_FORMAT),
    (b"%PDF-1.7\n...", "upload", "a.docx", DeadLetterReason.WRONG_FORMAT),
    (b"PK\x03\x04rest", "upload", "a.pdf", DeadLetterReason.WRONG_FORMAT),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "transcript", "t.vtt", DeadLetterReason.WRONG_FORMAT),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "chat", "chat.txt", DeadLetterReason.WRONG_FORMAT),
    (b"1\n00:00:01,000 --> 00:00:02,000\nhi\n", "transcript", "t.vtt", DeadLetterReason.WRONG_FORMAT),
    (b"\x00\x01\x02\x03binary\x00\x00\x00\x00\xff\xfe\x00", "upload", "a.txt", DeadLetterReason.BINARY_GARBAGE),
    (b"\x00" * 64, "transcript", "t.vtt", DeadLetterReason.BINARY_GARBAGE),
    (b"not json at all", "poll", "p.json", DeadLetterReason.WRONG_FORMAT),
    (b"00:00:01\tA:\tReacted to \"x\" with \xf0\x9f\x91\x8d\r\n", "chat", "chat.txt", DeadLetterReason.EMPTY),
])
def test_content_reason_codes(payload, kind, filename, reason):
    assert _reason(payload, kind=kind, filename=filename) is reason


def test_encrypted_ooxml_is_encrypted():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64 + "EncryptionInfo".encode("utf-16-le")
    assert _reason(ole, kind="upload", filename="a.docx") is DeadLetterReason.ENCRYPTED
    legacy_doc = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64
    assert _reason(legacy_doc, kind="upload", filename="a.docx") is DeadLetterReason.WRONG_FORMAT


def test_utf16_and_fallback_flags_reach_the_document():
    text = "WEBVTT\r\n\r\n00:00:01.000 --> 00:00:02.000\r\nZoë: hi\r\n"
    doc = parse_artifact(codecs.BOM_UTF16_BE + text.encode("utf-16-be"), kind="transcript", filename="t.vtt")
    assert doc.encoding == "utf-16-be" and not doc.encoding_fallback
    doc = parse_artifact(text.encode("cp1252"), kind="transcript", filename="t.vtt")
    assert doc.encoding == "cp1252" and doc.encoding_fallback


def _fake_parser(monkeypatch, name, parse):
    module = types.ModuleType(f"transforms.parsers.{name}")
    module.parse = parse
    monkeypatch.setitem(sys.modules, f"transforms.parsers.{name}", module)


def test_binary_formats_route_to_their_module(monkeypatch):
    seen = {}

    def parse(payload, context):
        seen["context"] = context
        return ParsedDocument("pdf", (ParsedSegment("page text", speaker_label="Ann Lee"), ParsedSegment("  ")))

    _fake_parser(monkeypatch, "pdf", parse)
    doc = parse_artifact(b"%PDF-1.7\n...", kind="whiteboard", filename="folder/board.PDF", roster=ROSTER,
                         owner_participant_id="p-ann")
    assert [s.text for s in doc.segments] == ["page text"]              # blank segment dropped
    assert doc.segments[0].participant_id == "p-ann"                   # roster fill-in
    ctx = seen["context"]
    assert (ctx.kind, ctx.filename, ctx.owner_participant_id) == ("whiteboard", "board.PDF", "p-ann")


def test_missing_optional_parser_is_unsupported(monkeypatch):
    monkeypatch.setitem(sys.modules, "transforms.parsers.pptx", None)     # import fails
    assert _reason(b"PK\x03\x04rest", kind="upload", filename="deck.pptx") is DeadLetterReason.UNSUPPORTED_FORMAT
    # text formats are unaffected
    assert parse_artifact(VTT, kind="transcript", filename="t.vtt").segments


def test_parser_returning_no_segments_is_empty(monkeypatch):
    _fake_parser(monkeypatch, "html", lambda payload, context: ParsedDocument("html", ()))
    assert _reason(b"<html><body></body></html>", kind="upload", filename="a.html") is DeadLetterReason.EMPTY


def test_route_table_and_helpers():
    assert {kind for kind, _ in ROUTES} == set(ArtifactKind)
    assert parser_module_for("whiteboard", "x.jpeg") == "image_ocr"
    assert parser_module_for("upload", "x.htm") == "html"
    assert extension_of("a/b/c.Tar.GZ") == "gz" and extension_of("noext") == "" and extension_of(".hidden") == ""
    assert sniff_magic(b"junk" * 10 + b"%PDF-1.4") == "pdf" and sniff_magic(b"plain") is None


def test_rejections_never_contain_payload_text():
    secret = "Jane Secret jane@example.org"
    for kind, name in [("transcript", "t.vtt"), ("chat", "c.txt"), ("poll", "p.csv"), ("poll", "p.json"),
                       ("derived", "d.json"), ("transcript", "t.json")]:
        with pytest.raises(ArtifactRejected) as caught:
            parse_artifact(secret.encode(), kind=kind, filename=name)
        assert "Jane" not in str(caught.value) and "jane@" not in caught.value.error_class
