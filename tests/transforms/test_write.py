"""transforms/write.py: record → row converters and WriteParquet with the exact schemas."""
from __future__ import annotations

from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

from transforms.records import ConsentDecision, DeadLetter, DeadLetterReason, RedactedSegment
from transforms.schemas import (
    AUDIT_DATASET,
    AUDIT_SCHEMA,
    DATASET_SCHEMAS,
    DEAD_LETTER_DATASET,
    DEAD_LETTER_SCHEMA,
    SEGMENT_SCHEMA,
)
from transforms.write import WriteParquet, audit_row, dead_letter_row, partition_path, segment_row

RUN_ID, RUN_DATE = "20261127T150102Z-ab12cd", "2026-11-27"

SEGMENTS = [
    RedactedSegment(RUN_ID, "m1", "t1", "t1:00000", "transcript", "webvtt", "spk_01ab", 1000, 2000,
                    "hello <PERSON>", (("PERSON", 1),), ("e1", "e2"), "ai_training", (), "f" * 64,
                    (("EMAIL_ADDRESS", 1),)),
    RedactedSegment(RUN_ID, "m1", "u1", "u1:00000", "upload", "pdf", None, None, None,
                    "a page", (), (), "ai_training", ("t1",), "0" * 64),
]
DECISIONS = [
    ConsentDecision("m1", "t1", None, "transcript", True, "granted", ("e1",), account_id="a1", category="general",
                    roster_participant_ids=("p1", "p2")),
    ConsentDecision("m1", "t1", "t1:00001", "transcript", False, "unknown_speaker", account_id="a1",
                    category="general", participant_id="p2"),
]
DEAD_LETTERS = [
    DeadLetter("m1", "t9", "a" * 64, "ingest", DeadLetterReason.EMPTY, "EmptyPayload", "transcript", "vtt"),
    DeadLetter("m2", None, "b" * 64, "ingest", DeadLetterReason.MALFORMED_MEETING, "MeetingDescriptorError"),
]


def _table(rows, schema) -> pa.Table:
    table = pa.Table.from_pylist(rows, schema=schema)
    table.validate(full=True)
    for field in schema:
        if not field.nullable:
            assert table.column(field.name).null_count == 0, field.name
    return table


def test_segment_rows_fit_the_segment_schema():
    rows = [segment_row(s) for s in SEGMENTS]
    assert set(rows[0]) == set(SEGMENT_SCHEMA.names)
    table = _table(rows, SEGMENT_SCHEMA)
    back = table.to_pylist()
    assert back[0]["entity_counts"] == [{"type": "PERSON", "count": 1}]
    assert back[0]["residual_findings"] == [{"type": "EMAIL_ADDRESS", "count": 1}]
    assert back[0]["consent_event_ids"] == ["e1", "e2"]
    assert back[1]["speaker"] is None and back[1]["start_ms"] is None
    assert back[1]["derived_from"] == ["t1"] and back[1]["residual_findings"] == []


def test_audit_rows_fit_the_audit_schema():
    rows = [audit_row(d, RUN_ID) for d in DECISIONS]
    assert set(rows[0]) == set(AUDIT_SCHEMA.names)
    back = _table(rows, AUDIT_SCHEMA).to_pylist()
    assert [r["segment_id"] for r in back] == [None, "t1:00001"]
    assert [r["allowed"] for r in back] == [True, False]
    assert back[0]["event_ids"] == ["e1"] and back[1]["event_ids"] == []
    assert all(len(r["decision_id"]) == 32 for r in back)
    assert back[0]["decision_id"] != back[1]["decision_id"]
    assert audit_row(DECISIONS[0], "other-run")["decision_id"] == rows[0]["decision_id"]   # stable across runs
    # the consent subjects, for a later re-audit: the roster on artifact rows, the author on segment rows
    assert (rows[0]["account_id"], rows[0]["roster_participant_ids"], rows[0]["participant_id"]) == ("a1", ["p1", "p2"], None)
    assert (rows[1]["participant_id"], rows[1]["roster_participant_ids"], rows[1]["category"]) == ("p2", None, "general")


def test_dead_letter_rows_fit_the_dead_letter_schema():
    rows = [dead_letter_row(d, RUN_ID) for d in DEAD_LETTERS]
    assert set(rows[0]) == set(DEAD_LETTER_SCHEMA.names)
    back = _table(rows, DEAD_LETTER_SCHEMA).to_pylist()
    assert [r["reason"] for r in back] == ["empty", "malformed_meeting"]
    assert back[1]["artifact_id"] is None and back[1]["kind"] is None and back[1]["extension"] is None
    assert back[0]["dead_letter_id"] != back[1]["dead_letter_id"]


def test_partition_path():
    assert partition_path("chat", RUN_DATE) == f"datasets/chat/run_date={RUN_DATE}"


def _written(root: Path, dataset: str):
    return sorted((root / "datasets" / dataset / f"run_date={RUN_DATE}").glob(f"part-{RUN_ID}*.parquet"))


def _dated(rows):
    return [(RUN_DATE, row) for row in rows]


def test_write_parquet_writes_every_dataset_with_its_exact_schema(tmp_path):
    root = tmp_path / "_staging" / RUN_ID
    with TestPipeline() as p:
        rows = {
            "transcript": p | "Seg" >> beam.Create(_dated([segment_row(SEGMENTS[0])])),
            "upload": p | "Upl" >> beam.Create(_dated([segment_row(SEGMENTS[1])])),
            AUDIT_DATASET: p | "Aud" >> beam.Create(_dated([audit_row(d, RUN_ID) for d in DECISIONS])),
            DEAD_LETTER_DATASET: p | "Dead" >> beam.Create(_dated([dead_letter_row(d, RUN_ID) for d in DEAD_LETTERS])),
            "chat": p | "NoChat" >> beam.Create([]),
        }
        _ = rows | WriteParquet(str(root), RUN_ID)

    # An empty dataset writes no partition: partitions exist only for dates with rows.
    assert not (root / "datasets" / "chat").exists()
    expected_rows = {"transcript": 1, "upload": 1, AUDIT_DATASET: 2, DEAD_LETTER_DATASET: 2}
    for dataset, count in expected_rows.items():
        files = _written(root, dataset)
        assert files, f"no file written for {dataset}"
        partition = root / "datasets" / dataset / f"run_date={RUN_DATE}"
        assert sorted(partition.iterdir()) == files          # no temp files or folders left behind
        assert all(f.name.endswith(".parquet") for f in files)
        tables = [pq.read_table(f) for f in files]
        for table in tables:
            assert table.schema.equals(DATASET_SCHEMAS[dataset]), dataset
        assert sum(t.num_rows for t in tables) == count, dataset
    transcript = pq.read_table(_written(root, "transcript")[0]).to_pylist()
    assert transcript == [segment_row(SEGMENTS[0])]
    assert {p.name for p in (root / "datasets").iterdir()} == set(expected_rows)


def test_write_parquet_rejects_unknown_datasets(tmp_path):
    with pytest.raises(KeyError):
        with TestPipeline() as p:
            _ = {"nonsense": p | beam.Create([(RUN_DATE, {"a": 1})])} | WriteParquet(str(tmp_path), RUN_ID)
