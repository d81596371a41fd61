"""Property tests: whatever the bytes, a parser returns a ParsedDocument or raises ArtifactRejected."""
import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transforms.parsers import (csv_table, derived_json, parse_artifact, plain_text, poll_csv, poll_json, sbv, srt,
                                webvtt, zoom_chat, zoom_transcript_json)
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.parsers.roster import Roster
from transforms.records import Participant

PROPERTY = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ROSTER = (Participant("p1", "Ann Lee", "ann@example.org", ("ann",)), Participant("p2", "Bob (he/him)"))

TEXT_PARSERS = {
    "webvtt": (webvtt, "t.vtt"), "srt": (srt, "t.srt"), "sbv": (sbv, "t.sbv"),
    "zoom_transcript_json": (zoom_transcript_json, "t.json"), "zoom_chat": (zoom_chat, "chat.txt"),
    "poll_csv": (poll_csv, "p.csv"), "poll_json": (poll_json, "p.json"), "plain_text": (plain_text, "a.md"),
    "csv_table": (csv_table, "a.csv"), "derived_json": (derived_json, "d.json"),
}

# Lines built from the tokens the formats are made of, so the parsers' inner branches are reached.
TOKENS = st.sampled_from([
    "WEBVTT", "\ufeffWEBVTT", "NOTE", "STYLE", "REGION", "-->", " --> ", "00:00:01.000", "00:01.5", "0:00:01.000,",
    "00:00:01,000", "99:99:99.999", "1", "\t", ": ", "Ann Lee", "From  ", "  to  ", "Everyone", "(Direct Message)",
    "(privately)", "Replying to \"", "Reacted to \"", "\" with 👍", "Removed a 👍 reaction from \"", "\"", "...",
    "<v Ann>", "</v>", "<c.x>", "<00:00:01.000>", "&amp;", "#,User Name,User Email,Q", ",", "Question,Answer",
    "{", "}", "[", "]", '"timeline":', '"text":', '"ts":', '"question_details":', '"highlights":', "null", "1e999",
    "\r\n", "\n", "\r", " ", "\x00", "\x85", "é", "\u2028",
])
FORMAT_LIKE_TEXT = st.lists(TOKENS, max_size=60).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1"])


def _check(module, filename, payload):
    context = ParseContext(kind="upload", filename=filename, roster=ROSTER)
    try:
        document = module.parse(payload, context)
    except ArtifactRejected:
        return
    assert isinstance(document, ParsedDocument)
    assert document.segments and all(isinstance(s.text, str) and s.text.strip() for s in document.segments)


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@PROPERTY
@given(payload=st.binary(max_size=2048))
def test_arbitrary_bytes(name, payload):
    module, filename = TEXT_PARSERS[name]
    _check(module, filename, payload)


@pytest.mark.parametrize("name", sorted(TEXT_PARSERS))
@PROPERTY
@given(text=FORMAT_LIKE_TEXT, encoding=ENCODINGS)
def test_format_like_text(name, text, encoding):
    module, filename = TEXT_PARSERS[name]
    _check(module, filename, text.encode(encoding, errors="replace"))


KINDS = st.one_of(st.sampled_from(["transcript", "chat", "poll", "whiteboard", "upload", "derived", "TRANSCRIPT",
                                   " chat ", "video", ""]), st.text(max_size=12))
FILENAMES = st.one_of(
    st.sampled_from(["t.vtt", "t.srt", "t.sbv", "t.json", "chat.txt", "p.csv", "a.md", "a.txt", "d.json",
                     "noext", ".txt", "a.", "a/b\\c.VTT", "x.mp4"]),
    st.text(max_size=20),
)


@PROPERTY
@given(payload=st.one_of(st.binary(max_size=2048), FORMAT_LIKE_TEXT.map(lambda t: t.encode("utf-8", "replace"))),
       kind=KINDS, filename=FILENAMES)
def test_dispatcher_arbitrary_input(payload, kind, filename):
    try:
        document = parse_artifact(payload, kind=kind, filename=filename, roster=ROSTER)
    except ArtifactRejected:
        return
    assert isinstance(document, ParsedDocument) and document.segments


@PROPERTY
@given(label=st.one_of(st.none(), st.text(max_size=40)))
def test_roster_match_never_raises(label):
    result = Roster(ROSTER).match(label)
    assert result in (None, "p1", "p2")


@PROPERTY
@given(text=st.text(max_size=300))
def test_utf16_roundtrip_through_the_dispatcher(text):
    payload = codecs.BOM_UTF16_LE + text.encode("utf-16-le", errors="surrogatepass")
    try:
        document = parse_artifact(payload, kind="upload", filename="a.txt")
    except ArtifactRejected:
        return
    assert "\n\n".join(s.text for s in document.segments).split() == \
        "\n\n".join(plain_text.split_paragraphs(text.replace("\r\n", "\n").replace("\r", "\n"))).split()


MAGIC_ROUTES = st.sampled_from([
    (b"%PDF-1.7\n", "upload", "a.pdf"), (b"%PDF-1.4\n", "whiteboard", "wb.pdf"),
    (b"PK\x03\x04", "upload", "a.docx"), (b"PK\x03\x04", "upload", "a.pptx"), (b"PK\x03\x04", "upload", "a.xlsx"),
    (b"\x89PNG\r\n\x1a\n", "whiteboard", "wb.png"), (b"\xff\xd8\xff", "whiteboard", "wb.jpg"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'>", "whiteboard", "wb.svg"), (b"{", "whiteboard", "wb.json"),
    (b"<html><body>", "upload", "a.html"),
])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(route=MAGIC_ROUTES, tail=st.binary(max_size=512))
def test_dispatcher_binary_routes_with_valid_magic(route, tail):
    """Payloads that pass the magic check reach the binary parsers, which must also fail closed."""
    magic, kind, filename = route
    try:
        document = parse_artifact(magic + tail, kind=kind, filename=filename, roster=ROSTER)
    except ArtifactRejected:
        return
    assert isinstance(document, ParsedDocument) and document.segments
