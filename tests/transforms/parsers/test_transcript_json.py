"""Transcript JSON: the Zoom timeline shape and a plain list of utterances."""
import json

import pytest

from transforms.parsers import zoom_transcript_json as tj
from transforms.parsers.base import ArtifactRejected, ParseContext
from transforms.records import DeadLetterReason, Participant

ROSTER = (Participant("p-ann", "Ann Lee", "ann@example.org"), Participant("p-bob", "Bob Stone"))
CTX = ParseContext(kind="transcript", filename="transcript.json", roster=ROSTER)


def _parse(document):
    return tj.parse(json.dumps(document).encode(), CTX)


def test_zoom_timeline_shape():
    doc = _parse({"timeline": [
        {"ts": "00:00:01.000", "end_ts": "00:00:03.500", "username": "Ann Lee | Acme", "text": "Hello"},
        {"ts": "00:00:04.000", "users": [{"username": "A. Lee", "email_address": "ANN@example.org"}], "text": "Me again"},
        {"ts": "00:00:05.000", "users": [{"username": "Bob Stone"}]},           # speaker-only entry
        {"ts": "00:00:06.000", "end_ts": "00:00:05.000", "username": "Guest", "text": "backwards"},
    ]})
    assert doc.source_format == "zoom_transcript_json"
    assert [(s.text, s.speaker_label, s.participant_id, s.start_ms, s.end_ms) for s in doc.segments] == [
        ("Hello", "Ann Lee | Acme", "p-ann", 1000, 3500),
        ("Me again", "A. Lee", "p-ann", 4000, None),
        ("backwards", "Guest", None, 6000, None),
    ]


def test_list_of_utterances_with_seconds_and_ms():
    doc = _parse([
        {"speaker": "Bob Stone", "text": "first", "start": 1.25, "end": "2.5"},
        {"speaker": "Bob Stone", "text": "second", "start_ms": 3000, "end_ms": 4000},
        {"speaker": "Bob Stone", "text": "third", "start": -1, "end": True},
        "not an entry",
    ])
    assert [(s.start_ms, s.end_ms, s.participant_id) for s in doc.segments] == [
        (1250, 2500, "p-bob"), (3000, 4000, "p-bob"), (None, None, "p-bob")]


@pytest.mark.parametrize("payload,reason", [
    (b'{"timeline": [{"ts": "00:00:01.000", "users": []}]}', DeadLetterReason.EMPTY),
    (b'{"meeting": "x"}', DeadLetterReason.MALFORMED),
    (b'{"timeline": [', DeadLetterReason.MALFORMED),
    (b"WEBVTT\n\n", DeadLetterReason.WRONG_FORMAT),
    (b'[{"speaker": "A", "text": "x", "start": NaN, "end": Infinity}]', None),
    (b'[{"speaker": "A", "text": "x", "start": 1e308}]', None),
])
def test_reason_codes_and_odd_numbers(payload, reason):
    if reason is None:
        doc = tj.parse(payload, CTX)
        assert doc.segments[0].start_ms is None
        return
    with pytest.raises(ArtifactRejected) as caught:
        tj.parse(payload, CTX)
    assert caught.value.reason is reason
