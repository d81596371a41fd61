"""transforms/tally.py: run accounting computed from the records, and its manifest shape."""
from __future__ import annotations

import dataclasses
import json

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import BeamAssertException, assert_that

from transforms.records import (
    Artifact,
    ArtifactKind,
    ConsentDecision,
    DeadLetter,
    DeadLetterReason,
    GatedArtifact,
    Meeting,
    MeetingCategory,
    RedactedSegment,
    Segment,
    SkippedFile,
    SkipReason,
)
from transforms.tally import RunTally, tally_to_counts

MEETING = Meeting("m1", "acc", "topic", "2026-11-20T10:00:00Z", MeetingCategory.GENERAL, None, (), ())


def _artifact(artifact_id: str, kind: ArtifactKind, n_segments: int) -> Artifact:
    segments = tuple(Segment(f"{artifact_id}:{i:05d}", "p1", "Alice", i, i + 1, f"text {i}") for i in range(n_segments))
    return Artifact(artifact_id, "m1", kind, f"/in/m1/{artifact_id}", (), "f" * 64, "fmt", segments)


def _published(artifact_id: str, kind: str, index: int, entities=()) -> RedactedSegment:
    return RedactedSegment("r1", "m1", artifact_id, f"{artifact_id}:{index:05d}", kind, "fmt", "spk", None, None,
                           "redacted", tuple(entities), ("e1",), "ai_training", (), "f" * 64)


def _decision(artifact_id: str, kind: str, segment, allowed: bool, reason: str) -> ConsentDecision:
    segment_id = None if segment is None else f"{artifact_id}:{segment:05d}"
    return ConsentDecision("m1", artifact_id, segment_id, kind, allowed, reason)


T1 = _artifact("t1", ArtifactKind.TRANSCRIPT, 3)   # seg 0 published, 1 redaction-dropped, 2 consent-dropped
C1 = _artifact("c1", ArtifactKind.CHAT, 2)         # artifact revoked
U1 = _artifact("u1", ArtifactKind.UPLOAD, 1)       # allowed, its only segment dropped by redaction
P1 = _artifact("p1", ArtifactKind.POLL, 1)         # published

ARTIFACTS = [T1, C1, U1, P1]
DECISIONS = [
    _decision("t1", "transcript", None, True, "granted"),
    _decision("t1", "transcript", 0, True, "granted"),
    _decision("t1", "transcript", 1, True, "granted"),
    _decision("t1", "transcript", 2, False, "unknown_speaker"),
    _decision("c1", "chat", None, False, "revoked"),
    _decision("c1", "chat", 0, False, "revoked"),
    _decision("c1", "chat", 1, False, "revoked"),
    _decision("u1", "upload", None, True, "granted"),
    _decision("u1", "upload", 0, True, "granted"),
    _decision("p1", "poll", None, True, "granted"),
    _decision("p1", "poll", 0, True, "granted"),
    # RedactPii's "dropped" output, flattened into the decisions by the pipeline
    _decision("t1", "transcript", 1, False, "redaction_drop"),
    _decision("u1", "upload", 0, False, "redaction_drop"),
]
GATED = [
    GatedArtifact(MEETING, dataclasses.replace(T1, segments=T1.segments[:2]), ("e1",)),
    GatedArtifact(MEETING, U1, ("e1",)),
    GatedArtifact(MEETING, P1, ("e1",)),
]
SEGMENTS = [
    _published("t1", "transcript", 0, [("PERSON", 2)]),
    _published("p1", "poll", 0, [("PERSON", 1), ("EMAIL_ADDRESS", 1)]),
]
DEAD_LETTERS = [
    DeadLetter("m1", "t9", "a" * 64, "ingest", DeadLetterReason.EMPTY, "EmptyPayload", "transcript", "vtt"),
    DeadLetter("m2", None, "b" * 64, "ingest", DeadLetterReason.MALFORMED_MEETING, "MeetingDescriptorError"),
]
SKIPPED = [
    SkippedFile("m1", "c" * 64, SkipReason.MEETING_DESCRIPTOR, "json"),
    SkippedFile("m1", "d" * 64, SkipReason.UNDECLARED, "txt"),
    SkippedFile("", "e" * 64, SkipReason.OUTSIDE_MEETING_FOLDER, "txt"),
]

