"""The legacy Zoom chat export.

``HH:MM:SS From  Alice  to  Everyone:`` followed by the text on the same line or on the
following (usually indented) lines. Direct messages: ``to  Bob(Direct Message):``,
``to  Bob (Direct Message):``, ``to  Bob(privately):``; these are flagged, not dropped.
Very old exports omit the recipient (``From  Alice : text``).
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from transforms.parsers.timecodes import clock_to_ms
from transforms.parsers.zoom_chat import ChatMessage, ChatParseResult, classify_text

SOURCE_FORMAT_LEGACY = "zoom_chat_legacy"

MESSAGE_START = re.compile(r"^(\d{1,2}:\d{2}:\d{2})[ \t]+From[ \t]+", re.MULTILINE)
_HEADER = re.compile(r"^(\d{1,2}:\d{2}:\d{2})[ \t]+From[ \t]+(?P<rest>.*)$")
_HEAD_END = re.compile(r"\s*:(?=\s|$)")
_WIDE_TO = re.compile(r"^(.*?)\s{2,}to\s{2,}(.*)$", re.IGNORECASE)
_NARROW_TO = re.compile(r"^(.*)\s+to\s+(.*)$", re.IGNORECASE)
_DM = re.compile(r"\s*\(\s*(?:direct message|privately)\s*\)\s*$", re.IGNORECASE)


def _split_head(rest: str) -> Tuple[str, Optional[str], bool, str]:
    """``"Alice  to  Bob(Direct Message): hi"`` → (sender, recipient, direct, same-line text)."""
    end = _HEAD_END.search(rest)
    if end:
        head, text = rest[: end.start()], rest[end.end():]
    else:
        head, text = rest, ""
    match = _WIDE_TO.match(head) or _NARROW_TO.match(head)
    sender, recipient = (match.group(1), match.group(2)) if match else (head, None)
    direct = bool(recipient and _DM.search(recipient))
    if recipient is not None:
        recipient = _DM.sub("", recipient).strip()
    return sender.strip(), recipient, direct, text.strip()


def parse_legacy_messages(text: str) -> ChatParseResult:
    """Parse LF-normalized legacy chat text."""
    messages: List[ChatMessage] = []
    current: Optional[Tuple[Optional[int], str, Optional[str], bool, List[str]]] = None

    def flush() -> None:
        if current is None:
            return
        start_ms, sender, recipient, direct, lines = current
        body, reaction = classify_text("\n".join(lines).strip())
        messages.append(ChatMessage(start_ms, sender, recipient, body, direct, reaction))

    for line in text.split("\n"):
        match = _HEADER.match(line)
        if match:
            flush()
            sender, recipient, direct, same_line = _split_head(match.group("rest"))
            current = (clock_to_ms(match.group(1)), sender, recipient, direct, [same_line] if same_line else [])
        elif current is not None:
            current[4].append(line.strip())
    flush()
    return ChatParseResult(SOURCE_FORMAT_LEGACY, tuple(messages))
