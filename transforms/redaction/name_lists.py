"""Given-name and surname lists for the person-name recognizer.

Source: the U.S. Census 1990 name frequency files shipped in the ``names`` package
(public-domain data, MIT-licensed package): ~5,500 given names and ~88,800 surnames.
Entries that are ordinary words in real meeting text (``config/name_common_words.txt``)
are excluded, together with spaCy's English stop words, months and weekdays.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import FrozenSet, Tuple

from spacy.lang.en.stop_words import STOP_WORDS

from transforms.redaction.config import RedactionConfigError

COMMON_WORDS_PATH = Path(__file__).with_name("config") / "name_common_words.txt"
LEXICON_PATH = Path(__file__).with_name("config") / "english_words.txt"
_CALENDAR = {"january", "february", "march", "april", "may", "june", "july", "august", "september",
             "october", "november", "december", "monday", "tuesday", "wednesday", "thursday", "friday",
             "saturday", "sunday"}


def _read_census(filename: str) -> FrozenSet[str]:
    try:
        text = resources.files("names").joinpath(filename).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        raise RedactionConfigError(f"name list not installed: names/{filename}") from None
    return frozenset(line.split()[0].casefold() for line in text.splitlines() if line.strip())


@functools.lru_cache(maxsize=1)
def common_words() -> FrozenSet[str]:
    words = {line.strip().casefold() for line in COMMON_WORDS_PATH.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")}
    return frozenset(words | set(STOP_WORDS) | _CALENDAR)


@functools.lru_cache(maxsize=1)
def name_lists() -> Tuple[FrozenSet[str], FrozenSet[str]]:
    """(given names, surnames), case-folded, common words removed."""
    excluded = common_words()
    given = (_read_census("dist.male.first") | _read_census("dist.female.first")) - excluded
    surnames = _read_census("dist.all.last") - excluded
    return frozenset(given), frozenset(surnames)


@functools.lru_cache(maxsize=1)
def raw_surnames() -> FrozenSet[str]:
    """All census surnames, common words included (only used after a given name)."""
    return _read_census("dist.all.last")


@functools.lru_cache(maxsize=1)
def english_words() -> FrozenSet[str]:
    """Ordinary lower-case words of meeting English (QMSum-derived lexicon)."""
    return frozenset(line.strip() for line in LEXICON_PATH.read_text(encoding="utf-8").splitlines()
                     if line.strip() and not line.startswith("#"))
