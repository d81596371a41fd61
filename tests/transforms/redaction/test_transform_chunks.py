"""RedactPii cuts artifacts into chunks before redaction: chunks keep the whole artifact's context."""
from dataclasses import replace

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from tests.transforms.redaction.conftest import KEY
from tests.transforms.redaction.test_transform import ARTIFACT, GATED, MEETING, SEGMENTS
from transforms.records import GatedArtifact, Segment
from transforms.redaction.engine import RedactionRequest
from transforms.redaction.transform import RedactPii, artifact_roster, chunk_gated_artifact


def test_chunks_cover_every_segment_in_order_with_its_event_ids():
    chunks = list(chunk_gated_artifact(GATED, 2))

    assert [len(c.segments) for c in chunks] == [2, 1]
    assert tuple(s for c in chunks for s in c.segments) == SEGMENTS
    assert tuple(e for c in chunks for e in c.event_ids) == (("ev-1",), ("ev-2",), ("ev-3",))
    assert all(c.artifact.segments == () and c.artifact.artifact_id == "a1" for c in chunks)
    assert all(c.meeting == MEETING for c in chunks)


def test_every_chunk_carries_the_roster_of_the_whole_artifact():
    chunks = list(chunk_gated_artifact(GATED, 1))
    whole = artifact_roster(MEETING, SEGMENTS)

    assert len(chunks) == 3
    # "Carol Nguyen" only speaks in the last segment; the first chunk still knows her
    assert "label:Carol Nguyen" in {p.participant_id for p in chunks[0].roster}
    assert all(c.roster == whole for c in chunks)


def test_segments_without_their_own_event_ids_fall_back_to_the_artifact_events():
    gated = GatedArtifact(MEETING, ARTIFACT, ("ev-meeting",), (("ev-1",),))
    chunks = list(chunk_gated_artifact(gated, 2))

    assert [c.event_ids for c in chunks] == [(("ev-1",), ("ev-meeting",)), (("ev-meeting",),)]


def test_output_does_not_depend_on_the_chunk_size(engine):
    mention = Segment("a1:00003", "p-bob", "Bob", 3000, 4000, "Carol Nguyen will send the notes.")
    segments = (mention,) + SEGMENTS
    gated = GatedArtifact(MEETING, replace(ARTIFACT, segments=segments), ("ev-meeting",))
    roster = artifact_roster(MEETING, segments)
    results = engine.redact_batch([RedactionRequest(s.text, "m-1", roster) for s in segments])
    expected = [(s.segment_id, r.text) for s, r in zip(segments, results) if not r.drop_segment]
    assert "Carol" not in dict(expected)["a1:00003"]      # redacted thanks to a label of a later segment

    for batch_size in (1, 2, 256):
        with TestPipeline() as p:
            out = p | beam.Create([gated]) | RedactPii(None, KEY, "dataset", batch_size=batch_size, run_id="r")
            assert_that(out.segments | beam.Map(lambda s: (s.segment_id, s.text)), equal_to(expected))
