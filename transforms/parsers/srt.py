"""SubRip (.srt): ``index`` / ``HH:MM:SS,mmm --> HH:MM:SS,mmm`` / text lines / blank line."""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument
from transforms.parsers.encoding import decode_text
from transforms.parsers.timecodes import clock_to_ms, split_speaker
from transforms.parsers.webvtt import Cue, CueParseResult, clean_cue_text, cues_to_document
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "srt"

_TIMING = re.compile(r"^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")


def _timing(line: str) -> Optional[Tuple[int, Optional[int]]]:
    match = _TIMING.match(line)
    if not match:
        return None
    start = clock_to_ms(match.group(1), require_hours=True, fraction_sep=",", require_fraction=True)
    end = clock_to_ms(match.group(2), require_hours=True, fraction_sep=",", require_fraction=True)
    if start is None or end is None:
        return None
    return start, (end if end >= start else None)


def parse_cues(text: str) -> CueParseResult:
    """Parse normalized (LF) SRT text. Blocks without a timing line are invalid cues."""
    if text.lstrip().startswith("WEBVTT"):
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "WebvttInSrt")
    cues: List[Cue] = []
    timing_lines = invalid = empty = 0
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        block: List[str] = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        timing_at = next((k for k, line in enumerate(block) if "-->" in line), None)
        if timing_at is None or timing_at > 1 or (timing_at == 1 and not block[0].strip().isdigit()):
            invalid += 1                                  # no timing, or text before it
            timing_lines += 0 if timing_at is None else 1
            continue
        timing_lines += 1
        timing = _timing(block[timing_at])
        if timing is None:
            invalid += 1
            continue
        voice, cue_text = clean_cue_text(block[timing_at + 1:])
        speaker, cue_text = (voice, cue_text) if voice else split_speaker(cue_text)
        if not cue_text:
            empty += 1
            continue
        cues.append(Cue(timing[0], timing[1], cue_text, speaker))
    return CueParseResult(tuple(cues), timing_lines, invalid, empty)


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    result = parse_cues(decoded.normalized.lstrip("\ufeff"))
    return cues_to_document(result, context, SOURCE_FORMAT, decoded.encoding, decoded.fallback)
