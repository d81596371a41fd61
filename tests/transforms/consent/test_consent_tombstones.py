import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from transforms.consent.tombstones import NOT_IN_CURRENT_RUN, ComputeTombstones, Tombstone, compute_tombstones
from transforms.records import ConsentDecision

PUBLISHED = [
    ("m1", "t1", "t1:00000"), ("m1", "t1", "t1:00001"), ("m1", "t1", "t1:00002"),
    ("m1", "c1", "c1:00000"),
    ("m1", "u1", "u1:00000"),
    ("m2", "t2", "t2:00000"),           # meeting not evaluated this run: untouched
]
DECISIONS = [
    ConsentDecision("m1", "t1", None, "transcript", True, "granted", ("g-acc",)),
    ConsentDecision("m1", "t1", "t1:00000", "transcript", True, "granted", ("g-acc", "g-p1")),
    ConsentDecision("m1", "t1", "t1:00001", "transcript", False, "participant_withdrawn", ("w-p2",)),
    ConsentDecision("m1", "c1", None, "chat", False, "revoked", ("r-acc",)),
    ConsentDecision("m1", "c1", "c1:00000", "chat", False, "revoked", ("r-acc",)),
]
ALLOWED = [("m1", "t1", "t1:00000")]
EXPECTED = [
    Tombstone("m1", "c1", None, "revoked", ("r-acc",), "run-2"),
    Tombstone("m1", "t1", "t1:00001", "participant_withdrawn", ("w-p2",), "run-2"),
    Tombstone("m1", "t1", "t1:00002", NOT_IN_CURRENT_RUN, (), "run-2"),
    Tombstone("m1", "u1", None, NOT_IN_CURRENT_RUN, (), "run-2"),
]


def test_compute_tombstones():
    assert compute_tombstones(PUBLISHED, ALLOWED, ["m1"], DECISIONS, "run-2") == EXPECTED


def test_nothing_to_retract_when_still_allowed():
    allowed = list(PUBLISHED)
    assert compute_tombstones(PUBLISHED, allowed, ["m1", "m2"], DECISIONS, "run-2") == []


def test_unevaluated_meetings_are_untouched():
    assert compute_tombstones(PUBLISHED, [], [], DECISIONS, "run-2") == []


def test_tombstones_transform_matches_pure_function():
    with TestPipeline() as p:
        tombstones = {
            "published": p | "Published" >> beam.Create(PUBLISHED),
            "decisions": p | "Decisions" >> beam.Create(DECISIONS),
            "evaluated_meetings": p | "Evaluated" >> beam.Create(["m1"]),
        } | ComputeTombstones("run-2")
        assert_that(tombstones, equal_to(EXPECTED))


def test_a_run_with_ledger_errors_retracts_nothing():
    broken = [ConsentDecision("m1", "t1", None, "transcript", False, "ledger_error"),
              ConsentDecision("m1", "t1", "t1:00000", "transcript", False, "ledger_error")]
    assert compute_tombstones(PUBLISHED, [], ["m1"], broken, "run-3") == []
