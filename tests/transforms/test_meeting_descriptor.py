"""transforms/meeting_descriptor.py: meeting.json validation and safe artifact paths."""
from __future__ import annotations

import json
import posixpath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transforms.meeting_descriptor import (
    MeetingDescriptorError,
    declared_paths,
    parse_meeting_descriptor,
    resolve_artifact_path,
)
from transforms.records import ArtifactDeclaration, MeetingCategory, Participant

CANARY = "Zelda Quackenbush zq@example.org"


def _descriptor(**changes) -> dict:
    raw = {
        "meeting_id": "m-001",
        "account_id": "acc-9",
        "topic": "Quarterly planning",
        "started_at": "2026-11-20T10:00:00Z",
        "category": "Therapy",
        "host_participant_id": "p-alice",
        "participants": [
            {"participant_id": "p-alice", "name": "Alice Smith", "email": "alice@example.com",
             "handles": [" asmith ", ""]},
            {"participant_id": "p-bob", "name": "Bob Jones"},
        ],
        "artifacts": [
            {"artifact_id": "t1", "kind": "transcript", "path": "transcript.vtt"},
            {"artifact_id": "s1", "kind": "derived", "path": "sub/../summary.json", "derived_from": ["t1"],
             "owner_participant_id": "p-alice"},
        ],
    }
    raw.update(changes)
    return raw


def _parse(raw) -> object:
    return parse_meeting_descriptor(json.dumps(raw).encode("utf-8"), folder_uri="/in/m-001/")


def test_valid_descriptor_becomes_a_meeting():
    meeting = _parse(_descriptor())
    assert meeting.meeting_id == "m-001" and meeting.account_id == "acc-9"
    assert meeting.category is MeetingCategory.THERAPY
    assert meeting.host_participant_id == "p-alice"
    assert meeting.folder_uri == "/in/m-001/"
    assert meeting.participants == (
        Participant("p-alice", "Alice Smith", "alice@example.com", ("asmith",)),
        Participant("p-bob", "Bob Jones", "", ()),
    )
    assert meeting.artifacts == (
        ArtifactDeclaration("t1", "transcript", "transcript.vtt"),
        ArtifactDeclaration("s1", "derived", "sub/../summary.json", ("t1",), "p-alice"),
    )
    assert meeting.participant("p-bob").name == "Bob Jones"
    assert meeting.participant("p-nobody") is None


def test_optional_fields_default():
    raw = _descriptor()
    for key in ("topic", "category", "host_participant_id", "participants", "artifacts"):
        raw.pop(key)
    meeting = _parse(raw)
    assert (meeting.topic, meeting.category, meeting.host_participant_id) == ("", MeetingCategory.GENERAL, None)
    assert meeting.participants == () and meeting.artifacts == ()


def test_utf8_bom_is_accepted():
    payload = b"\xef\xbb\xbf" + json.dumps(_descriptor()).encode()
    assert parse_meeting_descriptor(payload).meeting_id == "m-001"


def _without(key):
    raw = _descriptor()
    raw.pop(key)
    return raw


def _participant_with(**changes):
    return _descriptor(participants=[{"participant_id": "p-alice", **changes}])


def _artifact_with(**changes):
    return _descriptor(artifacts=[{"artifact_id": "t1", "kind": "transcript", "path": "t.vtt", **changes}])


