"""HTML uploads: visible text only, one segment per block (paragraph, heading, list item...).

Built on the stdlib ``html.parser`` (no network, no entity expansion beyond HTML's named
character references). ``<head>``, ``<script>``, ``<style>``, ``<template>``, ``<noscript>``
and inline ``<svg>``/``<math>`` are skipped. A block element closes the current
paragraph; ``<br>`` is a line break inside it. Decoding: a BOM, else a ``<meta charset>``
in the first KiB, else the shared UTF-8 → cp1252 fallback of ``parsers.encoding``.
"""
from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from typing import List, Optional

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import check_payload_size, reject_not_container, sniff_magic, tidy_text
from transforms.parsers.encoding import DecodedText, decode_text
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "html"
SKIPPED = frozenset({"head", "script", "style", "template", "noscript", "svg", "math", "iframe", "object", "title"})
BLOCKS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "dd", "details", "dialog", "div",
    "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "html", "legend", "li", "main", "nav", "ol", "p", "pre", "section",
    "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
})
HEAD_CONTENT = frozenset({"title", "meta", "link", "style", "script", "base", "noscript", "template"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.IGNORECASE)


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: List[str] = []
        self._current: List[str] = []
        self._skip_stack: List[str] = []

    def _flush(self) -> None:
        text = tidy_text("".join(self._current))
        if text:
            self.paragraphs.append(text)
        self._current = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if self._skip_stack == ["head"] and tag not in HEAD_CONTENT:
            self._skip_stack.clear()      # "</head>" omitted: body content closes the head
        if self._skip_stack:
            if tag == self._skip_stack[-1] and tag not in VOID:
                self._skip_stack.append(tag)
            return
        if tag in SKIPPED:
            self._flush()
            self._skip_stack.append(tag)
        elif tag == "br":
            self._current.append("\n")
        elif tag in BLOCKS:
            self._flush()

    def handle_startendtag(self, tag: str, attrs) -> None:
        # <br/>, <p/>: never opens a skipped region
        if self._skip_stack:
            return
        if tag == "br":
            self._current.append("\n")
        elif tag in BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip_stack:
            if tag == self._skip_stack[-1]:
                self._skip_stack.pop()
            return
        if tag in BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip_stack:
            self._current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def _declared_codec(payload: bytes) -> Optional[str]:
    match = _META_CHARSET.search(payload[:1024])
    if not match:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


def _decode(payload: bytes) -> DecodedText:
    if payload.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return decode_text(payload)
    codec = _declared_codec(payload)
    if codec and codec not in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"):
        if b"\x00" in payload:
            raise ArtifactRejected(DeadLetterReason.BINARY_GARBAGE, "NulBytes")
        try:
            return DecodedText(payload.decode(codec), codec)
        except (UnicodeDecodeError, LookupError):
            pass  # the declaration lies; fall back to detection
    return decode_text(payload)


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse an HTML page; raises only ``ArtifactRejected``."""
    check_payload_size(payload, context.limits)
    magic = sniff_magic(payload)
    if magic is not None:
        raise reject_not_container(payload, "html")
    decoded = _decode(payload)
    collector = _TextCollector()
    try:
        collector.feed(decoded.text)
        collector.close()
    except Exception as exc:  # html.parser is lenient; anything raised is a broken document
        raise ArtifactRejected(DeadLetterReason.MALFORMED, type(exc).__name__) from None
    if not collector.paragraphs:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "HtmlNoText")
    return ParsedDocument(
        source_format=SOURCE_FORMAT,
        segments=tuple(ParsedSegment(text=p) for p in collector.paragraphs),
        encoding=decoded.encoding,
        encoding_fallback=decoded.fallback,
    )
