"""Whiteboard SVG exports: one segment per ``<text>`` / ``<foreignObject>``, in reading order.

Parsed with the stdlib expat parser directly, defusedxml-style: any DOCTYPE, entity or
notation declaration rejects the file as MALFORMED before it can expand (no billion
laughs, no external entities). Positions: ``x``/``y`` of the element (or of its first
``<tspan>``), plus every ``translate(..)`` (and the translation part of ``matrix(..)``)
on the element and its ancestors; rotation and scale are ignored. ``<tspan>`` children
that start a new line (own ``y``, ``dy`` or ``x``) become new lines of the segment.
``<foreignObject>`` text comes from its XHTML content, block elements as lines.
SVG exports carry no authors: ``speaker_label`` is None.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from xml.parsers import expat

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.containers import check_payload_size, reject_not_container, sniff_magic, tidy_text
from transforms.parsers.whiteboard_json import reading_order
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "whiteboard_svg"
SVG_NS = "http://www.w3.org/2000/svg"
ROW_TOLERANCE = 20.0
MAX_DEPTH = 512
_SKIPPED = frozenset({"title", "desc", "metadata", "style", "script", "defs"})
_HTML_BLOCKS = frozenset({"div", "p", "li", "br", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th"})
_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_TRANSFORM = re.compile(r"(translate|matrix)\s*\(([^)]*)\)")
_SEPARATOR = re.compile(r"[\s,]+")


class _Forbidden(Exception):
    """A DTD construct was declared."""


def _local(name: str) -> Tuple[str, str]:
    namespace, _, local = name.rpartition(" ")
    return namespace, local


def _length(value: Optional[str]) -> Optional[float]:
    """The first number of an SVG length/coordinate list ("12", "12px", "10 20 30")."""
    if value is None:
        return None
    match = _NUMBER.match(value)
    if not match:
        return None
    try:
        number = float(match.group(1))
    except (ValueError, OverflowError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def _translation(transform: Optional[str]) -> Tuple[float, float]:
    if not transform:
        return 0.0, 0.0
    dx = dy = 0.0
    for kind, args in _TRANSFORM.findall(transform):
        numbers = [_length(part) for part in _SEPARATOR.split(args.strip()) if part]
        values = [n for n in numbers if n is not None]
        if kind == "translate" and values:
            dx += values[0]
            dy += values[1] if len(values) > 1 else 0.0
        elif kind == "matrix" and len(values) == 6:
            dx += values[4]
            dy += values[5]
    return dx, dy


@dataclass
class _Block:
    """A <text> or <foreignObject> being collected."""

    x: float
    y: float
    lines: List[List[str]] = field(default_factory=lambda: [[]])
    positioned: bool = False          # whether x/y came from the element (else first tspan)

    def newline(self) -> None:
        if self.lines[-1]:
            self.lines.append([])

    def text(self) -> str:
        return tidy_text("\n".join("".join(parts) for parts in self.lines))


class _SvgCollector:
    def __init__(self) -> None:
        self.blocks: List[_Block] = []
        self.root_seen: Optional[Tuple[str, str]] = None
        # Per open element: (local name, accumulated translation, skip?)
        self._stack: List[Tuple[str, Tuple[float, float], bool]] = []
        self._block: Optional[_Block] = None
        self._block_depth = -1

    def start(self, name: str, attrs: Dict[str, str]) -> None:
        namespace, local = _local(name)
        if self.root_seen is None:
            self.root_seen = (namespace, local)
        if len(self._stack) >= MAX_DEPTH:
            raise _Forbidden("TooDeep")
        parent_offset = self._stack[-1][1] if self._stack else (0.0, 0.0)
        parent_skip = self._stack[-1][2] if self._stack else False
        tx, ty = _translation(attrs.get("transform"))
        offset = (parent_offset[0] + tx, parent_offset[1] + ty)
        skip = parent_skip or (local in _SKIPPED and namespace in ("", SVG_NS))
        self._stack.append((local, offset, skip))
        if skip:
            return
        if self._block is None and local in ("text", "foreignObject"):
            x, y = _length(attrs.get("x")), _length(attrs.get("y"))
            self._block = _Block(
                x=(x or 0.0) + offset[0], y=(y or 0.0) + offset[1], positioned=x is not None or y is not None
            )
            self._block_depth = len(self._stack)
        elif self._block is not None and local == "tspan":
            starts_line = any(attrs.get(key) is not None for key in ("x", "y", "dy"))
            if starts_line:
                self._block.newline()
            if not self._block.positioned:
                x, y = _length(attrs.get("x")), _length(attrs.get("y"))
                if x is not None or y is not None:
                    self._block.x = (x or 0.0) + offset[0]
                    self._block.y = (y or 0.0) + offset[1]
                    self._block.positioned = True
        elif self._block is not None and local in _HTML_BLOCKS:
            self._block.newline()

    def end(self, name: str) -> None:
        _, local = _local(name)
        if self._block is not None and len(self._stack) == self._block_depth:
            self.blocks.append(self._block)
            self._block = None
            self._block_depth = -1
        elif self._block is not None and local in _HTML_BLOCKS:
            self._block.newline()
        if self._stack:
            self._stack.pop()

    def data(self, text: str) -> None:
        if self._block is not None and self._stack and not self._stack[-1][2]:
            self._block.lines[-1].append(text)


def _forbid(*_args) -> None:
    raise _Forbidden("Dtd")


def _parse_xml(payload: bytes) -> _SvgCollector:
    collector = _SvgCollector()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.NotationDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.StartElementHandler = collector.start
    parser.EndElementHandler = collector.end
    parser.CharacterDataHandler = collector.data
    parser.buffer_text = True
    try:
        parser.Parse(payload, True)
    except _Forbidden as exc:
        reason = "SvgTooDeep" if str(exc) == "TooDeep" else "XmlDtdForbidden"
        raise ArtifactRejected(DeadLetterReason.MALFORMED, reason) from None
    except expat.ExpatError:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "ExpatError") from None
    except (ValueError, UnicodeError, LookupError, RecursionError, OverflowError) as exc:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, type(exc).__name__) from None
    return collector


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    """Parse an SVG whiteboard export; raises only ``ArtifactRejected``."""
    check_payload_size(payload, context.limits)
    if sniff_magic(payload) is not None:
        raise reject_not_container(payload, "svg")
    collector = _parse_xml(payload)
    if collector.root_seen != (SVG_NS, "svg") and collector.root_seen != ("", "svg"):
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "NotSvg")
    items = [(block.y, block.x, block.text()) for block in collector.blocks]
    items = [item for item in items if item[2]]
    if not items:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "SvgNoText")
    ordered = reading_order(items, y=lambda i: i[0], x=lambda i: i[1], tolerance=ROW_TOLERANCE)
    return ParsedDocument(
        source_format=SOURCE_FORMAT,
        segments=tuple(ParsedSegment(text=text) for _, _, text in ordered),
    )
