"""Zoom meeting chat exports (``chat.txt``): the tab-separated export and the legacy one.

New export: ``HH:MM:SS<TAB>Name:<TAB>text`` and CRLF at the end of each message; a
message spanning several lines contains bare LFs. Replies look like
``Replying to "<first 20 chars>..."\\n\\n<reply>`` (only the reply becomes text);
reactions (``Reacted to "..." with 👍``, ``Removed a 👍 reaction from "..."`` and the
Dutch / German equivalents Zoom writes for localized clients) add no text and produce no
segment, but are counted. The legacy export lives in ``zoom_chat_legacy``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

from transforms.parsers.base import ArtifactRejected, ParseContext, ParsedDocument, ParsedSegment
from transforms.parsers.encoding import decode_text, normalize_newlines
from transforms.parsers.roster import Roster
from transforms.parsers.timecodes import clock_to_ms
from transforms.records import DeadLetterReason

SOURCE_FORMAT_TSV = "zoom_chat_tsv"

TSV_MESSAGE_START = re.compile(r"^(\d{1,2}:\d{2}:\d{2})\t([^\t\n]+?):\t", re.MULTILINE)
_TSV_HEADER = re.compile(r"^(\d{1,2}:\d{2}:\d{2})\t([^\t\n]+?):\t(.*)$", re.DOTALL)
_DM_SUFFIX = re.compile(r"\s*\(\s*(?:direct message|privately)\s*\)\s*$", re.IGNORECASE)
_SENDER_TO_RECIPIENT = re.compile(r"^(.*?)\s+to\s+(.+)$")

# Localized forms as Zoom writes them for English, Dutch, German, Spanish, French, Chinese clients.
_REPLY_PREFIXES = ("Replying to ", "Antwoord verzenden naar ", "Antworten auf ", "Respondiendo a ",
                   "Répondre à ")
_REPLY_ONE_LINE = re.compile(
    r'^(?:' + "|".join(re.escape(p.strip()) for p in _REPLY_PREFIXES)
    + r') "(?:.{0,20}?\.\.\.|[^"]{0,20})" (?P<text>.*)$', re.DOTALL)
_QUOTED = r'(?:".*"|.+?)'
_REACTIONS = tuple(re.compile(pattern, re.DOTALL) for pattern in (
    r'^Reacted to ' + _QUOTED + r' with "?(?P<emoji>[^\s"]+)"?$',
    r'^Removed an? (?P<emoji>\S+) reaction from ".*"$',
    r'^Heeft gereageerd op ".*" met (?P<emoji>\S+)$',
    r'^Hat auf ".*" mit (?P<emoji>\S+) reagiert$',
    r'^Se ha reaccionado a ".*" con (?P<emoji>\S+)$',
    r'^A réagi à ".*" avec (?P<emoji>\S+)$',
    r'^已使用(?P<emoji>\S+?)回应".*"$',
))
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SHORTCODE = re.compile(r"^:[a-z0-9_+\-]+:$")


@dataclass(frozen=True)
class ChatMessage:
    start_ms: Optional[int]
    sender: str
    recipient: Optional[str]
    text: str                      # reply quote removed; "" for reactions
    direct_message: bool = False
    reaction: bool = False


@dataclass(frozen=True)
class ChatParseResult:
    source_format: str
    messages: Tuple[ChatMessage, ...]   # every message-start found, reactions included

    @property
    def reactions(self) -> int:
        return sum(1 for m in self.messages if m.reaction)

    @property
    def direct_messages(self) -> int:
        return sum(1 for m in self.messages if m.direct_message)

    @property
    def text_messages(self) -> Tuple[ChatMessage, ...]:
        return tuple(m for m in self.messages if not m.reaction and m.text)


def _is_emoji(token: str) -> bool:
    """👍, 5️⃣, 👍🏽 or a :shortcode: — not a word."""
    if _SHORTCODE.match(token):
        return True
    return not _ASCII_LETTER.search(token) and any(ord(ch) > 0x2000 for ch in token)


def is_reaction(text: str) -> bool:
    """A reaction event (adds no text). The quoted message may span several lines."""
    for pattern in _REACTIONS:
        match = pattern.match(text.strip())
        if match and _is_emoji(match.group("emoji")):
            return True
    return False


def strip_reply_quote(text: str) -> str:
    """``Replying to "abc..."\\n\\nreply`` → ``reply`` (also the one-line legacy form)."""
    if not text.startswith(_REPLY_PREFIXES):
        return text
    lines = text.split("\n")
    if len(lines) > 1:
        # The quote (possibly several lines) ends on a line ending with '"' before a blank line.
        for k, line in enumerate(lines):
            closes = line.rstrip().endswith('"') and (k > 0 or line.count('"') >= 2)
            if closes and (k + 1 == len(lines) or not lines[k + 1].strip()):
                return "\n".join(lines[k + 1:]).strip()
        if lines[0].rstrip().endswith('"'):
            return "\n".join(lines[1:]).strip()
    match = _REPLY_ONE_LINE.match(text)
    return match.group("text").strip() if match else text


def classify_text(text: str) -> Tuple[str, bool]:
    """(segment text, is_reaction) for a message body."""
    body = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    if is_reaction(body):
        return "", True
    return strip_reply_quote(body), False


def split_sender(label: str) -> Tuple[str, Optional[str], bool]:
    """``"Ann to Bob(Direct Message)"`` → ("Ann", "Bob", True)."""
    label = label.strip()
    if not _DM_SUFFIX.search(label):
        return label, None, False
    without = _DM_SUFFIX.sub("", label)
    match = _SENDER_TO_RECIPIENT.match(without)
    if match:
        return match.group(1).strip(), match.group(2).strip(), True
    return without, None, True


def _tsv_chunks(text: str) -> List[str]:
    """Messages end with CRLF; bare LF stays inside a message. LF-only files split on lines."""
    if "\r\n" in text:
        raw_chunks = text.split("\r\n")
    else:
        raw_chunks = normalize_newlines(text).split("\n")
    chunks: List[List[str]] = []
    for chunk in raw_chunks:
        chunk = chunk.replace("\r", "\n")
        if _TSV_HEADER.match(chunk) or not chunks:
            chunks.append([chunk])
        else:
            chunks[-1].append(chunk)            # a message that itself contained CRLF
    return ["\n".join(parts) for parts in chunks]


def parse_tsv_messages(text: str) -> ChatParseResult:
    messages: List[ChatMessage] = []
    for chunk in _tsv_chunks(text):
        match = _TSV_HEADER.match(chunk)
        if not match:
            continue                                   # preamble before the first message
        sender, recipient, direct = split_sender(match.group(2))
        body, reaction = classify_text(match.group(3))
        messages.append(ChatMessage(clock_to_ms(match.group(1)), sender, recipient, body, direct, reaction))
    return ChatParseResult(SOURCE_FORMAT_TSV, tuple(messages))


def parse_messages(text: str) -> ChatParseResult:
    """Detect the export flavour (TSV vs legacy) and parse; raw line endings expected."""
    from transforms.parsers import zoom_chat_legacy

    normalized = normalize_newlines(text)
    tsv_starts = len(TSV_MESSAGE_START.findall(normalized))
    legacy_starts = len(zoom_chat_legacy.MESSAGE_START.findall(normalized))
    if tsv_starts == 0 and legacy_starts == 0:
        raise ArtifactRejected(DeadLetterReason.MALFORMED, "NoChatMessages")
    if tsv_starts >= legacy_starts:
        return parse_tsv_messages(text)
    return zoom_chat_legacy.parse_legacy_messages(normalized)


def result_to_document(result: ChatParseResult, context: ParseContext, encoding: str,
                       fallback: bool) -> ParsedDocument:
    roster = Roster(context.roster)
    segments = tuple(
        ParsedSegment(
            text=m.text,
            speaker_label=m.sender,
            participant_id=roster.match(m.sender),
            start_ms=m.start_ms,
            end_ms=None,
            direct_message=m.direct_message,
        )
        for m in result.text_messages
    )
    if not segments:
        raise ArtifactRejected(DeadLetterReason.EMPTY, "NoChatText")
    return ParsedDocument(result.source_format, segments, encoding=encoding, encoding_fallback=fallback)


def parse(payload: bytes, context: ParseContext) -> ParsedDocument:
    decoded = decode_text(payload)
    return result_to_document(parse_messages(decoded.text), context, decoded.encoding, decoded.fallback)
