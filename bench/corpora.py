"""Loaders for the shared benchmark data (``../shared/data``), used only by bench scripts.

* ``labeled_presidio(data_dir)``: presidio-research ``generated_large.json`` as LabeledText.
* ``split_dev_heldout(items, seed)``: the fixed random halves (develop on one, report the other).
* ``labeled_nemo(data_dir)``: NeMo-Curator lines with inline tags, as LabeledText.
* ``meeting_texts(data_dir, limit)``: real meeting text: QMSum turns and Zoom VTT cue texts.
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

PRESIDIO_FILE = Path("pii-labeled") / "presidio-research" / "generated_large.json"
NEMO_DIR = Path("pii-labeled") / "nemo-curator"
QMSUM_DIR = Path("meeting-transcripts-qmsum") / "ALL" / "jsonl"
ZOOM_DIR = Path("zoom-real")

NEMO_TAGS = {
    "name": "PERSON", "email": "EMAIL_ADDRESS", "address": "ADDRESS", "phone_number": "PHONE_NUMBER",
    "ssn": "US_SSN", "credit_card_number": "CREDIT_CARD", "ip_address": "IP_ADDRESS",
    "birth_date": "DATE_TIME",
}
_NEMO_TAG = re.compile(r"<(/?)([a-z_]+)>")


@dataclass(frozen=True)
class GoldSpan:
    entity_type: str
    start: int
    end: int


@dataclass(frozen=True)
class LabeledText:
    text: str
    spans: Tuple[GoldSpan, ...]


def labeled_presidio(data_dir: Path) -> List[LabeledText]:
    raw = json.loads((Path(data_dir) / PRESIDIO_FILE).read_text(encoding="utf-8"))
    return [
        LabeledText(item["full_text"], tuple(GoldSpan(s["entity_type"], s["start_position"], s["end_position"])
                                             for s in item["spans"]))
        for item in raw
    ]


def split_dev_heldout(items: Sequence[LabeledText], seed: int = 20260527) -> Tuple[List[LabeledText], List[LabeledText]]:
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    half = len(order) // 2
    return [items[i] for i in sorted(order[:half])], [items[i] for i in sorted(order[half:])]


def parse_nemo_line(line: str) -> LabeledText:
    """Strip inline ``<tag>…</tag>`` markup, keeping gold offsets into the plain text."""
    out: List[str] = []
    spans: List[GoldSpan] = []
    open_tag: Optional[Tuple[str, int]] = None
    cursor = 0
    length = 0
    for m in _NEMO_TAG.finditer(line):
        closing, tag = m.group(1), m.group(2)
        if tag not in NEMO_TAGS:
            continue
        out.append(line[cursor:m.start()])
        length += m.start() - cursor
        cursor = m.end()
        if not closing:
            open_tag = (tag, length)
        elif open_tag and open_tag[0] == tag:
            spans.append(GoldSpan(NEMO_TAGS[tag], open_tag[1], length))
            open_tag = None
    out.append(line[cursor:])
    return LabeledText("".join(out), tuple(spans))


def labeled_nemo(data_dir: Path) -> List[LabeledText]:
    items = []
    for path in sorted((Path(data_dir) / NEMO_DIR).glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                items.append(parse_nemo_line(line))
    return items


def qmsum_turns(data_dir: Path) -> Iterator[str]:
    for path in sorted((Path(data_dir) / QMSUM_DIR).glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                for turn in json.loads(line).get("meeting_transcripts", []):
                    content = turn.get("content", "")
                    if content:
                        yield content


_VTT_TIMING = re.compile(r"^\d\d:\d\d:\d\d[.,]\d{3} --> ")


def zoom_cues(data_dir: Path) -> Iterator[str]:
    """Cue texts of the real Zoom transcripts (speaker prefix kept, as the parser sees it)."""
    for path in sorted((Path(data_dir) / ZOOM_DIR).rglob("transcript.vtt")):
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        for i, line in enumerate(lines):
            if _VTT_TIMING.match(line):
                cue = []
                for follow in lines[i + 1:]:
                    if not follow.strip():
                        break
                    cue.append(follow)
                if cue:
                    yield " ".join(cue)


def meeting_texts(data_dir: Path, limit: int) -> List[str]:
    """About ``limit`` real meeting texts: QMSum turns and Zoom cues interleaved 1:1."""
    q, z = qmsum_turns(data_dir), zoom_cues(data_dir)
    out: List[str] = []
    while len(out) < limit:
        took = False
        for source in (q, z):
            item = next(source, None)
            if item is not None and len(out) < limit:
                out.append(item)
                took = True
        if not took:
            break
    return out


def derive_common_words(data_dir: Path, candidates: set, min_lower: int = 3) -> List[str]:
    """Name-list entries that are ordinary words in real meeting text.

    A candidate counts as a common word when it occurs lower-case at least ``min_lower``
    times in the QMSum turns and at least as often lower-case as capitalised mid-sentence. This is how
    ``transforms/redaction/config/name_common_words.txt`` was built (false-positive
    control on real meeting text; no labeled PII data involved).
    """
    lower: Dict[str, int] = {}
    capital: Dict[str, int] = {}
    for turn in qmsum_turns(data_dir):
        for m in re.finditer(r"[A-Za-z]+", turn):
            word, key = m.group(0), m.group(0).lower()
            before = turn[:m.start()].rstrip()
            if word.islower():
                lower[key] = lower.get(key, 0) + 1
            elif word[0].isupper() and before and before[-1] not in ".!?:;\"'-(":
                capital[key] = capital.get(key, 0) + 1       # capitalised mid-sentence only
    return sorted(w for w in candidates if lower.get(w, 0) >= min_lower and lower.get(w, 0) >= capital.get(w, 0))


def derive_lexicon(data_dir: Path, min_count: int = 3) -> List[str]:
    """Lower-case words seen ``min_count`` times in QMSum (``config/english_words.txt``)."""
    counts: Dict[str, int] = {}
    for turn in qmsum_turns(data_dir):
        for word in re.findall(r"[a-z]+(?:'[a-z]+)?", turn):
            counts[word] = counts.get(word, 0) + 1
    return sorted(w for w, c in counts.items() if c >= min_count and len(w) > 1)
