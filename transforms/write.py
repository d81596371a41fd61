"""WriteParquet: every output dataset to Parquet under the run's staging area.

Rows are plain dicts matching ``transforms.schemas``; the conversion from records lives
here so that validation and writing see exactly the same rows.
"""
from __future__ import annotations

import hashlib
from typing import Dict

import apache_beam as beam

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


def dataset_prefix(root: str, dataset: str, run_date: str, run_id: str) -> str:
    return f"{root.rstrip('/')}/datasets/{dataset}/run_date={run_date}/part-{run_id}"


class WriteParquet(beam.PTransform):
    """{dataset: PCollection[row dict]} → Parquet files under ``staging_root``.

    Returns {dataset: PCollection[written file path]}. Empty datasets still get one file with
    the schema, so readers always find every dataset of a published run.
    """

    def __init__(self, staging_root: str, run_date: str, run_id: str):
        super().__init__()
        self._root = staging_root
        self._run_date = run_date
        self._run_id = run_id

    def expand(self, rows_by_dataset: Dict[str, beam.PCollection]):
        written = {}
        for dataset, rows in sorted(rows_by_dataset.items()):
            written[dataset] = rows | f"Write[{dataset}]" >> beam.io.WriteToParquet(
                dataset_prefix(self._root, dataset, self._run_date, self._run_id),
                schema=DATASET_SCHEMAS[dataset],
                file_name_suffix=".parquet",
                codec="zstd",
            )
        return written