EXPECTED = {
    "artifacts": {
        "transcript": {"ingested": 2, "parsed": 1, "published": 1, "dropped": 0, "dead_lettered": 1},
        "chat": {"ingested": 1, "parsed": 1, "published": 0, "dropped": 1, "dead_lettered": 0},
        "upload": {"ingested": 1, "parsed": 1, "published": 0, "dropped": 1, "dead_lettered": 0},
        "poll": {"ingested": 1, "parsed": 1, "published": 1, "dropped": 0, "dead_lettered": 0},
        "unknown": {"ingested": 1, "parsed": 0, "published": 0, "dropped": 0, "dead_lettered": 1},
    },
    "segments": {
        "transcript": {"parsed": 3, "published": 1, "dropped": 2},
        "chat": {"parsed": 2, "published": 0, "dropped": 2},
        "upload": {"parsed": 1, "published": 0, "dropped": 1},
        "poll": {"parsed": 1, "published": 1, "dropped": 0},
    },
    "files": {"parsed": 4, "dead_lettered": 2, "skipped": 3},
    "artifact_drop_reasons": {"revoked": 1, "redaction_drop": 1},
    "segment_drop_reasons": {"unknown_speaker": 1, "revoked": 2, "redaction_drop": 2},
    "dead_letter_reasons": {"empty": 1, "malformed_meeting": 1},
    "skip_reasons": {"meeting_descriptor": 1, "undeclared": 1, "outside_meeting_folder": 1},
    "entities": {"PERSON": 3, "EMAIL_ADDRESS": 1},
}


def _check_conservation(counts):
    """The manifest's rules: per kind ingested = published + dropped + dead_lettered, parsed = published + dropped."""
    for kind, row in counts["artifacts"].items():
        if row["ingested"] != row["published"] + row["dropped"] + row["dead_lettered"]:
            raise BeamAssertException(f"artifact conservation broken for {kind}: {row}")
    for section in ("artifacts", "segments"):
        for kind, row in counts[section].items():
            if row["parsed"] != row["published"] + row["dropped"]:
                raise BeamAssertException(f"{section} conservation broken for {kind}: {row}")


def _matches(expected):
    def check(actual):
        if len(actual) != 1:
            raise BeamAssertException(f"expected one tally document, got {len(actual)}")
        counts = json.loads(actual[0])
        _check_conservation(counts)
        if counts != expected:
            raise BeamAssertException(f"tally mismatch: {counts} != {expected}")
    return check


def _run_tally(p, **inputs):
    names = ("artifacts", "dead_letters", "skipped", "decisions", "gated", "segments")
    pcolls = {name: p | f"Create[{name}]" >> beam.Create(inputs.get(name, []), reshuffle=False) for name in names}
    return pcolls | RunTally()


def test_run_tally_counts_every_record_once():
    with TestPipeline() as p:
        tally = _run_tally(p, artifacts=ARTIFACTS, dead_letters=DEAD_LETTERS, skipped=SKIPPED,
                           decisions=DECISIONS, gated=GATED, segments=SEGMENTS)
        assert_that(tally, _matches(EXPECTED))


def test_run_tally_of_nothing_is_the_empty_shape():
    with TestPipeline() as p:
        assert_that(_run_tally(p), _matches(tally_to_counts({})))


# ---------------------------------------------------------------- tally_to_counts


def test_tally_to_counts_empty_shape():
    assert tally_to_counts({}) == {
        "artifacts": {}, "segments": {}, "files": {"parsed": 0, "dead_lettered": 0, "skipped": 0},
        "artifact_drop_reasons": {}, "segment_drop_reasons": {}, "dead_letter_reasons": {},
        "skip_reasons": {}, "entities": {},
    }


def test_tally_to_counts_fills_missing_statuses_and_derives_ingested():
    counts = tally_to_counts({
        ("artifacts", "chat", "dead_lettered"): 2,
        ("artifacts", "transcript", "parsed"): 5,
        ("artifacts", "transcript", "published"): 4,
        ("segments", "transcript", "dropped"): 3,
        ("files", "skipped"): 1,
        ("entities", "PERSON"): 9,
        ("dead_letter_reasons", "empty"): 2,
    })
    assert counts["artifacts"] == {
        "chat": {"parsed": 0, "published": 0, "dropped": 0, "dead_lettered": 2, "ingested": 2},
        "transcript": {"parsed": 5, "published": 4, "dropped": 0, "dead_lettered": 0, "ingested": 5},
    }
    assert counts["segments"] == {"transcript": {"parsed": 0, "published": 0, "dropped": 3}}
    assert counts["files"] == {"parsed": 0, "dead_lettered": 0, "skipped": 1}
    assert counts["entities"] == {"PERSON": 9}
    assert counts["dead_letter_reasons"] == {"empty": 2}
    json.dumps(counts)                                    # JSON-serialisable as written by the pipeline
