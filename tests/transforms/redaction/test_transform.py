import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.redaction.conftest import ALICE, BOB, KEY, ROSTER
from transforms.records import (
    Artifact,
    ArtifactKind,
    ConsentDecision,
    GatedArtifact,
    Meeting,
    MeetingCategory,
    Segment,
)
from transforms.redaction.engine import RedactionEngine
from transforms.redaction.residual import PSEUDONYM_PATTERN
from transforms.redaction.transform import RedactPii

MEETING = Meeting("m-1", "acct-1", "weekly sync", "2026-01-05T10:00:00Z", MeetingCategory.GENERAL,
                  "p-alice", ROSTER, ())
SEGMENTS = (
    Segment("a1:00000", "p-alice", "Alice Johnson", 0, 1000, "Hi Bob, thanks for joining. Bob's slides are great."),
    Segment("a1:00001", "p-bob", "Bob", 1000, 2000, "Thanks alice! My number is (415) 555-0172."),
    Segment("a1:00002", None, "Carol Nguyen", 2000, 3000, "My SSN is 284-89-3485, please keep it safe."),
)
ARTIFACT = Artifact("a1", "m-1", ArtifactKind.TRANSCRIPT, "file:///x/transcript.vtt", (), "f" * 64,
                    "webvtt", SEGMENTS)
GATED = GatedArtifact(MEETING, ARTIFACT, ("ev-meeting",), (("ev-1",), ("ev-2",), ("ev-3",)))


def _config_with_ssn_drop(tmp_path) -> str:
    import yaml

    from transforms.redaction.config import PACKAGED_CONFIG_PATH
    doc = yaml.safe_load(PACKAGED_CONFIG_PATH.read_text())
    doc["operators"]["US_SSN"] = "drop_segment"
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_redact_pii_outputs_segments_and_drops(tmp_path):
    config = _config_with_ssn_drop(tmp_path)
    engine = RedactionEngine.load(config, KEY)
    alice = engine.participant_pseudonym("m-1", ALICE, None)
    bob = engine.participant_pseudonym("m-1", BOB, None)
    with TestPipeline() as p:
        out = (p | beam.Create([GATED]) | RedactPii(config, KEY, "dataset", batch_size=2, run_id="run-7"))
        segments = out.segments | "Shape" >> beam.Map(
            lambda s: (s.segment_id, s.speaker, s.text, s.entity_counts, s.consent_event_ids, s.purpose,
                       s.source_fingerprint, s.residual_findings, s.run_id, s.kind, s.source_format,
                       s.start_ms, s.end_ms))
        assert_that(segments, equal_to([
            ("a1:00000", alice, f"Hi {bob}, thanks for joining. {bob}'s slides are great.", (("PERSON", 2),),
             ("ev-1",), "ai_training", "f" * 64, (), "run-7", "transcript", "webvtt", 0, 1000),
            ("a1:00001", bob, f"Thanks {alice}! My number is "
             + engine.pseudonymizer.token("PHONE_NUMBER", "(415) 555-0172", "m-1") + ".",
             (("PERSON", 1), ("PHONE_NUMBER", 1)), ("ev-2",), "ai_training", "f" * 64, (), "run-7",
             "transcript", "webvtt", 1000, 2000),
        ]), label="segments")
        assert_that(out.dropped, equal_to([
            ConsentDecision("m-1", "a1", "a1:00002", "transcript", False, "redaction_drop", ("ev-3",),
                            account_id="acct-1", category="general"),
        ]), label="dropped")


def test_unknown_speaker_label_never_reaches_output():
    artifact = Artifact("a2", "m-1", ArtifactKind.CHAT, "file:///x/chat.txt", (), "e" * 64, "zoom_chat_tsv",
                        (Segment("a2:00000", None, "Zed Quixote", None, None, "Zed Quixote here, hello all"),))
    gated = GatedArtifact(MEETING, artifact, ("ev-meeting",))
    with TestPipeline() as p:
        out = p | beam.Create([gated]) | RedactPii(None, KEY, "dataset", run_id="r")
        checked = out.segments | beam.Map(
            lambda s: (bool(PSEUDONYM_PATTERN.fullmatch(s.speaker)), "Zed" in s.text or "Quixote" in s.text,
                       s.consent_event_ids))
        assert_that(checked, equal_to([(True, False, ("ev-meeting",))]))


def test_speaker_labels_join_the_roster_for_mentions():
    from transforms.redaction.transform import artifact_roster

    segments = (
        Segment("a3:00000", "p-alice", "AJ", None, None, "AJ here. Thanks Quill, and thanks aj!"),
        Segment("a3:00001", None, "Quill Zappacosta", None, None, "Sure thing."),
        Segment("a3:00002", None, "Speaker 2", None, None, "The speaker agrees."),
    )
    roster = artifact_roster(MEETING, segments)
    assert [p.participant_id for p in roster] == ["p-alice", "p-bob", "label:Quill Zappacosta"]
    assert "AJ" in roster[0].handles
    artifact = Artifact("a3", "m-1", ArtifactKind.TRANSCRIPT, "file:///x/t.vtt", (), "d" * 64, "webvtt", segments)
    engine = RedactionEngine.load(None, KEY)
    alice = engine.participant_pseudonym("m-1", ALICE, "AJ")
    quill = engine.participant_pseudonym("m-1", None, "Quill Zappacosta")
    with TestPipeline() as p:
        out = p | beam.Create([GatedArtifact(MEETING, artifact, ("ev",))]) | RedactPii(None, KEY, run_id="r")
        assert_that(out.segments | beam.Map(lambda s: (s.speaker, s.text)), equal_to([
            (alice, f"{alice} here. Thanks {quill}, and thanks {alice}!"),
            (quill, "Sure thing."),
            (engine.participant_pseudonym("m-1", None, "Speaker 2"), "The speaker agrees."),
        ]))
