"""`gatekeeper purge`: make withdrawn content disappear from the published datasets.

Reads every published tombstone, then rewrites each published segment file holding a
tombstoned key without those rows. Each file is rewritten beside itself and swapped in with
``os.replace`` under the publish lock, so readers see either the old or the new file, never a
partial one. The purge record (``OUTPUT/purges/<timestamp>.json``) holds counts and ids only.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import ConfigError
from pipeline.publish import is_local, publish_lock, write_json
from transforms.schemas import DATASET_SCHEMAS, SEGMENT_DATASETS, TOMBSTONE_DATASET


@dataclass
class PurgeResult:
    output: str
    tombstones: int = 0
    files_rewritten: List[str] = field(default_factory=list)
    rows_removed: int = 0
    record: str = ""

    def describe(self) -> str:
        return (f"purge: {self.tombstones} tombstones, {self.rows_removed} rows removed from "
                f"{len(self.files_rewritten)} files" + (f"; record {self.record}" if self.record else ""))


def _tombstones(output: Path) -> Tuple[Set[Tuple[str, str]], Set[Tuple[str, str, str]]]:
    artifacts: Set[Tuple[str, str]] = set()
    segments: Set[Tuple[str, str, str]] = set()
    for path in sorted(output.glob(f"datasets/{TOMBSTONE_DATASET}/run_date=*/*.parquet")):
        table = pq.read_table(path, columns=["meeting_id", "artifact_id", "segment_id"])
        for meeting_id, artifact_id, segment_id in zip(*(c.to_pylist() for c in table.columns)):
            if segment_id is None:
                artifacts.add((meeting_id, artifact_id))
            else:
                segments.add((meeting_id, artifact_id, segment_id))
    return artifacts, segments


def _keep_mask(table: pa.Table, artifacts: Set[Tuple[str, str]], segments: Set[Tuple[str, str, str]]):
    meetings = table.column("meeting_id").to_pylist()
    artifact_ids = table.column("artifact_id").to_pylist()
    segment_ids = table.column("segment_id").to_pylist()
    return pa.array([
        (m, a) not in artifacts and (m, a, s) not in segments
        for m, a, s in zip(meetings, artifact_ids, segment_ids)
    ], type=pa.bool_())


def purge_output(output_dir: str) -> PurgeResult:
    if not is_local(output_dir):
        raise ConfigError("purge rewrites files in place and works on local outputs only")
    output = Path(output_dir)
    if not (output / "datasets").is_dir():
        raise ConfigError("output folder has no published datasets")
    result = PurgeResult(output=str(output))
    with publish_lock(str(output)):
        artifacts, segments = _tombstones(output)
        result.tombstones = len(artifacts) + len(segments)
        removed_by_dataset: Dict[str, int] = {}
        if result.tombstones:
            for dataset in SEGMENT_DATASETS:
                for path in sorted(output.glob(f"datasets/{dataset}/run_date=*/*.parquet")):
                    table = pq.read_table(path, schema=DATASET_SCHEMAS[dataset])
                    keep = _keep_mask(table, artifacts, segments)
                    kept = table.filter(keep)
                    removed = table.num_rows - kept.num_rows
                    if not removed:
                        continue
                    tmp = path.with_name(f".{path.name}.purge")
                    pq.write_table(kept, tmp, compression="zstd")
                    os.replace(tmp, path)
                    result.files_rewritten.append(str(path.relative_to(output)))
                    result.rows_removed += removed
                    removed_by_dataset[dataset] = removed_by_dataset.get(dataset, 0) + removed
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        record = output / "purges" / f"{stamp}.json"
        write_json(str(record), {
            "purged_at": stamp,
            "tombstones": result.tombstones,
            "rows_removed": result.rows_removed,
            "rows_removed_by_dataset": removed_by_dataset,
            "files_rewritten": result.files_rewritten,
        })
        result.record = str(record.relative_to(output))
    return result
