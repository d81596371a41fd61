"""Derived documents as JSON (summaries, highlights): text fields only, no author.

``{"meeting": ..., "highlights": {"<topic>": [{"timestamp": "00:09:41", "highlight": "..."}]}}``
→ one segment per highlight, ``start_ms`` from its timestamp. Other shapes: every string under
a text-like key (``summary``, ``text``, ``content``, ``notes``, ``action_items``...) becomes one
segment per paragraph. Titles, ids and topic keys are not text.
"""
from __future__ import annotations

from typing import Any, List, Optional

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_json
from transforms.parsers.plain_text import split_paragraphs
from transforms.parsers.zoom_transcript_json import time_to_ms
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "derived_json"

TEXT_KEYS = frozenset({
    "highlight", "highlights", "text", "summary", "summaries", "content", "body", "paragraph",
    "paragraphs", "notes", "note", "description", "action_items", "actions", "decisions",
    "key_points", "bullets", "items", "overview", "next_steps", "takeaways", "details",
})
_TIME_KEYS = ("timestamp", "ts", "start", "start_time", "time")


def _timestamp(node: dict) -> Optional[int]:
    for key in _TIME_KEYS:
        if key in node:
            return time_to_ms(node[key])
    return None


def _collect(node: Any, under_text_key: bool, start_ms: Optional[int], out: List[ParsedSegment]) -> None:
    stack = [(node, under_text_key, start_ms)]
    while stack:
        current, textual, start = stack.pop()
        if isinstance(current, str):
            if textual:
                out.extend(ParsedSegment(text=p, start_ms=start) for p in split_paragraphs(current))
        elif isinstance(current, list):
            stack.extend((item, textual, start) for item in reversed(current))
        elif isinstance(current, dict):
            own = _timestamp(current)
            children = []
            for key, value in current.items():
                key_text = str(key).lower()
                textual_child = key_text in TEXT_KEYS or (textual and key_text not in _TIME_KEYS
                                                          and not isinstance(value, (str, int, float)))
                children.append((value, textual_child, own if own is not None else start))
            stack.extend(reversed(children))


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    document, decoded = decode_json(payload)
    segments: List[ParsedSegment] = []
    _collect(document, isinstance(document, (str, list)) and not isinstance(document, dict), None, segments)
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoDerivedText")
    return ParsedDocument(SOURCE_FORMAT, tuple(segments), decoded.encoding, decoded.fallback)
