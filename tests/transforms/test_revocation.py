"""transforms/revocation.py: published keys in, tombstone rows out (and purged by pipeline/purge.py)."""
from __future__ import annotations

import hashlib
from pathlib import Path

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from pipeline.publish import QUARANTINE, STAGING
from pipeline.purge import purge_output
from transforms.consent.tombstones import NOT_IN_CURRENT_RUN
from transforms.records import ConsentDecision, Meeting, MeetingCategory
from transforms.revocation import ReadPublishedKeys, TombstonesForRun
from transforms.schemas import AUDIT_SCHEMA, SEGMENT_SCHEMA, TOMBSTONE_DATASET, TOMBSTONE_SCHEMA
from transforms.write import WriteParquet

D1, D2 = "2026-11-26", "2026-11-27"
RUN_ID = "run-2"


def _segment(meeting_id: str, artifact_id: str, index: int, kind: str) -> dict:
    return {
        "run_id": "run-1", "meeting_id": meeting_id, "artifact_id": artifact_id,
        "segment_id": f"{artifact_id}:{index:05d}", "kind": kind, "source_format": "webvtt", "speaker": "spk",
        "start_ms": 0, "end_ms": 1, "text": "redacted text", "entity_counts": [], "consent_event_ids": ["g1"],
        "purpose": "ai_training", "derived_from": [], "source_fingerprint": "f" * 64, "residual_findings": [],
    }


def _parquet(path: Path, rows, schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


def _published_tree(output: Path) -> None:
    _parquet(output / "datasets" / "transcript" / f"run_date={D1}" / "part-run-1-00000.parquet",
             [_segment("m1", "t1", i, "transcript") for i in range(3)], SEGMENT_SCHEMA)
    _parquet(output / "datasets" / "chat" / f"run_date={D2}" / "part-run-1-00000.parquet",
             [_segment("m1", "c1", 0, "chat")], SEGMENT_SCHEMA)
    _parquet(output / "datasets" / "transcript" / f"run_date={D2}" / "part-run-1-00001.parquet",
             [_segment("m2", "t7", 0, "transcript")], SEGMENT_SCHEMA)
    _parquet(output / "datasets" / "upload" / f"run_date={D2}" / "part-run-1-00000.parquet", [], SEGMENT_SCHEMA)
    # Not published segment data: must never be read as published keys.
    for hidden in (f"{STAGING}/run-9", f"{QUARANTINE}/run-8"):
        _parquet(output / hidden / "datasets" / "transcript" / f"run_date={D2}" / "part-x-00000.parquet",
                 [_segment("m1", "zz-unpublished", 0, "transcript")], SEGMENT_SCHEMA)
    _parquet(output / "datasets" / "audit" / f"run_date={D1}" / "part-run-1-00000.parquet",
             [{"run_id": "run-1", "decision_id": "d", "meeting_id": "m1", "artifact_id": "zz-audit",
               "segment_id": None, "kind": "chat", "allowed": True, "reason": "granted", "event_ids": []}],
             AUDIT_SCHEMA)
    (output / "datasets" / "transcript" / f"run_date={D1}" / "notes.txt").write_text("not parquet")


PUBLISHED_KEYS = [
    ("m1", "t1", "t1:00000"), ("m1", "t1", "t1:00001"), ("m1", "t1", "t1:00002"),
    ("m1", "c1", "c1:00000"),
    ("m2", "t7", "t7:00000"),
]


def test_read_published_keys_reads_only_published_segment_datasets(tmp_path):
    _published_tree(tmp_path)
    with TestPipeline() as p:
        assert_that(p | ReadPublishedKeys(str(tmp_path) + "/"), equal_to(PUBLISHED_KEYS))


def test_read_published_keys_of_a_fresh_output_is_empty(tmp_path):
    with TestPipeline() as p:
        assert_that(p | ReadPublishedKeys(str(tmp_path / "never-published")), equal_to([]))


def _meeting(meeting_id: str) -> Meeting:
    return Meeting(meeting_id, "acc", "", "2026-11-20T10:00:00Z", MeetingCategory.GENERAL, None, (), ())


DECISIONS = [
    ConsentDecision("m1", "t1", None, "transcript", True, "granted", ("g1",)),
    ConsentDecision("m1", "t1", "t1:00000", "transcript", True, "granted", ("g1",)),
    ConsentDecision("m1", "t1", "t1:00001", "transcript", False, "participant_withdrawn", ("w1",)),
    ConsentDecision("m1", "c1", None, "chat", False, "revoked", ("r1",)),
    ConsentDecision("m1", "c1", "c1:00000", "chat", False, "revoked", ("r1",)),
]


def _row(meeting_id, artifact_id, segment_id, reason, event_ids):
    digest = hashlib.sha256(f"{meeting_id}\x1f{artifact_id}\x1f{segment_id or ''}".encode()).hexdigest()[:32]
    return {"run_id": RUN_ID, "tombstone_id": digest, "meeting_id": meeting_id, "artifact_id": artifact_id,
            "segment_id": segment_id, "reason": reason, "event_ids": list(event_ids)}


EXPECTED_ROWS = [
    _row("m1", "c1", None, "revoked", ["r1"]),                           # whole artifact retracted
    _row("m1", "t1", "t1:00001", "participant_withdrawn", ["w1"]),
    _row("m1", "t1", "t1:00002", NOT_IN_CURRENT_RUN, []),               # no decision this run: fail closed
]


def test_tombstones_for_run_then_purge(tmp_path):
    _published_tree(tmp_path)
    with TestPipeline() as p:
        inputs = {
            "decisions": p | "Decisions" >> beam.Create(DECISIONS),
            "meetings": p | "Meetings" >> beam.Create([_meeting("m1")]),     # m2 not evaluated: untouched
        }
        rows = inputs | TombstonesForRun(str(tmp_path), RUN_ID)
        assert_that(rows, equal_to(EXPECTED_ROWS))
        dated = rows | beam.Map(lambda row: (D2, row))
        _ = {TOMBSTONE_DATASET: dated} | WriteParquet(str(tmp_path), RUN_ID)

    tombstone_files = list((tmp_path / "datasets" / TOMBSTONE_DATASET).glob("run_date=*/*.parquet"))
    assert tombstone_files
    assert all(pq.read_table(f).schema.equals(TOMBSTONE_SCHEMA) for f in tombstone_files)

    result = purge_output(str(tmp_path))
    assert result.tombstones == 3 and result.rows_removed == 3
    remaining = []
    for path in sorted((tmp_path / "datasets").glob("*/run_date=*/*.parquet")):
        table = pq.read_table(path)
        if table.schema.equals(SEGMENT_SCHEMA):
            remaining += zip(*(table.column(c).to_pylist() for c in ("meeting_id", "artifact_id", "segment_id")))
    assert sorted(remaining) == [("m1", "t1", "t1:00000"), ("m2", "t7", "t7:00000")]
