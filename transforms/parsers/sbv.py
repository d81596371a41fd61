"""YouTube SubViewer (.sbv): ``H:MM:SS.mmm,H:MM:SS.mmm`` then text lines, blank-line separated."""
from __future__ import annotations

import re
from typing import Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.parsers.encoding import decode_text
from transforms.parsers.timecodes import cue_span
from transforms.parsers.webvtt import CueParseResult, CueTally, blank_line_blocks, cues_to_document
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "sbv"

_TIMING_SHAPE = re.compile(r"^\s*[0-9a-zA-Z:.]+,[0-9a-zA-Z:.]+\s*$")


def _timing(line: str) -> Optional[Tuple[int, Optional[int]]]:
    start_raw, _, end_raw = line.strip().partition(",")
    return cue_span(start_raw, end_raw, fraction_sep=".")


def parse_cues(text: str) -> CueParseResult:
    if text.lstrip().startswith("WEBVTT"):
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "WebvttInSbv")
    tally = CueTally()
    for block in blank_line_blocks(text):
        if not _TIMING_SHAPE.match(block[0]):
            tally.invalid += 1                            # a block without a timing line
            continue
        tally.add(_timing(block[0]), block[1:])
    return tally.result()


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    result = parse_cues(decoded.normalized.lstrip("\ufeff"))
    return cues_to_document(result, context, SOURCE_FORMAT, decoded.encoding, decoded.fallback)
