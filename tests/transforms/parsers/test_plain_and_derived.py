"""Plain text / Markdown, CSV uploads and derived JSON summaries: text only, no author."""
import json

import pytest

from transforms.parsers import csv_table, derived_json, plain_text
from transforms.parsers.base import ArtifactRejected, ParseContext
from transforms.records import DeadLetterReason


def _ctx(kind, filename):
    return ParseContext(kind=kind, filename=filename)


def test_paragraphs():
    text = "# Notes\r\n\r\nFirst paragraph\r\nstill first  \r\n \r\n\r\nSecond\n\n\n- item\n- item 2\n"
    doc = plain_text.parse(text.encode(), _ctx("upload", "notes.md"))
    assert doc.source_format == "markdown"
    assert [s.text for s in doc.segments] == ["# Notes", "First paragraph\nstill first", "Second", "- item\n- item 2"]
    assert all(s.speaker_label is None and s.participant_id is None for s in doc.segments)
    assert plain_text.parse(b"one", _ctx("derived", "s.txt")).source_format == "plain_text"


def test_derived_highlights_json():
    document = {
        "meeting": "Fast Confirmation Rule #6",
        "highlights": {
            "spec_status": [
                {"timestamp": "00:09:41", "highlight": "Spec PR in final review"},
                {"timestamp": "00:14:03", "highlight": "Conflict check tightened"},
            ],
            "client_updates": [{"timestamp": "bad", "highlight": "Nimbus released"}],
        },
    }
    doc = derived_json.parse(json.dumps(document).encode(), _ctx("derived", "tldr.json"))
    assert doc.source_format == "derived_json"
    assert [(s.text, s.start_ms, s.speaker_label) for s in doc.segments] == [
        ("Spec PR in final review", 581000, None),
        ("Conflict check tightened", 843000, None),
        ("Nimbus released", None, None),
    ]


def test_derived_generic_text_fields():
    document = {"title": "not text", "summary": "Para one.\n\nPara two.",
                "action_items": ["Do X", {"text": "Do Y", "owner": "someone"}], "id": 7}
    doc = derived_json.parse(json.dumps(document).encode(), _ctx("derived", "summary.json"))
    assert [s.text for s in doc.segments] == ["Para one.", "Para two.", "Do X", "Do Y"]
    with pytest.raises(ArtifactRejected) as caught:
        derived_json.parse(b'{"title": "x", "id": 3}', _ctx("derived", "summary.json"))
    assert caught.value.reason is DeadLetterReason.EMPTY


def test_csv_upload_rows():
    doc = csv_table.parse(b"name,score\nalpha,1\n,\nbeta,\n", _ctx("upload", "t.csv"))
    assert [s.text for s in doc.segments] == ["name: alpha\nscore: 1", "name: beta"]
    single = csv_table.parse(b"just,one,row\n", _ctx("upload", "t.csv"))
    assert single.segments[0].text == "column 1: just\ncolumn 2: one\ncolumn 3: row"
