"""SubRip (.srt): ``index`` / ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` / text lines / blank line."""
from __future__ import annotations

import re
from typing import Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.parsers.encoding import decode_text
from transforms.parsers.timecodes import cue_span
from transforms.parsers.webvtt import CueParseResult, CueTally, blank_line_blocks, cues_to_document
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "srt"

_TIMING = re.compile(r"^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")


def _timing(line: str) -> Optional[Tuple[int, Optional[int]]]:
    match = _TIMING.match(line)
    if not match:
        return None
    return cue_span(match.group(1), match.group(2), fraction_sep=",")


def parse_cues(text: str) -> CueParseResult:
    """Parse normalized (LF) SRT text. Blocks without a timing line are invalid cues."""
    if text.lstrip().startswith("WEBVTT"):
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "WebvttInSrt")
    tally = CueTally()
    for block in blank_line_blocks(text):
        timing_at = next((k for k, line in enumerate(block) if "-->" in line), None)
        if timing_at is None or timing_at > 1 or (timing_at == 1 and not block[0].strip().isdigit()):
            tally.invalid += 1                            # no timing, or text before it
            tally.timing_lines += 0 if timing_at is None else 1
            continue
        tally.add(_timing(block[timing_at]), block[timing_at + 1:])
    return tally.result()


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    result = parse_cues(decoded.normalized.lstrip("\ufeff"))
    return cues_to_document(result, context, SOURCE_FORMAT, decoded.encoding, decoded.fallback)
