"""The suites and the record model agree: dead-letter reasons, id patterns, segment ordering."""
from __future__ import annotations

import json
from pathlib import Path

from expectations.runner import out_of_order_ids
from transforms.ids import PUBLISHED_ID_PATTERN, SAFE_ID_PATTERN
from transforms.records import DeadLetterReason

SUITES = Path(__file__).resolve().parents[2] / "expectations" / "suites"


def _expectations(name: str) -> dict:
    return {e["id"]: e for e in json.loads((SUITES / f"{name}.json").read_text())["expectations"]}


def test_dead_letter_suite_knows_every_reason_and_nothing_else():
    allowed = _expectations("dead_letter")["reason.known"]["kwargs"]["value_set"]
    assert sorted(allowed) == sorted(r.value for r in DeadLetterReason)


def test_published_ids_are_checked_against_the_ingest_pattern():
    for suite, meeting_pattern in (("_segment_base", SAFE_ID_PATTERN), ("audit", SAFE_ID_PATTERN),
                                   ("dead_letter", PUBLISHED_ID_PATTERN)):
        expectations = _expectations(suite)
        assert expectations["pii.meeting_id_is_safe_id"]["kwargs"]["regex"] == meeting_pattern, suite
        assert expectations["pii.artifact_id_is_safe_id"]["kwargs"]["regex"] == SAFE_ID_PATTERN, suite
        assert expectations["pii.meeting_id_is_safe_id"]["severity"] == "critical"


def test_two_meetings_reusing_an_artifact_id_are_separate_sequences():
    entries = [("m-2/transcript:00000", 1000), ("m-2/transcript:00001", 2000),
               ("m-1/transcript:00000", 5000), ("m-1/transcript:00001", 9000)]
    assert out_of_order_ids(entries) == []
    assert out_of_order_ids(entries + [("m-1/transcript:00002", 100)]) == ["m-1/transcript:00002"]
