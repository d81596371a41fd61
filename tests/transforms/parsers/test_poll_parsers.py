"""Zoom poll reports: wide and long CSV layouts, and the past-meeting-poll JSON shape."""
import json

import pytest

from transforms.parsers import poll_csv, poll_json
from transforms.parsers.base import ArtifactRejected, ParseContext
from transforms.records import DeadLetterReason, Participant

ROSTER = (
    Participant("p-ann", "Ann Lee", "ann@example.org"),
    Participant("p-bob", "Bob Stone", "bob@example.org"),
    Participant("p-ann2", "Ann Lee", "ann.other@example.org"),
)
CTX = ParseContext(kind="poll", filename="poll.csv", roster=ROSTER)

WIDE = (
    "Poll Report\r\n"
    "Report Generated:,\"Nov 27, 2026 10:00 AM\"\r\n"
    "Topic,ID,Actual Start Time,Actual Duration (minutes),# Participants,\r\n"
    "Weekly sync,123 456 7890,\"Nov 27, 2026 09:00 AM\",60,3,\r\n"
    "\r\n"
    "#,User Name,User Email,Submitted Date/Time,Which day works?,\"Pick languages, any\"\r\n"
    "1,Ann Lee,ann@example.org,\"Nov 27, 2026 09:10:00\",Tuesday,Python;Rust\r\n"
    "2,Bob Stone (he/him),,\"Nov 27, 2026 09:10:05\",Friday,\r\n"
    "3,Guest,guest@example.org,\"Nov 27, 2026 09:10:09\",,Go\r\n"
)


def test_wide_layout_one_segment_per_answer():
    doc = poll_csv.parse(WIDE.encode("utf-8"), CTX)
    assert doc.source_format == "zoom_poll_csv"
    assert [(s.text, s.speaker_label, s.participant_id) for s in doc.segments] == [
        ("Which day works?: Tuesday", "Ann Lee", "p-ann"),        # e-mail beats the ambiguous name
        ("Pick languages, any: Python;Rust", "Ann Lee", "p-ann"),
        ("Which day works?: Friday", "Bob Stone (he/him)", "p-bob"),
        ("Pick languages, any: Go", "Guest", None),
    ]


def test_long_layout_and_multiple_sections():
    text = (
        "#,Poll Name,User Name,User Email,Question,Answer\n"
        "1,Kickoff,Bob Stone,bob@example.org,Ready?,Yes\n"
        "2,Kickoff,Ann Lee,,Ready?,No\n"
        "\n"
        "#,User Name,User Email,Submitted Date/Time,Second poll?\n"
        "1,Bob Stone,bob@example.org,now,sure\n"
    )
    doc = poll_csv.parse(text.encode(), CTX)
    assert [(s.text, s.participant_id) for s in doc.segments] == [
        ("Ready?: Yes", "p-bob"), ("Ready?: No", None), ("Second poll?: sure", "p-bob"),
    ]


@pytest.mark.parametrize("payload,reason", [
    (b"a,b,c\n1,2,3\n", DeadLetterReason.MALFORMED),
    (b"#,User Name,User Email,Submitted Date/Time,Q1\n", DeadLetterReason.EMPTY),
    (b"#,User Name,User Email,Q1\n1,Ann,,\n", DeadLetterReason.EMPTY),
])
def test_csv_reason_codes(payload, reason):
    with pytest.raises(ArtifactRejected) as caught:
        poll_csv.parse(payload, CTX)
    assert caught.value.reason is reason


ZOOM_API = {
    "id": 85746065432,
    "start_time": "2026-11-27T09:00:00Z",
    "questions": [
        {"name": "Ann Lee", "email": "ann@example.org",
         "question_details": [
             {"question": "Which day works?", "answer": "Tuesday", "polling_id": "p1", "date_time": "x"},
             {"question": "Languages?", "answer": ["Python", "Rust"]},
             {"question": "Skipped?", "answer": ""},
         ]},
        {"name": "Bob Stone", "email": "", "question_details": [{"question": "Which day works?", "answer": 5}]},
    ],
}


def test_json_zoom_api_shape():
    doc = poll_json.parse(json.dumps(ZOOM_API).encode(), CTX)
    assert doc.source_format == "zoom_poll_json"
    assert [(s.text, s.speaker_label, s.participant_id) for s in doc.segments] == [
        ("Which day works?: Tuesday", "Ann Lee", "p-ann"),
        ("Languages?: Python; Rust", "Ann Lee", "p-ann"),
        ("Which day works?: 5", "Bob Stone", "p-bob"),
    ]


def test_json_wrapped_polls_and_flat_answers():
    document = {"polls": [
        {"title": "Kickoff", "responses": [
            {"user_name": "Bob Stone", "question_details": [{"question": "Ready?", "answer": "Yes"}]}]},
        {"title": "Flat", "participants": [
            {"name": "Someone", "email": "ann@example.org", "question": "Ok?", "answer": "fine"}]},
        {"title": "Webinar", "questions": [
            {"first_name": "Bob", "last_name": "Stone", "question_details": [{"question": "Q", "answer": "A"}]}]},
    ]}
    doc = poll_json.parse(json.dumps(document).encode(), CTX)
    assert [(s.text, s.participant_id) for s in doc.segments] == [("Ready?: Yes", "p-bob"), ("Ok?: fine", "p-ann"),
                                                                   ("Q: A", "p-bob")]


@pytest.mark.parametrize("document,reason", [
    ({"polls": []}, DeadLetterReason.EMPTY),
    ({"questions": [{"name": "Ann", "question_details": []}]}, DeadLetterReason.EMPTY),
    ({"something": "else"}, DeadLetterReason.MALFORMED),
    ([1, 2, 3], DeadLetterReason.MALFORMED),
])
def test_json_reason_codes(document, reason):
    with pytest.raises(ArtifactRejected) as caught:
        poll_json.parse(json.dumps(document).encode(), CTX)
    assert caught.value.reason is reason
