"""Match a speaker / author label as written in a file to a roster participant.

Keys: full name (case-, whitespace- and diacritics-insensitive), e-mail, handle.
Zoom decorates display names ("Dima Gusakov | Lido", "Charlie Barlie (she/her)",
"terence(prysmaticlabs)"): when the label itself does not match, the decoration is
stripped and the match retried; a parenthesised part is also tried as a handle.
A label that matches two participants is ambiguous and matches nobody (fail closed).
"""
from __future__ import annotations

import re
import unicodedata
from typing import Dict, Iterable, List, Optional, Set, Tuple

from transforms.records import Participant

_AFFILIATION = re.compile(r"\s+\|\s+.*$")
_TRAILING_PARENS = re.compile(r"\s*[\(\[]([^\(\)\[\]]*)[\)\]]\s*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_label(label: str) -> str:
    """Casefold, strip diacritics, collapse whitespace."""
    decomposed = unicodedata.normalize("NFKD", label)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def _normalize_handle(handle: str) -> str:
    return normalize_label(handle).lstrip("@")


def strip_decorations(label: str) -> Tuple[str, Tuple[str, ...]]:
    """``"Ann Lee (she/her) | Acme"`` → ``("Ann Lee", ("she/her",))``."""
    base = _AFFILIATION.sub("", label.strip())
    inner: List[str] = []
    while True:
        match = _TRAILING_PARENS.search(base)
        if not match or match.start() == 0:
            break
        inner.append(match.group(1).strip())
        base = base[: match.start()].rstrip()
    return base, tuple(i for i in inner if i)


class Roster:
    """Index of a meeting's participants by name, e-mail and handle."""

    def __init__(self, participants: Iterable[Participant] = ()):
        self._names: Dict[str, Set[str]] = {}
        self._emails: Dict[str, Set[str]] = {}
        self._handles: Dict[str, Set[str]] = {}
        self._cache: Dict[str, Optional[str]] = {}
        for participant in participants:
            pid = participant.participant_id
            if participant.name and participant.name.strip():
                self._add(self._names, normalize_label(participant.name), pid)
                base, _ = strip_decorations(participant.name)
                self._add(self._names, normalize_label(base), pid)
            if participant.email and participant.email.strip():
                self._add(self._emails, participant.email.strip().casefold(), pid)
            for handle in participant.handles:
                if handle and handle.strip():
                    self._add(self._handles, _normalize_handle(handle), pid)

    @staticmethod
    def _add(index: Dict[str, Set[str]], key: str, pid: str) -> None:
        if key:
            index.setdefault(key, set()).add(pid)

    def __bool__(self) -> bool:
        return bool(self._names or self._emails or self._handles)

    def _lookup(self, label: str, handles_only: bool = False) -> Set[str]:
        key = normalize_label(label)
        if not key:
            return set()
        if handles_only:
            return set(self._handles.get(key.lstrip("@"), set()))
        found: Set[str] = set()
        found |= self._names.get(key, set())
        found |= self._handles.get(key.lstrip("@"), set())
        if _EMAIL.match(key):
            found |= self._emails.get(key, set())
        return found

    def match_email(self, email: str) -> Optional[str]:
        found = self._emails.get(email.strip().casefold(), set()) if email else set()
        return next(iter(found)) if len(found) == 1 else None

    def match(self, label: Optional[str]) -> Optional[str]:
        """The participant id for ``label``, or None (unknown or ambiguous)."""
        if not label or not label.strip() or not self:
            return None
        if label not in self._cache:
            self._cache[label] = self._match_uncached(label)
        return self._cache[label]

    def _match_uncached(self, label: str) -> Optional[str]:
        attempts: List[Tuple[str, bool]] = [(label, False)]
        base, inner = strip_decorations(label)
        if base != label.strip():
            attempts.append((base, False))
        attempts.extend((part, True) for part in inner)   # "terence(prysmaticlabs)": handle
        for attempt, handles_only in attempts:
            found = self._lookup(attempt, handles_only)
            if len(found) == 1:
                return next(iter(found))
            if len(found) > 1:
                return None
        return None
