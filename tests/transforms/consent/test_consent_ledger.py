import json
import os

import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from consent_factories import event
from transforms.consent.events import LedgerError, LedgerErrorRecord
from transforms.consent.ledger import ReadConsentLedger, check_ledger_reachable, ledger_error_line, load_ledger_events
from transforms.consent.ledger_sources import is_sql_url, split_sql_url
from transforms.consent.ledger_writers import write_ledger

EVENTS = [
    event("e1", "account", "acc1"),
    event("e2", "meeting", "m1", "refused", kinds=("chat", "transcript"), special=True),
    event("e3", "participant", "p1", "withdrawn", expires="2030-01-01T00:00:00+00:00"),
]


@pytest.fixture(params=["ledger.jsonl", "ledger.csv", "ledger.parquet", "sqlite"])
def ledger_uri(request, tmp_path):
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        uri = str(tmp_path / request.param)
    write_ledger(EVENTS, uri)
    return uri


def by_id(events):
    return sorted(events, key=lambda e: e.event_id)


def test_every_format_round_trips(ledger_uri):
    check_ledger_reachable(ledger_uri)
    assert by_id(load_ledger_events(ledger_uri)) == EVENTS


def test_every_format_through_beam(tmp_path):
    uris = [str(tmp_path / name) for name in ("ledger.jsonl", "ledger.csv", "ledger.parquet")]
    uris.append(f"sqlite:///{tmp_path / 'ledger.db'}")
    with TestPipeline() as p:            # one pipeline, one ReadConsentLedger per format
        for index, uri in enumerate(uris):
            write_ledger(EVENTS, uri)
            ledger = p | f"Read{index}" >> ReadConsentLedger(uri)
            assert_that(ledger["events"], equal_to(EVENTS), label=f"events{index}")
            assert_that(ledger["errors"], equal_to([]), label=f"errors{index}")


def write_lines(path, rows):
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(row if isinstance(row, str) else json.dumps(row))
            handle.write("\n")


def test_jsonl_errors_name_rows(tmp_path):
    path = tmp_path / "ledger.jsonl"
    good = EVENTS[0].to_row()
    secret_row = dict(EVENTS[1].to_row(), status="Jane Doe was here")
    write_lines(path, [good, "", "{not json", secret_row, "[1, 2]"])
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(path))
    assert (info.value.row_number, info.value.problem) == (3, "invalid_json")
    with TestPipeline() as p:
        ledger = p | ReadConsentLedger(str(path))
        assert_that(ledger["errors"], equal_to([
            LedgerErrorRecord(str(path), 3, "invalid_json"),
            LedgerErrorRecord(str(path), 4, "invalid_field:status"),
            LedgerErrorRecord(str(path), 5, "not_an_object"),
        ]), label="errors")
        assert_that(ledger["events"], equal_to([EVENTS[0]]), label="events")
    assert "Jane" not in LedgerErrorRecord(str(path), 4, "invalid_field:status").message()


def test_undecodable_line(tmp_path):
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(json.dumps(EVENTS[0].to_row()).encode() + b"\n\xff\xfe{}\n")
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(path))
    assert (info.value.row_number, info.value.problem) == (2, "undecodable")


def test_duplicate_event_ids(tmp_path):
    identical = tmp_path / "a.jsonl"
    write_lines(identical, [EVENTS[0].to_row(), EVENTS[0].to_row()])
    assert load_ledger_events(str(identical)) == [EVENTS[0]]
    conflict = tmp_path / "b.jsonl"
    write_lines(conflict, [EVENTS[0].to_row(), dict(EVENTS[0].to_row(), status="revoked"), EVENTS[1].to_row()])
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(conflict))
    assert (info.value.row_number, info.value.problem) == (2, "duplicate_event_id_conflict")
    with TestPipeline() as p:
        ledger = p | ReadConsentLedger(str(conflict))
        assert_that(ledger["errors"], equal_to([
            LedgerErrorRecord(str(conflict), 2, "duplicate_event_id_conflict")]), label="errors")
        assert_that(ledger["events"], equal_to([EVENTS[1]]), label="events")


def test_glob_over_mixed_formats(tmp_path):
    write_ledger(EVENTS[:1], str(tmp_path / "part-1.jsonl"))
    write_ledger(EVENTS[1:2], str(tmp_path / "part-2.csv"))
    write_ledger(EVENTS[2:], str(tmp_path / "part-3.parquet"))
    pattern = str(tmp_path / "part-*")
    assert by_id(load_ledger_events(pattern)) == EVENTS
    with TestPipeline() as p:
        ledger = p | ReadConsentLedger(pattern)
        assert_that(ledger["events"], equal_to(EVENTS), label="events")