INVALID = [
    (_without("meeting_id"), "meeting.meeting_id is missing"),
    (_without("account_id"), "meeting.account_id is missing"),
    (_without("started_at"), "meeting.started_at is missing"),
    (_descriptor(meeting_id=7), "meeting.meeting_id must be a string"),
    (_descriptor(started_at=CANARY), "meeting.started_at is not ISO 8601"),
    (_descriptor(category=CANARY), "meeting.category is not a known category"),
    (_descriptor(participants={"p": CANARY}), "meeting.participants must be a list"),
    (_descriptor(artifacts=CANARY), "meeting.artifacts must be a list"),
    (_descriptor(participants=[CANARY]), "participants[0] must be an object"),
    (_participant_with(participant_id=None, name=CANARY), "participants[0].participant_id is missing"),
    (_participant_with(name=["x", CANARY]), "participants[0].name must be a string"),
    (_participant_with(handles=CANARY), "participants[0].handles must be a list of strings"),
    (_participant_with(handles=[CANARY, 3]), "participants[0].handles must be a list of strings"),
    (_descriptor(artifacts=[CANARY]), "artifacts[0] must be an object"),
    (_artifact_with(path=None), "artifacts[0].path is missing"),
    (_artifact_with(kind=""), "artifacts[0].kind is missing"),
    (_artifact_with(derived_from=CANARY), "artifacts[0].derived_from must be a list of artifact ids"),
    (_descriptor(participants=[{"participant_id": CANARY}, {"participant_id": CANARY}]),
     "participants[].participant_id has duplicates"),
    (_descriptor(artifacts=[{"artifact_id": CANARY, "kind": "chat", "path": "a.txt"},
                            {"artifact_id": CANARY, "kind": "chat", "path": "b.txt"}]),
     "artifacts[].artifact_id has duplicates"),
]


@pytest.mark.parametrize("raw, message", INVALID)
def test_invalid_descriptors_name_the_field_never_the_value(raw, message):
    with pytest.raises(MeetingDescriptorError) as caught:
        _parse(raw)
    assert str(caught.value) == message
    assert CANARY not in str(caught.value) and "Zelda" not in repr(caught.value)


@pytest.mark.parametrize("payload", [
    b"",
    b"\xff\xfe\x00garbage",
    ("{\"meeting_id\": \"" + CANARY).encode(),
    b"[" * 100_000,
    json.dumps([CANARY]).encode(),
    b"null",
])
def test_unreadable_payloads(payload):
    with pytest.raises(MeetingDescriptorError) as caught:
        parse_meeting_descriptor(payload)
    assert "meeting.json" in str(caught.value)
    assert CANARY not in str(caught.value)
    assert caught.value.__cause__ is None


@pytest.mark.parametrize("raw", [_descriptor(meeting_id="   "), _artifact_with(artifact_id=" \t")])
def test_whitespace_only_required_fields_are_missing(raw):
    with pytest.raises(MeetingDescriptorError):
        _parse(raw)


# ---------------------------------------------------------------- artifact paths


@pytest.mark.parametrize("declared, resolved", [
    ("transcript.vtt", "transcript.vtt"),
    ("./chat/../chat.txt", "chat.txt"),
    ("sub//deep/./file.pdf", "sub/deep/file.pdf"),
    ("sub\\file.pdf", "sub/file.pdf"),
    ("sub/inner/../../file.pdf", "file.pdf"),
    ("...vtt", "...vtt"),
])
def test_paths_inside_the_folder_are_normalised(declared, resolved):
    assert resolve_artifact_path(declared) == resolved


@pytest.mark.parametrize("declared", [
    "", ".", "./", "..", "../x.vtt", "a/../../x.vtt", "a/..", "sub/inner/../../../x",
    "..\\x.vtt", "a\\..\\..\\x.vtt",
    "/etc/passwd", "\\etc\\passwd", "\\\\server\\share\\x.vtt", "//server/share/x.vtt",
    "C:\\Users\\x.vtt", "c:/x.vtt", "C:x.vtt",
    "http://example.com/x.vtt", "gs://bucket/x.vtt", "file:///etc/passwd", "s3://b/k",
    "x.vtt\x00.txt", "\x00",
])
def test_escaping_paths_are_rejected(declared):
    assert resolve_artifact_path(declared) is None


_PATH_ALPHABET = st.sampled_from(["a", "b", ".", "..", "/", "\\", ":", "C", "\x00", "~", " ", "%2e"])


@given(st.lists(_PATH_ALPHABET, max_size=12).map("".join))
def test_resolved_paths_never_leave_the_folder(declared):
    resolved = resolve_artifact_path(declared)
    if resolved is None:
        return
    assert "\x00" not in resolved and "\\" not in resolved and "://" not in resolved
    assert not resolved.startswith("/")
    assert ".." not in resolved.split("/")
    assert posixpath.normpath(posixpath.join("/in/m1", resolved)).startswith("/in/m1/")


