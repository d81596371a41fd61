"""Whiteboard JSON and SVG exports: reading order, authors, safety, totality."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.builders import BoardElement, build_pdf, build_whiteboard_json, build_whiteboard_svg
from transforms.parsers import whiteboard_json, whiteboard_svg
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.parsers.whiteboard_json import reading_order
from transforms.records import DeadLetterReason as R
from transforms.records import Participant

SECRET = "Zelda Quimby-Vasquez"
ROSTER = (
    Participant("p-ann", name="Ann Lee", email="ann.lee@example.com"),
    Participant("p-bob", name="Bob Stone", handles=("bobs",)),
    Participant("p-bob2", name="Bob Stone"),        # a namesake: "Bob Stone" is ambiguous
    Participant("p-cy", name="Cy Young", email="cy@example.com"),
)
JSON_CTX = ParseContext(kind="whiteboard", filename="board.json", roster=ROSTER)
SVG_CTX = ParseContext(kind="whiteboard", filename="board.svg")
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _reason(module, payload: bytes, context: ParseContext) -> R:
    with pytest.raises(ArtifactRejected) as info:
        module.parse(payload, context)
    assert SECRET not in str(info.value)
    return info.value.reason


def _board(elements) -> bytes:
    return json.dumps({"board": {"title": SECRET}, "elements": elements}).encode()


# --------------------------------------------------------------------------- reading order

def test_reading_order_groups_rows_within_tolerance():
    items = [(105, 300, "row1-right"), (100, 10, "row1-left"), (300, 5, "row2"), (112, 150, "row1-mid"), (300, 5, "row2-tie")]
    ordered = reading_order(items, y=lambda i: i[0], x=lambda i: i[1], tolerance=20)
    assert [i[2] for i in ordered] == ["row1-left", "row1-mid", "row1-right", "row2", "row2-tie"]
    strict = reading_order(items, y=lambda i: i[0], x=lambda i: i[1], tolerance=0)
    assert [i[2] for i in strict][:3] == ["row1-left", "row1-right", "row1-mid"]


# --------------------------------------------------------------------------- JSON

def test_json_builder_elements_in_reading_order_with_authors():
    payload = build_whiteboard_json([
        BoardElement("Below", 10, 400, author="Zed Unknown"),
        BoardElement("Right", 500, 30, author="Ann Lee"),
        BoardElement("Left", 20, 10, author="cy@example.com", kind="text"),
        BoardElement("No author", 900, 400),
    ])
    doc = whiteboard_json.parse(payload, JSON_CTX)
    assert doc.source_format == "whiteboard_json"
    assert [(s.text, s.speaker_label, s.participant_id) for s in doc.segments] == [
        ("Left", "cy@example.com", "p-cy"),
        ("Right", "Ann Lee", "p-ann"),
        ("Below", "Zed Unknown", None),
        ("No author", None, None),
    ]


def test_json_author_objects_handles_emails_and_ambiguity():
    payload = _board([
        {"type": "sticky", "text": "a", "x": 0, "y": 0, "author": {"name": "Bob Stone"}},
        {"type": "sticky", "text": "b", "x": 0, "y": 100, "author": {"handle": "@bobs"}},
        {"type": "sticky", "text": "c", "x": 0, "y": 200, "author": {"name": "A. Lee", "email": "ANN.LEE@example.com"}},
        {"type": "shape", "text": "d", "x": 0, "y": 300, "author": "  "},
        {"type": "connector", "from": "a", "to": "b"},
        {"type": "image", "url": "x.png", "x": 0, "y": 0},
        {"type": "comment", "text": "  ", "x": 0, "y": 400},
    ])
    doc = whiteboard_json.parse(payload, JSON_CTX)
    assert [(s.text, s.speaker_label, s.participant_id) for s in doc.segments] == [
        ("a", "Bob Stone", None),           # two Bob Stones: ambiguous, fail closed
        ("b", "@bobs", "p-bob"),
        ("c", "A. Lee", "p-ann"),           # name unknown, e-mail matches
        ("d", None, None),
    ]


def test_json_row_tolerance_follows_element_height():
    tall = [{"type": "sticky", "text": t, "x": x, "y": y, "height": 200} for t, x, y in
            [("second", 300, 60), ("first", 10, 0), ("third", 10, 400)]]
    assert [s.text for s in whiteboard_json.parse(_board(tall), JSON_CTX).segments] == ["first", "second", "third"]


@pytest.mark.parametrize("document", [
    [],
    {"elements": "nope"},
    {"board": {}},
    {"elements": ["text"]},
    {"elements": [{"type": 3, "text": "a", "x": 0, "y": 0}]},
    {"elements": [{"type": "text", "text": 5, "x": 0, "y": 0}]},
    {"elements": [{"type": "text", "text": "a", "x": "0", "y": 0}]},
    {"elements": [{"type": "text", "text": "a", "x": True, "y": 0}]},
    {"elements": [{"type": "text", "text": "a", "y": 0}]},
    {"elements": [{"type": "text", "text": "a", "x": 0, "y": 0, "author": ["x"]}]},
    {"elements": [{"type": "text", "text": "a", "x": 0, "y": 0, "author": {"name": 7}}]},
])
def test_json_malformed_structures(document):
    assert _reason(whiteboard_json, json.dumps(document).encode(), JSON_CTX) is R.MALFORMED


def test_json_syntax_non_finite_and_nesting():
    assert _reason(whiteboard_json, b'{"elements": [', JSON_CTX) is R.MALFORMED
    nan = b'{"elements": [{"type": "text", "text": "a", "x": NaN, "y": 0}]}'
    assert _reason(whiteboard_json, nan, JSON_CTX) is R.MALFORMED
    assert _reason(whiteboard_json, b"[" * 100_000 + b"]" * 100_000, JSON_CTX) is R.MALFORMED
    huge_int = b'{"elements": [{"type": "text", "text": "a", "x": 1' + b"0" * 5000 + b', "y": 0}]}'
    assert _reason(whiteboard_json, huge_int, JSON_CTX) is R.MALFORMED


def test_json_empty_and_other_rejections():
    assert _reason(whiteboard_json, b"", JSON_CTX) is R.EMPTY
    assert _reason(whiteboard_json, _board([]), JSON_CTX) is R.EMPTY
    assert _reason(whiteboard_json, _board([{"type": "connector"}]), JSON_CTX) is R.EMPTY
    assert _reason(whiteboard_json, b"\x00\x01\x02" * 50, JSON_CTX) is R.BINARY_GARBAGE


# --------------------------------------------------------------------------- SVG

def test_svg_builder_elements_in_reading_order():
    payload = build_whiteboard_svg([
        BoardElement("Shape box\nsecond line", 40, 600, kind="shape"),
        BoardElement("Sticky right\nline two", 400, 105),
        BoardElement("Free text", 20, 100, kind="text"),
    ])
    doc = whiteboard_svg.parse(payload, SVG_CTX)
    assert doc.source_format == "whiteboard_svg"
    assert [s.text for s in doc.segments] == ["Free text", "Sticky right\nline two", "Shape box\nsecond line"]
    assert all(s.speaker_label is None for s in doc.segments)


def test_svg_nested_translations_and_tspan_positions():
    svg = b"""<svg xmlns="http://www.w3.org/2000/svg">
      <title>Board title</title><desc>not content</desc>
      <g transform="translate(0 500)"><g transform="translate(10,10) rotate(5)">
        <text x="0" y="0">bottom</text></g></g>
      <text><tspan x="300" y="50">top right</tspan><tspan x="300" dy="1.2em">continued</tspan></text>
      <g transform="matrix(1 0 0 1 20 40)"><text x="0" y="0">top <tspan font-weight="bold">left</tspan></text></g>
    </svg>"""
    assert [s.text for s in whiteboard_svg.parse(svg, SVG_CTX).segments] == ["top left", "top right\ncontinued", "bottom"]


@pytest.mark.parametrize("payload", [
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;">'
    b'<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text x="0" y="0">&lol2;</text></svg>',
    b'<?xml version="1.0"?><!DOCTYPE svg SYSTEM "http://example.com/evil.dtd">'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>x</text></svg>',
    b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY ext SYSTEM "file:///etc/passwd">]>'
    b'<svg xmlns="http://www.w3.org/2000/svg"><text>&ext;</text></svg>',
])
def test_svg_dtds_and_entities_are_rejected(payload):
    assert _reason(whiteboard_svg, payload, SVG_CTX) is R.MALFORMED


def test_svg_other_rejections():
    assert _reason(whiteboard_svg, b"<svg xmlns='http://www.w3.org/2000/svg'><text>unclosed", SVG_CTX) is R.MALFORMED
    assert _reason(whiteboard_svg, b"<html><body><text x='1'>hi</text></body></html>", SVG_CTX) is R.WRONG_FORMAT
    assert _reason(whiteboard_svg, b"<svg xmlns='http://www.w3.org/2000/svg'><rect/></svg>", SVG_CTX) is R.EMPTY
    assert _reason(whiteboard_svg, b"", SVG_CTX) is R.EMPTY
    assert _reason(whiteboard_svg, build_pdf(["x"]), SVG_CTX) is R.WRONG_FORMAT
    deep = b"<svg xmlns='http://www.w3.org/2000/svg'>" + b"<g>" * 5000 + b"</g>" * 5000 + b"</svg>"
    assert _reason(whiteboard_svg, deep, SVG_CTX) is R.MALFORMED


# --------------------------------------------------------------------------- totality

def _check_total(module, payload: bytes, context: ParseContext) -> None:
    try:
        result = module.parse(payload, context)
    except ArtifactRejected as exc:
        assert isinstance(exc.reason, R)
        return
    assert isinstance(result, ParsedDocument) and result.segments


@PROPERTY
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_only_raise_artifact_rejected(payload):
    _check_total(whiteboard_json, payload, JSON_CTX)
    _check_total(whiteboard_svg, payload, SVG_CTX)


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "text", "x", "y", "height", "author", "name", "email", "handle", "elements"]),
        inner, max_size=6),
    max_leaves=30,
)


@PROPERTY
@given(st.lists(st.dictionaries(
    st.sampled_from(["type", "text", "x", "y", "height", "author"]),
    st.one_of(st.sampled_from(["text", "sticky", "shape", "connector"]), _JSONISH), max_size=6), max_size=6))
def test_arbitrary_element_lists(elements):
    _check_total(whiteboard_json, json.dumps({"elements": elements}).encode(), JSON_CTX)


_SVG_VALID = build_whiteboard_svg([BoardElement("Sticky", 40, 60), BoardElement("Text", 5, 5, kind="text"),
                                   BoardElement("Shape", 9, 300, kind="shape")])


@PROPERTY
@given(st.lists(st.tuples(st.integers(0, len(_SVG_VALID) - 1), st.integers(0, 255)), max_size=6),
       st.integers(1, len(_SVG_VALID)))
def test_mutated_and_truncated_svg(flips, keep):
    mutated = bytearray(_SVG_VALID)
    for position, value in flips:
        mutated[position] = value
    _check_total(whiteboard_svg, bytes(mutated[:keep]), SVG_CTX)
