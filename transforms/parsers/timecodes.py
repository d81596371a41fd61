"""Timestamp parsing and "Name: text" speaker splitting shared by the caption/chat parsers."""
from __future__ import annotations

import re
from typing import Optional, Tuple

# HH:MM:SS.mmm or MM:SS.mmm (WebVTT), HH:MM:SS,mmm (SRT), H:MM:SS.mmm (SBV).
_CLOCK = re.compile(r"^(?:(\d{1,3}):)?([0-5]?\d):([0-5]\d)(?:[.,](\d{1,3}))?$")

_SPEAKER = re.compile(r"^(?P<name>[^:\n]{1,80}?):[ \t]+(?P<text>.*)$", re.DOTALL)
_NOT_A_NAME = re.compile(r"https?:|www\.|[?!;=<>{}\"]|^\s*[-–*#]|^\d+$", re.IGNORECASE)
_MAX_NAME_WORDS = 8


def clock_to_ms(value: str, *, require_hours: bool = False, fraction_sep: str = ".,",
                require_fraction: bool = False) -> Optional[int]:
    """``"01:02:03.456"`` → 3723456; None when the value is not a valid clock time."""
    match = _CLOCK.match(value.strip())
    if not match:
        return None
    hours, minutes, seconds, fraction = match.groups()
    if require_hours and hours is None:
        return None
    if fraction is not None:
        sep = value.strip()[-len(fraction) - 1]
        if sep not in fraction_sep:
            return None
    elif require_fraction:
        return None
    ms = int(fraction.ljust(3, "0")) if fraction else 0
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + ms


def cue_span(start_raw: str, end_raw: str, fraction_sep: str) -> Optional[Tuple[int, Optional[int]]]:
    """(start_ms, end_ms) of an SRT/SBV timing; None if unreadable; end None if before start."""
    start = clock_to_ms(start_raw, require_hours=True, fraction_sep=fraction_sep, require_fraction=True)
    end = clock_to_ms(end_raw, require_hours=True, fraction_sep=fraction_sep, require_fraction=True)
    if start is None or end is None:
        return None
    return start, (end if end >= start else None)


def split_speaker(text: str) -> Tuple[Optional[str], str]:
    """``"Ann Lee: hello"`` → ``("Ann Lee", "hello")``; text without a name-like prefix → (None, text)."""
    match = _SPEAKER.match(text)
    if not match:
        return None, text
    name = match.group("name").strip()
    if not name or _NOT_A_NAME.search(name) or len(name.split()) > _MAX_NAME_WORDS:
        return None, text
    return name, match.group("text").strip()
