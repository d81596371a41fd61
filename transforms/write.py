"""WriteParquet: every output dataset to Parquet under the run's staging area.

Rows are plain dicts matching ``transforms.schemas``; the conversion from records lives
here so that validation and writing see exactly the same rows.
"""
from __future__ import annotations

import hashlib
import zlib
from typing import Dict

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from transforms.records import ConsentDecision, DeadLetter, RedactedSegment
from transforms.schemas import DATASET_SCHEMAS


def _counts(pairs) -> list:
    return [{"type": str(t), "count": int(c)} for t, c in pairs]


def segment_row(segment: RedactedSegment) -> dict:
    return {
        "run_id": segment.run_id,
        "meeting_id": segment.meeting_id,
        "artifact_id": segment.artifact_id,
        "segment_id": segment.segment_id,
        "kind": segment.kind,
        "source_format": segment.source_format,
        "speaker": segment.speaker,
        "start_ms": segment.start_ms,
        "end_ms": segment.end_ms,
        "text": segment.text,
        "entity_counts": _counts(segment.entity_counts),
        "consent_event_ids": list(segment.consent_event_ids),
        "purpose": segment.purpose,
        "derived_from": list(segment.derived_from),
        "source_fingerprint": segment.source_fingerprint,
        "residual_findings": _counts(segment.residual_findings),
    }


def _stable_id(*parts) -> str:
    return hashlib.sha256("\x1f".join("" if p is None else str(p) for p in parts).encode()).hexdigest()[:32]


def audit_row(decision: ConsentDecision, run_id: str) -> dict:
    return {
        "run_id": run_id,
        "decision_id": _stable_id(decision.meeting_id, decision.artifact_id, decision.segment_id, decision.reason),
        "meeting_id": decision.meeting_id,
        "artifact_id": decision.artifact_id,
        "segment_id": decision.segment_id,
        "kind": decision.kind,
        "allowed": bool(decision.allowed),
        "reason": decision.reason,
        "event_ids": list(decision.event_ids),
        "account_id": decision.account_id,
        "category": decision.category,
        "participant_id": decision.participant_id,
        "roster_participant_ids": list(decision.roster_participant_ids) if decision.segment_id is None else None,
    }


def dead_letter_row(dead_letter: DeadLetter, run_id: str) -> dict:
    return {
        "run_id": run_id,
        "dead_letter_id": _stable_id(dead_letter.meeting_id, dead_letter.artifact_id,
                                     dead_letter.source_fingerprint, dead_letter.stage),
        "meeting_id": dead_letter.meeting_id,
        "artifact_id": dead_letter.artifact_id,
        "kind": dead_letter.kind,
        "extension": dead_letter.extension,
        "source_fingerprint": dead_letter.source_fingerprint,
        "stage": dead_letter.stage,
        "reason": dead_letter.reason.value,
        "error_class": dead_letter.error_class,
    }


def partition_path(dataset: str, run_date: str) -> str:
    return f"datasets/{dataset}/run_date={run_date}"


_ID_COLUMNS = ("segment_id", "decision_id", "dead_letter_id", "tombstone_id")


def _shard_of(row: dict, shards: int) -> int:
    for column in _ID_COLUMNS:
        if column in row:
            return zlib.crc32(str(row[column]).encode("utf-8")) % shards
    return 0


class _WritePartitionShardFn(beam.DoFn):
    """((dataset, run_date, shard), rows) → one Parquet file, written in row groups.

    File names are deterministic, so a retried bundle overwrites its own earlier attempt.
    """

    def __init__(self, root: str, run_id: str, row_group_rows: int = 20_000):
        self._root = root
        self._run_id = run_id
        self._row_group_rows = row_group_rows

    def process(self, element):
        (dataset, run_date, shard), rows = element
        schema = DATASET_SCHEMAS[dataset]
        path = f"{self._root}/{partition_path(dataset, run_date)}/part-{self._run_id}-{shard:05d}.parquet"
        written = 0
        with FileSystems.create(path) as handle:
            writer = pq.ParquetWriter(handle, schema, compression="zstd")
            batch: list = []
            for row in rows:
                batch.append(row)
                if len(batch) >= self._row_group_rows:
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                    written += len(batch)
                    batch = []
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                written += len(batch)
            writer.close()
        Metrics.counter("write", f"rows.{dataset}").inc(written)
        Metrics.counter("write", "files").inc()
        yield path


class WriteParquet(beam.PTransform):
    """{dataset: PCollection[(run_date, row dict)]} → Parquet under ``staging_root``.

    Each row lands in ``datasets/<dataset>/run_date=<run_date>/part-<run_id>-<shard>.parquet``;
    the partition is chosen per row, so one run can rewrite several dates. Rows are spread
    over ``shards`` files per partition by a hash of their id. Returns PCollection[path].
    """

    def __init__(self, staging_root: str, run_id: str, shards: int = 1):
        super().__init__()
        self._root = staging_root.rstrip("/")
        self._run_id = run_id
        self._shards = max(1, int(shards))

    def expand(self, rows_by_dataset: Dict[str, beam.PCollection]):
        unknown = sorted(set(rows_by_dataset) - set(DATASET_SCHEMAS))
        if unknown:
            raise KeyError(f"no schema for dataset(s): {', '.join(unknown)}")
        keyed = []
        for dataset, rows in sorted(rows_by_dataset.items()):
            keyed.append(rows | f"Key[{dataset}]" >> beam.Map(
                lambda dated, name=dataset, shards=self._shards: (
                    (name, dated[0], _shard_of(dated[1], shards)), dated[1])))
        return (
            keyed
            | "AllRows" >> beam.Flatten()
            | "GroupByPartitionShard" >> beam.GroupByKey()
            | "WritePartitionShards" >> beam.ParDo(_WritePartitionShardFn(self._root, self._run_id))
        )