def test_csv_problems(tmp_path):
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("event_id,subject_type,subject_id,purpose,artifact_kinds,status,effective_at,note\n")
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(unknown))
    assert (info.value.row_number, info.value.problem) == (1, "unknown_column")
    short = tmp_path / "short.csv"
    short.write_text("event_id,subject_type,subject_id,purpose,artifact_kinds,status,effective_at\n"
                     "e1,account,acc1,ai_training,*,granted,2024-01-01T00:00:00Z\n"
                     "e2,account,acc1\n")
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(short))
    assert (info.value.row_number, info.value.problem) == (3, "wrong_column_count")
    kinds = tmp_path / "kinds.csv"
    kinds.write_text("event_id,subject_type,subject_id,purpose,artifact_kinds,status,effective_at\n"
                     'e1,account,acc1,ai_training,"[""chat"", ""poll""]",granted,2024-01-01T00:00:00Z\n')
    assert load_ledger_events(str(kinds))[0].artifact_kinds == ("chat", "poll")


def test_naive_timestamp_in_parquet_is_rejected(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "naive.parquet"
    row = dict(EVENTS[0].to_row())
    row["effective_at"] = EVENTS[0].effective_at.replace(tzinfo=None)
    pq.write_table(pa.Table.from_pylist([row]), str(path))
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(path))
    assert (info.value.row_number, info.value.problem) == (1, "timestamp_without_timezone:effective_at")


def test_corrupt_parquet(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(LedgerError) as info:
        load_ledger_events(str(path))
    assert info.value.problem == "unreadable_parquet"


def test_missing_ledgers_fail(tmp_path):
    missing = str(tmp_path / "nope.jsonl")
    for uri in (missing, f"sqlite:///{tmp_path / 'nope.db'}", str(tmp_path / "*.csv")):
        with pytest.raises(LedgerError) as info:
            check_ledger_reachable(uri)
        assert info.value.problem == "missing_ledger"
    assert not os.path.exists(tmp_path / "nope.db")      # never created by the check
    with TestPipeline() as p:
        ledger = p | ReadConsentLedger(missing)
        assert_that(ledger["errors"], equal_to([LedgerErrorRecord(missing, 0, "missing_ledger")]))
    assert not os.path.exists(tmp_path / "nope.db")


def test_unsupported_format(tmp_path):
    path = tmp_path / "ledger.xml"
    path.write_text("<x/>")
    with pytest.raises(LedgerError) as info:
        check_ledger_reachable(str(path))
    assert info.value.problem == "unsupported_format"


def test_sqlite_table_override_and_missing_table(tmp_path):
    db = tmp_path / "ledger.db"
    write_ledger(EVENTS, f"sqlite:///{db}?table=consent_v2")
    assert by_id(load_ledger_events(f"sqlite:///{db}?table=consent_v2")) == EVENTS
    with pytest.raises(LedgerError) as info:
        check_ledger_reachable(f"sqlite:///{db}")
    assert info.value.problem == "missing_table"
    with pytest.raises(LedgerError) as info:
        check_ledger_reachable(f"sqlite:///{db}?table=x;drop")
    assert info.value.problem == "invalid_table_name"


def test_sqlite_malformed_row_is_named_by_position(tmp_path):
    import sqlalchemy as sa

    db = tmp_path / "ledger.db"
    write_ledger(EVENTS, f"sqlite:///{db}")
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE consent_events SET effective_at = '2024-01-01 00:00:00' WHERE event_id = 'e2'"))
    engine.dispose()
    with pytest.raises(LedgerError) as info:
        load_ledger_events(f"sqlite:///{db}")
    assert (info.value.row_number, info.value.problem) == (2, "timestamp_without_timezone:effective_at")


def test_sql_url_detection_and_password_hiding():
    assert is_sql_url("sqlite:///x.db") and is_sql_url("postgresql+psycopg://u:pw@h/db")
    assert not is_sql_url("gs://bucket/ledger.jsonl") and not is_sql_url("/tmp/ledger.csv")
    _, table, label = split_sql_url("postgresql+psycopg://user:hunter2@db.example:5432/ledger?table=events")
    assert table == "events"
    assert "hunter2" not in label and label.endswith("#events")


def test_ledger_error_line():
    errors = [LedgerErrorRecord("b.csv", 2, "invalid_field:status"), LedgerErrorRecord("a.jsonl", 9, "invalid_json"),
              LedgerErrorRecord("a.jsonl", 3, "unknown_field")]
    assert ledger_error_line(errors) == "consent ledger error: a.jsonl row 3: unknown_field (and 2 more ledger errors)"
    assert ledger_error_line(errors[:1]) == "consent ledger error: b.csv row 2: invalid_field:status"
    assert ledger_error_line([]) == ""


def test_gzipped_jsonl(tmp_path):
    import gzip

    plain = tmp_path / "ledger.jsonl"
    write_ledger(EVENTS, str(plain))
    packed = tmp_path / "ledger.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert by_id(load_ledger_events(str(packed))) == EVENTS
    with TestPipeline() as p:
        assert_that((p | ReadConsentLedger(str(packed)))["events"], equal_to(EVENTS))
