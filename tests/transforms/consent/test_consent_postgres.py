"""The SQL ledger against a real PostgreSQL server (see conftest.postgres_server)."""
import apache_beam as beam
import pytest
import sqlalchemy as sa
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from consent_factories import AS_OF, artifact, event, meeting
from pipeline.config import ConsentPolicy
from transforms.consent.events import LedgerError
from transforms.consent.gate import GateOnConsent
from transforms.consent.ledger import check_ledger_reachable, load_ledger_events
from transforms.consent.ledger_writers import write_ledger

EVENTS = [
    event("g-acc", "account", "acc1"),
    event("g-p1", "participant", "p1", kinds=("transcript",)),
    event("g-p2", "participant", "p2", expires="2025-03-01T00:00:00+00:00"),
    event("w-p1", "participant", "p1", "withdrawn", at="2025-08-01T00:00:00+00:00"),
]


def test_postgres_ledger_round_trip(postgres_server):
    url = f"{postgres_server.url}?table=ledger_roundtrip"
    write_ledger(EVENTS, url)
    check_ledger_reachable(url)
    assert sorted(load_ledger_events(url), key=lambda e: e.event_id) == sorted(EVENTS, key=lambda e: e.event_id)
    engine = sa.create_engine(postgres_server.url)
    with engine.connect() as connection:
        column_type = connection.execute(sa.text(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_name = 'ledger_roundtrip' AND column_name = 'effective_at'")).scalar_one()
    engine.dispose()
    assert column_type == "timestamp with time zone"


def test_gate_against_postgres(postgres_server):
    write_ledger(EVENTS, postgres_server.url)           # default table consent_events
    m = meeting("m1", "acc1", participants=("p1", "p2"))
    transcript = artifact("m1-t", "transcript", authors=("p1", "p2"), meeting_id="m1")
    with TestPipeline() as p:
        out = {
            "meetings": p | "M" >> beam.Create([m]),
            "artifacts": p | "A" >> beam.Create([transcript]),
            "dead_letters": p | "D" >> beam.Create([]),
        } | GateOnConsent(postgres_server.url, AS_OF, ConsentPolicy())
        assert_that(out["gated"] | beam.Map(lambda g: ([s.segment_id for s in g.artifact.segments],
                                                        g.segment_event_ids)),
                    equal_to([(["m1-t:00000"], (("g-acc", "g-p1"),))]), label="gated")
        assert_that(out["decisions"] | beam.Filter(lambda d: d.segment_id == "m1-t:00001")
                    | beam.Map(lambda d: d.reason), equal_to(["participant_expired"]), label="expired")
        assert_that(out["ledger_errors"], equal_to([]), label="errors")


def test_unreachable_postgres_fails_closed(postgres_server):
    url = postgres_server.url.replace(f":{postgres_server.port}/", ":1/")
    with pytest.raises(LedgerError) as info:
        check_ledger_reachable(url)
    assert info.value.problem.startswith("ledger_unreachable")
    assert info.value.row_number == 0
    with pytest.raises(LedgerError) as info:
        check_ledger_reachable(f"{postgres_server.url}?table=no_such_table")
    assert info.value.problem == "missing_table"


def test_postgres_native_column_types(postgres_server):
    """A ledger table designed by a DBA: text[] kinds, boolean flag, timestamptz, extra columns."""
    engine = sa.create_engine(postgres_server.url)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE IF EXISTS dba_ledger"))
        connection.execute(sa.text(
            "CREATE TABLE dba_ledger (id bigserial PRIMARY KEY, event_id text UNIQUE NOT NULL, "
            "subject_type text NOT NULL, subject_id text NOT NULL, purpose text NOT NULL, "
            "artifact_kinds text[] NOT NULL, status text NOT NULL, effective_at timestamptz NOT NULL, "
            "expires_at timestamptz, special_category boolean, loaded_by text)"))
        connection.execute(sa.text(
            "INSERT INTO dba_ledger (event_id, subject_type, subject_id, purpose, artifact_kinds, status, "
            "effective_at, expires_at, special_category, loaded_by) VALUES "
            "('n1', 'meeting', 'm1', 'ai_training', ARRAY['transcript','chat'], 'granted', "
            " '2024-01-01 10:00:00+02', NULL, true, 'etl'), "
            "('n2', 'participant', 'p1', 'ai_training', ARRAY['*'], 'revoked', "
            " '2024-02-01 00:00:00+00', NULL, NULL, 'etl')"))
    engine.dispose()
    events = sorted(load_ledger_events(f"{postgres_server.url}?table=dba_ledger"), key=lambda e: e.event_id)
    assert events == [
        event("n1", "meeting", "m1", kinds=("transcript", "chat"), at="2024-01-01T08:00:00+00:00", special=True),
        event("n2", "participant", "p1", "revoked", at="2024-02-01T00:00:00+00:00"),
    ]
