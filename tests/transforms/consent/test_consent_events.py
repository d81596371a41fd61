import pickle
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from transforms.consent.events import ConsentStatus, LedgerError, SubjectType, parse_event

VALID = {
    "event_id": "ev-1",
    "subject_type": "participant",
    "subject_id": "p1",
    "purpose": "ai_training",
    "artifact_kinds": ["transcript", "chat"],
    "status": "granted",
    "effective_at": "2024-01-01T09:00:00+02:00",
    "expires_at": "2025-01-01T00:00:00Z",
    "special_category": True,
}


def with_(**changes):
    row = dict(VALID)
    for key, value in changes.items():
        if value is ...:
            row.pop(key)
        else:
            row[key] = value
    return row


def problem(row):
    with pytest.raises(LedgerError) as info:
        parse_event(row, 7, "ledger.jsonl")
    return info.value


def test_valid_row():
    event = parse_event(VALID, 1, "ledger.jsonl")
    assert event.subject_type is SubjectType.PARTICIPANT
    assert event.status is ConsentStatus.GRANTED
    assert event.artifact_kinds == ("chat", "transcript")
    assert event.effective_at == datetime(2024, 1, 1, 7, 0, tzinfo=timezone.utc)
    assert event.expires_at == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert event.special_category is True
    assert parse_event(event.to_row(), 1, "x") == event


def test_optional_fields_default():
    event = parse_event(with_(expires_at=..., special_category=...), 1, "ledger.jsonl")
    assert event.expires_at is None and event.special_category is False


@pytest.mark.parametrize("changes, code", [
    ({"event_id": ...}, "missing_field:event_id"),
    ({"event_id": "  "}, "missing_field:event_id"),
    ({"event_id": 12}, "invalid_field:event_id"),
    ({"subject_type": "user"}, "invalid_field:subject_type"),
    ({"subject_id": None}, "missing_field:subject_id"),
    ({"purpose": ...}, "missing_field:purpose"),
    ({"artifact_kinds": []}, "missing_field:artifact_kinds"),
    ({"artifact_kinds": ...}, "missing_field:artifact_kinds"),
    ({"artifact_kinds": ["recording"]}, "invalid_field:artifact_kinds"),
    ({"artifact_kinds": ["*", "chat"]}, "invalid_field:artifact_kinds"),
    ({"artifact_kinds": "chat"}, None),
    ({"status": "maybe"}, "invalid_field:status"),
    ({"effective_at": "2024-01-01T00:00:00"}, "timestamp_without_timezone:effective_at"),
    ({"effective_at": "yesterday"}, "invalid_timestamp:effective_at"),
    ({"effective_at": ...}, "missing_field:effective_at"),
    ({"expires_at": "2023-12-31T00:00:00Z"}, "expires_not_after_effective"),
    ({"expires_at": "2024-01-01T07:00:00Z"}, "expires_not_after_effective"),
    ({"special_category": "perhaps"}, "invalid_field:special_category"),
    ({"expires": "2030-01-01T00:00:00Z"}, "unknown_field"),
])
def test_malformed_rows_name_row_and_problem_not_content(changes, code):
    row = with_(**changes)
    if code is None:
        parse_event(row, 7, "ledger.jsonl")
        return
    error = problem(row)
    assert error.problem == code
    assert error.row_number == 7
    assert str(error) == f"consent ledger error: ledger.jsonl row 7: {code}"
    for value in ("p1", "ev-1", "recording", "yesterday", "perhaps"):
        assert value not in str(error)


def test_not_an_object():
    assert problem(["a"]).problem == "not_an_object"


@pytest.mark.parametrize("text, expected", [
    ("transcript;chat", ("chat", "transcript")),
    ("transcript|chat", ("chat", "transcript")),
    ('["*"]', ("*",)),
    ("*", ("*",)),
])
def test_kind_list_encodings(text, expected):
    assert parse_event(with_(artifact_kinds=text), 1, "x").artifact_kinds == expected


@pytest.mark.parametrize("value, expected", [("true", True), ("0", False), (1, True), (None, False), ("", False)])
def test_flag_encodings(value, expected):
    assert parse_event(with_(special_category=value), 1, "x").special_category is expected


def test_aware_datetimes_are_accepted_and_naive_rejected():
    aware = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert parse_event(with_(effective_at=aware, expires_at=None), 1, "x").effective_at == aware
    assert problem(with_(effective_at=datetime(2024, 1, 1))).problem == "timestamp_without_timezone:effective_at"


def test_ledger_error_pickles():
    error = LedgerError("ledger.csv", 3, "invalid_field:status")
    clone = pickle.loads(pickle.dumps(error))
    assert (clone.source, clone.row_number, clone.problem) == ("ledger.csv", 3, "invalid_field:status")
    assert LedgerError("ledger.csv", 0, "missing_ledger").record.message() == \
        "consent ledger error: ledger.csv source: missing_ledger"


def test_compact_coder_round_trips_and_is_registered():
    from apache_beam import coders

    from transforms.consent.coders import ConsentEventCoder

    coder = coders.registry.get_coder(type(parse_event(VALID, 1, "x")))
    assert isinstance(coder, ConsentEventCoder) and coder.is_deterministic()
    for row in (VALID, with_(expires_at=..., special_category=..., artifact_kinds=["*"])):
        event = parse_event(row, 1, "x")
        encoded = coder.encode(event)
        assert coder.decode(encoded) == event
        assert len(encoded) < 120


MARK = "\u00a7"      # a character no problem code, source or field name contains


@given(st.dictionaries(
    st.sampled_from(["event_id", "subject_type", "subject_id", "purpose", "artifact_kinds", "status",
                     "effective_at", "expires_at", "special_category", "nickname"]),
    st.one_of(st.text(max_size=12).map(lambda t: MARK + t), st.lists(st.text(max_size=5).map(lambda t: MARK + t)),
              st.integers(), st.none(), st.booleans())))
def test_errors_never_carry_row_content(row):
    try:
        parse_event(row, 3, "ledger.jsonl")
    except LedgerError as error:
        assert MARK not in str(error)
        assert error.row_number == 3
