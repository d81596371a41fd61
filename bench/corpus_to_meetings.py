"""Turn the real meeting text of DATA_DIR into a gatekeeper INPUT folder and a consent ledger.

    python -m bench.corpus_to_meetings DATA_DIR OUT_DIR [--max-chars N]

Sources (both real meeting text):

* QMSum: ``meeting-transcripts-qmsum/ALL/{train,val,test}/*.json``, each a list of
  ``{speaker, content}`` turns, written as a Zoom-style WebVTT (``Speaker: text`` cues).
* Zoom: ``zoom-real/<series>/<call>/transcript.vtt`` (cues kept verbatim, with their real
  timings) and ``chat.txt`` (Zoom tab-separated export, multi-line messages kept whole).

Writes ``OUT_DIR/input/<meeting_id>/meeting.json`` + ``transcript.vtt`` (+ ``chat.txt``) in
the input contract, with a roster built from every speaker and chat sender (all
consenting), and ``OUT_DIR/ledger.jsonl`` granting everything for ``ai_training``: one
account-level grant and one participant-level grant per participant. Meetings are taken
alternately from QMSum and Zoom until ``max_chars`` characters of segment text are written
(the last meeting is cut at a cue/message boundary). ``OUT_DIR/corpus.json`` records the
sizes. Texts are returned to callers (never logged) so a benchmark can run other engines
over exactly the same text.
"""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

QMSUM_ROOT = Path("meeting-transcripts-qmsum") / "ALL"
QMSUM_SPLITS = ("train", "val", "test")
ZOOM_ROOT = Path("zoom-real")
ACCOUNT_ID = "acct-bench"
PURPOSE = "ai_training"
GRANTS_EFFECTIVE_AT = "2026-01-01T00:00:00Z"
MEETING_DAYS = 5                     # meetings spread over 2026-05-01..05 (five date partitions)

_VTT_TIMING = re.compile(r"^(\d\d:\d\d:\d\d[.,]\d{3}) --> (\d\d:\d\d:\d\d[.,]\d{3})")
_SPEAKER_PREFIX = re.compile(r"^([^:\n]{1,80}):\s+(.*)$", re.S)
_CHAT_LINE = re.compile(r"^(\d\d:\d\d:\d\d)\t([^\t]{1,120}):\t(.*)$")


@dataclass
class Cue:
    start: str
    end: str
    speaker: Optional[str]
    text: str


@dataclass
class ChatMessage:
    stamp: str
    sender: str
    text: str                        # may span several lines


@dataclass
class SourceMeeting:
    meeting_id: str
    cues: List[Cue]
    chat: List[ChatMessage] = field(default_factory=list)


@dataclass(frozen=True)
class Corpus:
    """What was written: folders, sizes, and the segment texts (for same-text baselines)."""

    input_dir: Path
    ledger_path: Path
    meetings: int
    participants: int
    transcript_segments: int
    chat_segments: int
    chars: int
    texts: Tuple[str, ...]

    def summary(self) -> Dict:
        return {"meetings": self.meetings, "participants": self.participants,
                "transcript_segments": self.transcript_segments, "chat_segments": self.chat_segments,
                "segments": self.transcript_segments + self.chat_segments, "chars": self.chars}


