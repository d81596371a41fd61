"""Which ids may be published verbatim.

``meeting_id`` and ``artifact_id`` (and the ids derived from them: ``segment_id``,
``derived_from``) are copied into every dataset and the audit. The input contract therefore
requires them to be opaque system identifiers, and ingest checks that they are:

* they match ``SAFE_ID_PATTERN``: 1-128 ASCII letters, digits, ``.``, ``_`` or ``-``,
  starting with a letter or digit (no spaces, ``@``, ``/``, ``:``, no non-ASCII), so they
  cannot hold an e-mail address or a phrase, and ``/`` and ``:`` stay free to build
  ``segment_id = <meeting_id>/<artifact_id>:<index>`` unambiguously;
* they do not name a participant of their meeting (``names_a_participant``): all the words
  of a participant's name, the name run together, the local part of the e-mail address or
  a handle.

An id that fails is dead-lettered (``unsafe_id``) and never published; where a dead letter
would have to name it, it carries ``WITHHELD_ID`` instead. A pattern cannot know that
"kestrel" is a surname: ids naming people who are not participants, or one word of a
participant's longer name, are not caught, which is why the contract asks for opaque ids.
When ``meeting.json`` cannot be read there is no roster to check against: the dead letters of
such a folder carry its name if it matches the pattern.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional

from transforms.records import Participant

SAFE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
# What a dead letter carries instead of an id that may not be published. It fails
# SAFE_ID_PATTERN, so it can never be a real input id.
WITHHELD_ID = "_withheld"
# Published ids: safe input ids, or the placeholder (expectations/suites check this).
PUBLISHED_ID_PATTERN = r"^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,127}|_withheld)$"

_SAFE_ID = re.compile(SAFE_ID_PATTERN)
_MIN_NAME_WORD = 3
_MIN_RUN_TOGETHER = 5
_MIN_HANDLE = 4
_WORD_SPLIT = re.compile(r"[^0-9A-Za-z]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def matches_safe_pattern(value: object) -> bool:
    return isinstance(value, str) and _SAFE_ID.fullmatch(value) is not None


def _id_words(value: str) -> set:
    return {w.lower() for w in _WORD_SPLIT.split(value) if w}


def _compact(value: str) -> str:
    return "".join(ch for ch in value.casefold() if ch.isalnum())


def names_a_participant(value: str, roster: Iterable[Participant]) -> bool:
    """True when ``value`` names a participant: every word of the name (``alice-johnson``,
    ``Johnson_Alice``; a one-word name alone), the name run together (``AliceJohnson``), or
    the local part of the e-mail address or a handle (4 characters or more) anywhere in it.

    One word of a longer name (``alice-notes``) is not enough: single words are too often
    ordinary words ("Zoom" in "EF Zoom Bot"), and the contract asks for opaque ids anyway.
    """
    words = _id_words(value)
    compact = _compact(value)
    for person in roster:
        name_words = [w.casefold() for w in re.split(r"[\W_]+", person.name or "") if w]
        if name_words and all(w in words for w in name_words) and len("".join(name_words)) >= _MIN_NAME_WORD:
            return True
        run_together = "".join(name_words)
        if len(run_together) >= _MIN_RUN_TOGETHER and run_together in compact:
            return True
        for handle in ((person.email or "").partition("@")[0], *person.handles):
            handle = _compact(handle)
            if len(handle) >= _MIN_HANDLE and handle in compact:
                return True
    return False


def is_safe_id(value: object, roster: Iterable[Participant] = ()) -> bool:
    """May ``value`` be published as a meeting or artifact id? (pattern and roster names)"""
    return matches_safe_pattern(value) and not names_a_participant(str(value), roster)


def published_or_withheld(value: Optional[str], roster: Iterable[Participant] = ()) -> str:
    """``value`` if it may be published, else ``WITHHELD_ID``."""
    return value if value is not None and is_safe_id(value, roster) else WITHHELD_ID
