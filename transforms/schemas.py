"""Explicit pyarrow schemas for every dataset the gate writes, in one place.

Dataset names are also the folder names under ``OUTPUT/datasets/``.
"""
from __future__ import annotations

from typing import Dict, List, Tuple

import pyarrow as pa

from transforms.records import ArtifactKind

_COUNTS = pa.list_(pa.struct([("type", pa.string()), ("count", pa.int32())]))

SEGMENT_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("meeting_id", pa.string(), nullable=False),
        pa.field("artifact_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("source_format", pa.string(), nullable=False),
        pa.field("speaker", pa.string()),
        pa.field("start_ms", pa.int64()),
        pa.field("end_ms", pa.int64()),
        pa.field("text", pa.string(), nullable=False),
        pa.field("entity_counts", _COUNTS, nullable=False),
        pa.field("consent_event_ids", pa.list_(pa.string()), nullable=False),
        pa.field("purpose", pa.string(), nullable=False),
        pa.field("derived_from", pa.list_(pa.string()), nullable=False),
        pa.field("source_fingerprint", pa.string(), nullable=False),
        pa.field("residual_findings", _COUNTS, nullable=False),
    ]
)

_AUDIT_FIELDS_V1 = [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("decision_id", pa.string(), nullable=False),
        pa.field("meeting_id", pa.string(), nullable=False),
        pa.field("artifact_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string()),
        pa.field("kind", pa.string(), nullable=False),
        pa.field("allowed", pa.bool_(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("event_ids", pa.list_(pa.string()), nullable=False),
]
# The consent subjects of a decision, ids only, so that ``gatekeeper audit`` can re-decide a
# published row against the ledger without the run (published segment rows carry keyed
# speaker pseudonyms, not participant ids, and must not carry them). Added later: nullable and
# appended, so audit files written before read as if these were null (``ADDED_COLUMNS``).
_AUDIT_SUBJECT_FIELDS = [
    pa.field("account_id", pa.string()),
    pa.field("category", pa.string()),                          # the meeting's category
    pa.field("participant_id", pa.string()),                    # segment: its author; artifact: its owner
    pa.field("roster_participant_ids", pa.list_(pa.string())),  # artifact rows: the meeting's roster
]
AUDIT_SCHEMA = pa.schema(_AUDIT_FIELDS_V1 + _AUDIT_SUBJECT_FIELDS)

DEAD_LETTER_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("dead_letter_id", pa.string(), nullable=False),
        pa.field("meeting_id", pa.string(), nullable=False),
        pa.field("artifact_id", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("extension", pa.string()),
        pa.field("source_fingerprint", pa.string(), nullable=False),
        pa.field("stage", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("error_class", pa.string(), nullable=False),
    ]
)

TOMBSTONE_SCHEMA = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("tombstone_id", pa.string(), nullable=False),
        pa.field("meeting_id", pa.string(), nullable=False),
        pa.field("artifact_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string()),          # null: the whole artifact is retracted
        pa.field("reason", pa.string(), nullable=False),
        pa.field("event_ids", pa.list_(pa.string()), nullable=False),
    ]
)

SEGMENT_DATASETS = tuple(kind.value for kind in ArtifactKind)
AUDIT_DATASET = "audit"
DEAD_LETTER_DATASET = "dead_letter"
TOMBSTONE_DATASET = "tombstone"

DATASET_SCHEMAS: Dict[str, pa.Schema] = {
    **{name: SEGMENT_SCHEMA for name in SEGMENT_DATASETS},
    AUDIT_DATASET: AUDIT_SCHEMA,
    DEAD_LETTER_DATASET: DEAD_LETTER_SCHEMA,
    TOMBSTONE_DATASET: TOMBSTONE_SCHEMA,
}

# Columns added to a dataset's schema after files had been published: all nullable and at the
# end. Older files (and rows) without them are valid and read as if they were null.
ADDED_COLUMNS: Dict[str, Tuple[str, ...]] = {
    AUDIT_DATASET: tuple(f.name for f in _AUDIT_SUBJECT_FIELDS),
}


def accepted_schemas(dataset: str) -> List[pa.Schema]:
    """The current schema of ``dataset`` and its earlier versions (without the added columns)."""
    schema = DATASET_SCHEMAS[dataset]
    added = ADDED_COLUMNS.get(dataset, ())
    return [schema] + ([pa.schema([f for f in schema if f.name not in added])] if added else [])


def missing_added_columns(dataset: str, names) -> Dict[str, None]:
    """The added columns a legacy file or row lacks, as nulls to pad it with."""
    present = set(names)
    return {name: None for name in ADDED_COLUMNS.get(dataset, ()) if name not in present}