def _ms_to_vtt(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"


def qmsum_meetings(data_dir: Path) -> Iterator[SourceMeeting]:
    for split in QMSUM_SPLITS:
        for path in sorted((Path(data_dir) / QMSUM_ROOT / split).glob("*.json")):
            turns = json.loads(path.read_text(encoding="utf-8")).get("meeting_transcripts", [])
            cues = []
            clock = 0
            for turn in turns:
                text = " ".join(str(turn.get("content", "")).split())
                speaker = " ".join(str(turn.get("speaker", "")).replace(":", " ").split())
                if not text or not speaker:
                    continue
                duration = 1000 + 60 * len(text)
                cues.append(Cue(_ms_to_vtt(clock), _ms_to_vtt(clock + duration), speaker, text))
                clock += duration + 200
            if cues:
                yield SourceMeeting(f"qmsum-{split}-{path.stem}", cues)


def _vtt_cues(text: str) -> List[Cue]:
    lines = text.splitlines()
    cues = []
    for index, line in enumerate(lines):
        timing = _VTT_TIMING.match(line)
        if not timing:
            continue
        body = []
        for follow in lines[index + 1:]:
            if not follow.strip():
                break
            body.append(follow.strip())
        if not body:
            continue
        joined = " ".join(body)
        prefix = _SPEAKER_PREFIX.match(joined)
        speaker, content = (prefix.group(1).strip(), prefix.group(2)) if prefix else (None, joined)
        if content.strip():
            cues.append(Cue(timing.group(1).replace(",", "."), timing.group(2).replace(",", "."), speaker, content))
    return cues


def _chat_messages(text: str) -> List[ChatMessage]:
    messages: List[ChatMessage] = []
    for line in text.splitlines():
        match = _CHAT_LINE.match(line)
        if match:
            messages.append(ChatMessage(match.group(1), match.group(2).strip(), match.group(3)))
        elif messages and line.strip():
            messages[-1].text += "\n" + line
    return [m for m in messages if m.text.strip() and m.sender]


def zoom_meetings(data_dir: Path) -> Iterator[SourceMeeting]:
    for vtt in sorted((Path(data_dir) / ZOOM_ROOT).glob("*/*/transcript.vtt")):
        cues = _vtt_cues(vtt.read_text(encoding="utf-8", errors="replace"))
        chat_path = vtt.parent / "chat.txt"
        chat = _chat_messages(chat_path.read_text(encoding="utf-8", errors="replace")) if chat_path.is_file() else []
        if cues:
            yield SourceMeeting(f"zoom-{vtt.parent.parent.name}-{vtt.parent.name}", cues, chat)


def _interleaved(sources: Sequence[Iterator[SourceMeeting]]) -> Iterator[SourceMeeting]:
    live = list(sources)
    while live:
        for source in list(live):
            item = next(source, None)
            if item is None:
                live.remove(source)
            else:
                yield item


def _render_vtt(cues: Sequence[Cue]) -> str:
    out = ["WEBVTT", ""]
    for number, cue in enumerate(cues, start=1):
        out += [str(number), f"{cue.start} --> {cue.end}",
                f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text, ""]
    return "\n".join(out)


def _render_chat(messages: Sequence[ChatMessage]) -> str:
    return "".join(f"{m.stamp}\t{m.sender}:\t{m.text}\n" for m in messages)


def build_corpus(data_dir: Path, out_dir: Path, max_chars: int) -> Corpus:
    """Write INPUT + ledger under ``out_dir`` with at most about ``max_chars`` chars of text."""
    out_dir = Path(out_dir)
    input_dir = out_dir / "input"
    input_dir.mkdir(parents=True, exist_ok=True)
    ledger_rows: List[Dict] = [{
        "event_id": "ev-account", "subject_type": "account", "subject_id": ACCOUNT_ID, "purpose": PURPOSE,
        "artifact_kinds": ["*"], "status": "granted", "effective_at": GRANTS_EFFECTIVE_AT}]
    texts: List[str] = []
    chars = meetings = participants = transcript_segments = chat_segments = 0
    for source in _interleaved([qmsum_meetings(data_dir), zoom_meetings(data_dir)]):
        if chars >= max_chars:
            break
        cues: List[Cue] = []
        for cue in source.cues:
            if chars >= max_chars:
                break
            cues.append(cue)
            chars += len(cue.text)
        chat: List[ChatMessage] = []
        for message in source.chat:
            if chars >= max_chars:
                break
            chat.append(message)
            chars += len(message.text)
        names = list(dict.fromkeys([c.speaker for c in cues if c.speaker] + [m.sender for m in chat]))
        roster = [{"participant_id": f"{source.meeting_id}-p{n}", "name": name,
                   "email": f"speaker{n}@{source.meeting_id}.bench.example"} for n, name in enumerate(names)]
        if not roster:
            roster = [{"participant_id": f"{source.meeting_id}-host", "name": "Host", "email": ""}]
        artifacts = [{"artifact_id": f"{source.meeting_id}-transcript", "kind": "transcript",
                      "path": "transcript.vtt", "derived_from": []}]
        folder = input_dir / source.meeting_id
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "transcript.vtt").write_text(_render_vtt(cues), encoding="utf-8")
        if chat:
            (folder / "chat.txt").write_text(_render_chat(chat), encoding="utf-8")
            artifacts.append({"artifact_id": f"{source.meeting_id}-chat", "kind": "chat",
                              "path": "chat.txt", "derived_from": []})
        descriptor = {
            "meeting_id": source.meeting_id, "account_id": ACCOUNT_ID, "topic": "benchmark meeting",
            "started_at": f"2026-05-{1 + meetings % MEETING_DAYS:02d}T09:00:00Z", "category": "general",
            "host_participant_id": roster[0]["participant_id"], "participants": roster, "artifacts": artifacts,
        }
        (folder / "meeting.json").write_text(json.dumps(descriptor, indent=1), encoding="utf-8")
        for person in roster:
            ledger_rows.append({
                "event_id": f"ev-{person['participant_id']}", "subject_type": "participant",
                "subject_id": person["participant_id"], "purpose": PURPOSE, "artifact_kinds": ["*"],
                "status": "granted", "effective_at": GRANTS_EFFECTIVE_AT})
        texts.extend(c.text for c in cues)
        texts.extend(m.text for m in chat)
        meetings += 1
        participants += len(roster)
        transcript_segments += len(cues)
        chat_segments += len(chat)
    if meetings == 0:
        raise ValueError("no QMSum or Zoom meetings found under the data directory")
    ledger_path = out_dir / "ledger.jsonl"
    ledger_path.write_text("".join(json.dumps(row, sort_keys=True) + "\n" for row in ledger_rows), encoding="utf-8")
    corpus = Corpus(input_dir, ledger_path, meetings, participants, transcript_segments, chat_segments,
                    chars, tuple(texts))
    (out_dir / "corpus.json").write_text(json.dumps(corpus.summary(), indent=2), encoding="utf-8")
    return corpus


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--max-chars", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    corpus = build_corpus(args.data_dir, args.out_dir, args.max_chars)
    print(json.dumps({"input": str(corpus.input_dir), "ledger": str(corpus.ledger_path), **corpus.summary()}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
