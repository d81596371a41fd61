import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from consent_factories import AS_OF, artifact, event, meeting
from pipeline.config import ConsentPolicy
from transforms.consent.events import LedgerErrorRecord
from transforms.consent.gate import LEDGER_ERROR_REASON, GateOnConsent, meeting_subject_keys
from transforms.consent.ledger_writers import write_ledger
from transforms.consent.policy import decide_meeting
from transforms.records import ArtifactDeclaration, DeadLetter, DeadLetterReason

M1 = meeting("m1", "acc1", participants=("p1", "p2"))
M2 = meeting("m2", "acc2", category="therapy", participants=("p1", "p3"))
M3 = meeting("m3", "acc1", participants=("p2",),
             declarations=[ArtifactDeclaration("m3-up", "upload", "deck.pdf", owner_participant_id="p9")])
MEETINGS = [M1, M2, M3]
ARTIFACTS = [
    artifact("m1-t", "transcript", authors=("p1", "p2", None), meeting_id="m1"),
    artifact("m1-c", "chat", authors=("p1", "p2"), meeting_id="m1", direct_messages=(1,)),
    artifact("m1-s", "derived", authors=(None,), meeting_id="m1", derived_from=("m1-c",)),
    artifact("m1-s2", "derived", authors=(None,), meeting_id="m1", derived_from=("m1-bad",)),
    artifact("m2-t", "transcript", authors=("p1", "p3"), meeting_id="m2"),
    artifact("m3-up", "upload", authors=(None,), meeting_id="m3"),
]
DEAD = [DeadLetter("m1", "m1-bad", "f" * 64, "ingest", DeadLetterReason.CORRUPT, "BadZipFile"),
        DeadLetter("m9", None, "e" * 64, "ingest", DeadLetterReason.MALFORMED_MEETING, "JSONDecodeError")]
EVENTS = [
    event("g-acc1", "account", "acc1"),
    event("g-acc2", "account", "acc2"),
    event("g-m2", "meeting", "m2", special=True),
    event("g-p1", "participant", "p1", special=True),
    event("w-p1", "participant", "p1", "withdrawn", kinds=("chat",), at="2025-02-01T00:00:00+00:00"),
    event("g-p2", "participant", "p2"),
    event("g-p3", "participant", "p3"),                       # not explicit: m2 is a therapy meeting
    event("g-p9", "participant", "p9", at="2025-07-01T00:00:00+00:00"),   # after as_of
    event("other", "account", "acc1", "revoked", purpose="analytics"),
    event("unrelated", "participant", "p42"),
]


def expected():
    gated, decisions = [], []
    for m in MEETINGS:
        g, d = decide_meeting(m, [a for a in ARTIFACTS if a.meeting_id == m.meeting_id],
                              {x.artifact_id for x in DEAD if x.meeting_id == m.meeting_id and x.artifact_id},
                              EVENTS, AS_OF, ConsentPolicy())
        gated += g
        decisions += d
    return gated, decisions


def test_expected_outcomes_of_the_scenario():
    gated, decisions = expected()
    assert sorted(g.artifact.artifact_id for g in gated) == ["m1-t"]
    reasons = {d.artifact_id: d.reason for d in decisions if d.segment_id is None}
    assert reasons == {
        "m1-t": "granted",
        "m1-c": "no_segments_left",    # p1 withdrew chat consent and p2's message was a DM
        "m1-s": "derived_source_dropped",
        "m1-s2": "derived_source_missing",
        "m2-t": "special_category_not_explicit",
        "m3-up": "owner_no_grant",
    }


def test_meeting_subject_keys_fan_out():
    keys = {key for key, _ in meeting_subject_keys(M3)}
    assert keys == {("account", "acc1"), ("meeting", "m3"), ("participant", "p2"), ("participant", "p9")}


def run_gate(p, ledger_uri=None, ledger_events=None, label="Gate"):
    inputs = {
        "meetings": p | f"{label}Meetings" >> beam.Create(MEETINGS),
        "artifacts": p | f"{label}Artifacts" >> beam.Create(ARTIFACTS),
        "dead_letters": p | f"{label}Dead" >> beam.Create(DEAD),
    }
    if ledger_events is not None:
        inputs["ledger_events"] = p | f"{label}Events" >> beam.Create(ledger_events)
    return inputs | label >> GateOnConsent(ledger_uri, AS_OF, ConsentPolicy())


def test_gate_with_in_memory_events_matches_the_policy():
    gated, decisions = expected()
    with TestPipeline() as p:
        out = run_gate(p, ledger_events=EVENTS)
        assert_that(out["gated"], equal_to(gated), label="gated")
        assert_that(out["decisions"], equal_to(decisions), label="decisions")
        assert_that(out["ledger_errors"], equal_to([]), label="errors")


@pytest.mark.parametrize("name", ["ledger.jsonl", "sqlite"])   # CSV/Parquet: test_consent_ledger
def test_gate_reads_real_ledgers(tmp_path, name):
    uri = f"sqlite:///{tmp_path / 'ledger.db'}" if name == "sqlite" else str(tmp_path / name)
    write_ledger(EVENTS, uri)
    gated, decisions = expected()
    p = TestPipeline()
    out = run_gate(p, ledger_uri=uri)
    assert_that(out["gated"], equal_to(gated), label="gated")
    assert_that(out["decisions"], equal_to(decisions), label="decisions")
    result = p.run()
    result.wait_until_finish()
    counters = {c.key.metric.name: c.committed for c in result.metrics().query()["counters"]
                if c.key.metric.namespace == "consent"}
    assert counters["granted"] == 1
    assert counters["no_segments_left"] == 1
    assert counters["segment:unknown_speaker"] == 1
    assert counters["events_read"] == len(EVENTS)


def test_broken_or_missing_ledgers_deny_everything(tmp_path):
    path = tmp_path / "ledger.jsonl"
    write_ledger(EVENTS, str(path))
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"event_id": "broken"}\n')
    missing = str(tmp_path / "missing.jsonl")
    with TestPipeline() as p:
        broken = run_gate(p, ledger_uri=str(path), label="Broken")
        assert_that(broken["gated"], equal_to([]), label="broken gated")
        assert_that(broken["ledger_errors"], equal_to([
            LedgerErrorRecord(str(path), len(EVENTS) + 1, "missing_field:subject_type")]), label="broken errors")
        assert_that(broken["decisions"] | beam.Map(lambda d: (d.allowed, d.reason)) | beam.Distinct(),
                    equal_to([(False, LEDGER_ERROR_REASON)]), label="broken decisions")
        assert_that(broken["decisions"] | "CountBroken" >> beam.combiners.Count.Globally(),
                    equal_to([len(ARTIFACTS) + sum(len(a.segments) for a in ARTIFACTS)]), label="broken audit")
        absent = run_gate(p, ledger_uri=missing, label="Missing")
        assert_that(absent["gated"], equal_to([]), label="missing gated")
        assert_that(absent["ledger_errors"], equal_to([LedgerErrorRecord(missing, 0, "missing_ledger")]),
                    label="missing errors")


def test_as_of_must_be_aware():
    from datetime import datetime

    with pytest.raises(ValueError):
        GateOnConsent("x.jsonl", datetime(2025, 1, 1), ConsentPolicy())