def test_declared_paths_pairs_each_declaration_with_its_resolution():
    meeting = _parse(_descriptor(artifacts=[
        {"artifact_id": "t1", "kind": "transcript", "path": "t.vtt"},
        {"artifact_id": "x1", "kind": "upload", "path": "../../etc/passwd"},
    ]))
    assert [(a.artifact_id, p) for a, p in declared_paths(meeting)] == [("t1", "t.vtt"), ("x1", None)]


# ---------------------------------------------------------------- hostile and careless descriptors (issue 16)

from transforms.meeting_descriptor import meeting_date, utc_date  # noqa: E402
from transforms.records import DeadLetterReason  # noqa: E402


@pytest.mark.parametrize("started_at", [
    "9999-12-31T23:00:00-05:00",     # overflows when converted to UTC
    "0001-01-01T00:30:00+01:00",     # underflows when converted to UTC
    "0001-01-01T00:00:00Z",          # parses, but no meeting started then
    "2999-01-01T00:00:00+00:00",
    "2026-13-45T99:00:00Z",
    CANARY,
])
def test_started_at_out_of_range_or_unparseable_is_its_own_reason(started_at):
    with pytest.raises(MeetingDescriptorError) as caught:
        _parse(_descriptor(started_at=started_at))
    assert caught.value.reason is DeadLetterReason.INVALID_STARTED_AT
    assert CANARY not in str(caught.value)


def test_the_meeting_date_of_a_parsed_meeting_is_its_utc_date():
    meeting = _parse(_descriptor(started_at="2026-05-20T23:30:00-05:00"))
    assert meeting_date(meeting) == "2026-05-21" == utc_date(meeting.started_at)
    assert utc_date("2026-05-20T10:00:00") == "2026-05-20"      # no offset: UTC


@pytest.mark.parametrize("raw", [
    json.dumps(_descriptor(meeting_id="m-SURROGATE")),
    json.dumps(_descriptor(artifacts=[{"artifact_id": "t-SURROGATE", "kind": "transcript", "path": "t.vtt"}])),
    json.dumps(_participant_with(name="Al-SURROGATE")),
    json.dumps({**_descriptor(), "extra-SURROGATE": 1}),
    json.dumps(_descriptor(topic=["deep", {"x": "y-SURROGATE"}])),
])
def test_a_lone_surrogate_anywhere_is_invalid_unicode(raw):
    payload = raw.replace("-SURROGATE", "\\ud800").encode()
    with pytest.raises(MeetingDescriptorError) as caught:
        parse_meeting_descriptor(payload)
    assert caught.value.reason is DeadLetterReason.INVALID_UNICODE


@pytest.mark.parametrize("payload", [
    b'{"meeting_id": "m-001", "meeting_id": "m-002", "account_id": "a", "started_at": "2026-05-20T10:00:00Z"}',
    json.dumps(_descriptor(topic=float("nan"))).encode(),
    json.dumps(_descriptor()).replace('"topic"', '"n": -Infinity, "topic"').encode(),
    json.dumps(_descriptor()).replace('"topic"', '"n": ' + "9" * 5000 + ', "topic"').encode(),
    json.dumps(_descriptor()).encode("utf-16"),
    json.dumps(_descriptor()).replace('"topic"', '"j": ' + "[" * 3000 + "]" * 3000 + ', "topic"').encode(),
])
def test_json_that_readers_could_disagree_on_is_malformed(payload):
    with pytest.raises(MeetingDescriptorError) as caught:
        parse_meeting_descriptor(payload)
    assert caught.value.reason is DeadLetterReason.MALFORMED_MEETING
    assert caught.value.__cause__ is None


def test_huge_and_wrong_typed_values_name_the_field():
    with pytest.raises(MeetingDescriptorError) as caught:
        _parse(_descriptor(meeting_id=["m-001"], account_id={"x": 1}))
    assert caught.value.reason is DeadLetterReason.MALFORMED_MEETING
    assert str(caught.value) == "meeting.meeting_id must be a string"
