"""HTML parser: visible text by block, encodings, rejections, totality."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from examples.builders import build_html, build_pdf
from pipeline.config import IngestLimits
from transforms.parsers import html
from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.records import DeadLetterReason as R

SECRET = "Zelda Quimby-Vasquez"
CONTEXT = ParseContext(kind="upload", filename="page.html")
PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _texts(payload: bytes):
    return [s.text for s in html.parse(payload, CONTEXT).segments]


def _reason(payload: bytes, context: ParseContext = CONTEXT) -> R:
    with pytest.raises(ArtifactRejected) as info:
        html.parse(payload, context)
    assert SECRET not in str(info.value)
    return info.value.reason


def test_builder_page_skips_head_title_style_and_script():
    doc = html.parse(build_html(["First <para> & more", "Second"], title=SECRET), CONTEXT)
    assert doc.source_format == "html"
    assert [s.text for s in doc.segments] == ["First <para> & more", "Second"]
    assert all(s.speaker_label is None for s in doc.segments)


def test_blocks_inline_elements_breaks_and_entities():
    page = (
        b"<html><body><h1>Plan</h1><div>Intro <b>bold</b> and <a href='#'>link</a>"
        b"<p>Nested&nbsp;para &amp; caf&eacute;</p>tail</div>"
        b"<ul><li>one</li><li>two<br>lines</li></ul>"
        b"<table><tr><td>c1</td><td>c2</td></tr></table>"
        b"<template><p>hidden</p></template><noscript>nojs</noscript></body></html>"
    )
    assert _texts(page) == ["Plan", "Intro bold and link", "Nested para & café", "tail", "one", "two\nlines", "c1", "c2"]


def test_unclosed_head_does_not_hide_the_body():
    assert _texts(b"<html><head><title>t</title><meta charset=utf-8><p>Body text</p>") == ["Body text"]


def test_fragment_without_markup_is_one_paragraph():
    assert _texts(b"just some   text\nover lines") == ["just some text\nover lines"]


def test_declared_charset_and_fallback():
    declared = '<meta charset="windows-1252"><p>caf\u00e9 \u201cquoted\u201d</p>'.encode("cp1252")
    doc = html.parse(declared, CONTEXT)
    assert doc.segments[0].text == "caf\u00e9 \u201cquoted\u201d"
    assert (doc.encoding, doc.encoding_fallback) == ("cp1252", False)
    undeclared = "<p>caf\u00e9</p>".encode("cp1252")
    doc = html.parse(undeclared, CONTEXT)
    assert doc.segments[0].text == "caf\u00e9" and doc.encoding_fallback is True
    bom16 = "\ufeff<p>hello \u00fc</p>".encode("utf-16-le")
    assert html.parse(bom16, CONTEXT).segments[0].text == "hello \u00fc"


def test_empty_and_markup_only_pages_are_empty():
    assert _reason(b"") is R.EMPTY
    assert _reason(b"   \n") is R.EMPTY
    assert _reason(b"<html><head><title>x</title></head><body><script>x()</script></body></html>") is R.EMPTY


def test_binary_and_other_formats_are_rejected():
    assert _reason(build_pdf(["x"])) is R.WRONG_FORMAT
    assert _reason(b"<p>" + SECRET.encode() + b"\x00\x00\x01</p>") is R.BINARY_GARBAGE
    small = ParseContext(kind="upload", filename="a.html", limits=IngestLimits(max_file_bytes=10))
    assert _reason(build_html(["long enough"]), small) is R.OVERSIZED


def _check_total(payload: bytes) -> None:
    try:
        result = html.parse(payload, CONTEXT)
    except ArtifactRejected as exc:
        assert isinstance(exc.reason, R)
        return
    assert isinstance(result, ParsedDocument) and result.segments
    assert all(s.text and s.text == s.text.strip() for s in result.segments)


@PROPERTY
@given(st.binary(max_size=1024))
def test_arbitrary_bytes_only_raise_artifact_rejected(payload):
    _check_total(payload)


_TAGS = st.sampled_from(["<p>", "</p>", "<div>", "<br>", "<script>", "</script>", "<head>", "</head>", "<!--", "-->",
                         "<![CDATA[", "]]>", "<!DOCTYPE html>", "&amp;", "&#x110000;", "&#0;", "<style>", "<", ">", "</"])


@PROPERTY
@given(st.lists(st.one_of(_TAGS, st.text(max_size=12)), max_size=30))
def test_arbitrary_markup_soup(parts):
    _check_total("".join(parts).encode("utf-8", "surrogatepass"))
