"""transforms/ids.py: which ids may be published verbatim."""
from __future__ import annotations

import re

import pytest

from transforms.ids import (
    PUBLISHED_ID_PATTERN,
    SAFE_ID_PATTERN,
    WITHHELD_ID,
    is_safe_id,
    matches_safe_pattern,
    names_a_participant,
    published_or_withheld,
)
from transforms.records import Participant

ROSTER = (
    Participant("p-alice", "Alice Johnson", "alice.johnson@northwind-example.com", ("ajay",)),
    Participant("p-bo", "Bo Li", "bo@example.com"),
    Participant("p-x", "", "", ("kestrel99",)),
    Participant("p-carson", "Carson", ""),
    Participant("p-bot", "EF Zoom Bot", ""),
)


@pytest.mark.parametrize("value", ["m-001", "m-001-transcript", "transcript", "A1", "qmsum-train-Bed004",
                                   "ES2002a", "x" * 128, "v1.2_final"])
def test_opaque_ids_are_safe(value):
    assert matches_safe_pattern(value) and is_safe_id(value, ROSTER)


@pytest.mark.parametrize("value", ["", " m-1", "m 1", "bob@example.com", "a/b", "a:b", "../x", ".hidden", "-rf",
                                   "_withheld", "t\ud800", "caf\u00e9", "m\x00", "x" * 129, "m-1\n", None, 7])
def test_ids_outside_the_pattern_are_unsafe(value):
    assert not matches_safe_pattern(value) and not is_safe_id(value)


@pytest.mark.parametrize("value", ["alice-johnson-notes", "notes-JOHNSON-alice", "AliceJohnson-1on1", "aliceJohnson", "carson-notes",
                                   "m-001-alicejohnson", "alice.johnson-export", "ajay-notes", "kestrel99-board"])
def test_ids_naming_a_participant_are_unsafe(value):
    assert matches_safe_pattern(value)
    assert names_a_participant(value, ROSTER) and not is_safe_id(value, ROSTER)


@pytest.mark.parametrize("value", ["m-001-bold", "balice", "lib-notes", "annual-report", "kestrel-board",
                                   "alice-notes", "zoom-acdt-2026-06-01_081"])
def test_short_or_partial_words_are_not_names(value):
    assert not names_a_participant(value, ROSTER)


def test_withheld_placeholder():
    assert published_or_withheld("m-001", ROSTER) == "m-001"
    assert published_or_withheld("alice-johnson-1on1", ROSTER) == WITHHELD_ID
    assert published_or_withheld(None) == WITHHELD_ID
    assert not matches_safe_pattern(WITHHELD_ID)
    assert re.fullmatch(PUBLISHED_ID_PATTERN, WITHHELD_ID) and re.fullmatch(PUBLISHED_ID_PATTERN, "m-001")
    assert SAFE_ID_PATTERN.strip("^$") in PUBLISHED_ID_PATTERN
