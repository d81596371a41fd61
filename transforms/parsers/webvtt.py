"""WebVTT as Zoom writes it, plus the parts of the spec real files use.

Header ``WEBVTT`` (after BOM handling) with optional text and metadata header lines;
NOTE / STYLE / REGION blocks; optional cue identifiers; ``[HH:]MM:SS.mmm --> ...``
timings with cue settings; cue tags (``<v Name>``, ``<c.x>``, ``<i>``, ``<b>``,
``<00:00:01.000>``) stripped, the speaker taken from ``<v Name>`` or a "Name: " prefix.
A line containing ``-->`` always starts a new cue (as in the spec's parser).

Cues with an invalid timing are skipped and counted; a file whose cues are all invalid is
MALFORMED, a file with no cue at all is EMPTY.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_text
from transforms.parsers.roster import Roster
from transforms.parsers.timecodes import clock_to_ms, split_speaker
from transforms.records import DeadLetterReason

SOURCE_FORMAT = "webvtt"

_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")
_TIMING = re.compile(r"^\s*(\S+)[ \t]+-->[ \t]+(\S+)(?:[ \t]+.*)?$")
_VOICE = re.compile(r"<v(?:\.[^\s>]*)?[ \t]+([^>]+)>")
_TAG = re.compile(r"</?(?:c|i|b|u|v|ruby|rt|lang)(?:\.[^\s<>]*)?(?:[ \t][^<>]*)?>|<\d[\d:.]*>")
_BLOCK_KEYWORD = re.compile(r"^(NOTE|STYLE|REGION)(?:[ \t].*)?$")


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: Optional[int]          # None when the file's end precedes its start
    text: str                      # tags stripped, lines joined with "\n"
    speaker_label: Optional[str]


@dataclass(frozen=True)
class CueParseResult:
    cues: Tuple[Cue, ...]
    timing_lines: int              # lines containing "-->"
    invalid_cues: int              # timing unparsable
    empty_cues: int                # valid timing, no text


@dataclass
class CueTally:
    """The cues and counts of one cue-by-cue parse (WebVTT, SRT, SBV), block by block."""

    cues: List["Cue"] = field(default_factory=list)
    timing_lines: int = 0
    invalid: int = 0
    empty: int = 0

    def add(self, timing: Optional[Tuple[int, Optional[int]]], text_lines: List[str]) -> None:
        """One block with a timing line: its span (None if unparsable) and its text lines."""
        self.timing_lines += 1
        if timing is None:
            self.invalid += 1
            return
        cue = cue_from_lines(timing[0], timing[1], text_lines)
        if cue is None:
            self.empty += 1
        else:
            self.cues.append(cue)

    def result(self) -> CueParseResult:
        return CueParseResult(tuple(self.cues), self.timing_lines, self.invalid, self.empty)


def blank_line_blocks(text: str) -> Iterator[List[str]]:
    """Runs of non-blank lines: how SRT and SBV write their cues."""
    block: List[str] = []
    for line in text.split("\n"):
        if line.strip():
            block.append(line)
        elif block:
            yield block
            block = []
    if block:
        yield block


def cue_from_lines(start_ms: int, end_ms: Optional[int], text_lines: List[str]) -> Optional["Cue"]:
    """A cue from its text lines (tags stripped, speaker from <v> or "Name:"), or None if empty."""
    voice, cue_text = clean_cue_text(text_lines)
    speaker, cue_text = (voice, cue_text) if voice else split_speaker(cue_text)
    return Cue(start_ms, end_ms, cue_text, speaker) if cue_text else None


def clean_cue_text(raw_lines: List[str]) -> Tuple[Optional[str], str]:
    """Strip cue tags; return (speaker from <v>, text)."""
    joined = "\n".join(line.strip() for line in raw_lines).strip()
    voice = _VOICE.search(joined)
    speaker = voice.group(1).strip() if voice else None
    text = html.unescape(_TAG.sub("", joined))
    text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip()
    return speaker or None, text


def _timing(line: str) -> Optional[Tuple[int, Optional[int]]]:
    match = _TIMING.match(line)
    if not match:
        return None
    start = clock_to_ms(match.group(1), fraction_sep=".", require_fraction=True)
    end = clock_to_ms(match.group(2), fraction_sep=".", require_fraction=True)
    if start is None or end is None:
        return None
    return start, (end if end >= start else None)


def parse_cues(text: str) -> CueParseResult:
    """Parse normalized (LF) WebVTT text that starts with the header line."""
    lines = text.split("\n")
    if not lines or not _HEADER.match(lines[0].rstrip()):
        raise ArtifactRejected(DeadLetterReason.WRONG_FORMAT, "MissingWebvttHeader")
    i = 1
    while i < len(lines) and lines[i].strip() and "-->" not in lines[i]:
        i += 1                                   # metadata headers (possibly multi-line)
    tally = CueTally()
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if "-->" not in line and _BLOCK_KEYWORD.match(line.strip()):
            while i < len(lines) and lines[i].strip():
                i += 1                           # NOTE / STYLE / REGION block
            continue
        if "-->" not in line:
            i += 1                               # cue identifier; the timing must follow
            if i >= len(lines) or "-->" not in lines[i]:
                tally.invalid += 1               # a block without a timing line
                while i < len(lines) and lines[i].strip():
                    i += 1
                continue
            line = lines[i]
        timing = _timing(line)
        i += 1
        body: List[str] = []
        while i < len(lines) and lines[i].strip() and "-->" not in lines[i]:
            body.append(lines[i])
            i += 1
        tally.add(timing, body)
    return tally.result()


def cues_to_document(result: CueParseResult, context: ParseContext, source_format: str,
                     encoding: str, fallback: bool) -> ParsedDocument:
    """Shared by WebVTT / SRT / SBV: reason codes for cue-less files, roster matching."""
    if not result.cues:
        if result.invalid_cues:
            raise ArtifactRejected(DeadLetterReason.MALFORMED, "NoValidCues")
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoCues")
    roster = Roster(context.roster)
    segments = tuple(
        ParsedSegment(
            text=cue.text,
            speaker_label=cue.speaker_label,
            participant_id=roster.match(cue.speaker_label),
            start_ms=cue.start_ms,
            end_ms=cue.end_ms,
        )
        for cue in result.cues
    )
    return ParsedDocument(source_format, segments, encoding=encoding, encoding_fallback=fallback)


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    text = decoded.normalized.lstrip("\ufeff")
    return cues_to_document(parse_cues(text), context, SOURCE_FORMAT, decoded.encoding, decoded.fallback)
