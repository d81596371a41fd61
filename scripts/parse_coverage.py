#!/usr/bin/env python
"""Parse coverage of the text parsers against a data folder.

    python scripts/parse_coverage.py /work/shared/data

Reads ``zoom-real`` (every transcript.vtt, transcript_corrected.vtt, chat.txt, tldr.json),
``zoom-chat-legacy`` (the legacy chat region embedded in the Markdown notes, and the
plain legacy export) and ``subtitle-fixtures``. What is *present* is counted independently
of the parsers (timing lines containing "-->", message-start lines by a simple regex);
what is *parsed* comes from ``transforms.parsers``. Prints counts only, never content.

Exit status 1 when any cue or chat message of a real Zoom file is not recovered with its
speaker (zoom-real must be 100%), 0 otherwise.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from transforms.parsers import ArtifactRejected, parse_artifact  # noqa: E402
from transforms.parsers import zoom_chat  # noqa: E402
from transforms.parsers.encoding import decode_text  # noqa: E402

TSV_START = re.compile(r"^\d{1,2}:\d{2}:\d{2}\t")
LEGACY_START = re.compile(r"^\s*(?:[-*]\s+)?\d{1,2}:\d{2}:\d{2}\s+From\s")
SBV_TIMING = re.compile(r"^\s*\d+:\d{2}:\d{2}\.\d+,")


@dataclass
class Row:
    folder: str
    what: str
    files: int = 0
    rejected: Counter = field(default_factory=Counter)
    present: int = 0
    parsed: int = 0
    with_speaker: int = 0
    reactions: int = 0
    direct_messages: int = 0
    segments: int = 0
    speakers: set = field(default_factory=set)


def _count_lines(text: str, pattern: re.Pattern) -> int:
    return sum(1 for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if pattern.match(line))


def transcript(row: Row, path: Path) -> None:
    payload = path.read_bytes()
    row.files += 1
    text = payload.decode("utf-8", errors="replace")
    row.present += _count_lines(text, SBV_TIMING) if path.suffix == ".sbv" else text.count("-->")
    try:
        document = parse_artifact(payload, kind="transcript", filename=path.name)
    except ArtifactRejected as rejected:
        row.rejected[rejected.reason.value] += 1
        return
    row.parsed += len(document.segments)
    row.segments += len(document.segments)
    labelled = [s.speaker_label for s in document.segments if s.speaker_label]
    row.with_speaker += len(labelled)
    row.speakers.update(labelled)


def chat(row: Row, name: str, payload: bytes, start: re.Pattern) -> None:
    row.files += 1
    decoded = decode_text(payload)
    row.present += _count_lines(decoded.text, start)
    try:
        result = zoom_chat.parse_messages(decoded.text)
        document = parse_artifact(payload, kind="chat", filename=name)
    except ArtifactRejected as rejected:
        row.rejected[rejected.reason.value] += 1
        return
    row.parsed += len(result.messages)
    row.with_speaker += sum(1 for m in result.messages if m.sender)
    row.reactions += result.reactions
    row.direct_messages += result.direct_messages
    row.segments += len(document.segments)
    row.speakers.update(m.sender for m in result.messages if m.sender)


def derived(row: Row, path: Path) -> None:
    payload = path.read_bytes()
    row.files += 1
    try:
        highlights = json.loads(payload).get("highlights", {})
        row.present += sum(len(v) for v in highlights.values() if isinstance(v, list))
    except (ValueError, AttributeError):
        pass
    try:
        document = parse_artifact(payload, kind="derived", filename=path.name)
    except ArtifactRejected as rejected:
        row.rejected[rejected.reason.value] += 1
        return
    row.parsed += len(document.segments)
    row.segments += len(document.segments)


def legacy_region(markdown: str) -> Optional[bytes]:
    """The lines from the first to the last legacy chat line (plus its indented continuation)."""
    lines = markdown.replace("\r\n", "\n").split("\n")
    starts = [i for i, line in enumerate(lines) if LEGACY_START.match(line)]
    if not starts:
        return None
    end = starts[-1] + 1
    while end < len(lines) and lines[end].strip() and lines[end][:1] in (" ", "\t"):
        end += 1
    region = [re.sub(r"^\s*[-*]\s+(?=\d)", "", line) for line in lines[starts[0]:end]]
    return "\n".join(region).encode("utf-8")


def collect(data: Path) -> List[Row]:
    rows: Dict[str, Row] = {}

    def row(folder: str, what: str) -> Row:
        return rows.setdefault(f"{folder}/{what}", Row(folder, what))

    real = data / "zoom-real"
    for meeting in sorted(p for p in real.glob("*/*") if p.is_dir()):
        for name in ("transcript.vtt", "transcript_corrected.vtt"):
            if (meeting / name).is_file():
                transcript(row("zoom-real", name), meeting / name)
        if (meeting / "chat.txt").is_file():
            chat(row("zoom-real", "chat.txt"), "chat.txt", (meeting / "chat.txt").read_bytes(), TSV_START)
        if (meeting / "tldr.json").is_file():
            derived(row("zoom-real", "tldr.json"), meeting / "tldr.json")
    legacy = data / "zoom-chat-legacy"
    for path in sorted(legacy.glob("*.md")):
        region = legacy_region(path.read_text(encoding="utf-8", errors="replace"))
        if region is not None:
            chat(row("zoom-chat-legacy", "*.md chat region"), "chat.txt", region, LEGACY_START)
    for path in sorted(legacy.glob("*.txt")):
        chat(row("zoom-chat-legacy", path.name), path.name, path.read_bytes(), LEGACY_START)
    for path in sorted((data / "subtitle-fixtures").glob("*")):
        if path.suffix in (".vtt", ".srt", ".sbv"):
            transcript(row("subtitle-fixtures", f"*{path.suffix}"), path)
    return list(rows.values())


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="folder holding zoom-real/, zoom-chat-legacy/, subtitle-fixtures/")
    args = parser.parse_args(argv)
    rows = collect(args.data)
    header = ("folder", "artifact", "files", "present", "parsed", "speaker", "reactions", "DMs",
              "segments", "speakers", "rejected")
    table = [header] + [
        (r.folder, r.what, r.files, r.present, r.parsed, r.with_speaker, r.reactions, r.direct_messages,
         r.segments, len(r.speakers), ",".join(f"{k}={v}" for k, v in sorted(r.rejected.items())) or "-")
        for r in rows
    ]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    for line in table:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)))
    failures = [
        r for r in rows
        if r.folder == "zoom-real" and r.what != "tldr.json"
        and (r.rejected or r.parsed != r.present or r.with_speaker != r.present)
    ]
    for r in failures:
        print(f"FAIL zoom-real/{r.what}: {r.present - r.with_speaker} of {r.present} not recovered "
              f"with a speaker; rejected={dict(r.rejected)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
