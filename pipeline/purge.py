"""`gatekeeper purge`: make withdrawn content disappear from the published datasets.

Reads every published tombstone, then replaces each published segment file holding a
tombstoned key by a copy without those rows, and commits a purge record
(``OUTPUT/purges/<purge_id>.json``: counts and ids only, the files it replaced and the new
files' integrity entries, see ``pipeline.integrity``), so that ``gatekeeper files --verify``
and ``gatekeeper validate`` accept the purged files and nothing else.

* Local outputs: under the publish lock, each copy is written beside its file
  (``.<name>.purge``), the record is committed, then each copy is swapped in with
  ``os.replace``: readers see either the old or the new file, never a partial one. A purge
  killed after its commit is finished by the next purge (the copies match the record).
* Object stores (``gs://``): nothing is rewritten in place. The copies get new names
  (``part-purge-<purge_id>-<n>.parquet``), the record is the commit (one object write, like a
  run's manifest), and the replaced files are then deleted by the collector. Readers resolving
  through ``gatekeeper files`` switch from the old to the new files at the commit.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pyarrow as pa

from pipeline import publish
from pipeline.config import ConfigError
from pipeline.integrity import INTEGRITY_KEY, expected_digests, file_digest
from transforms.schemas import DATASET_SCHEMAS, SEGMENT_DATASETS, TOMBSTONE_DATASET

PURGES = "purges"


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


def _tombstones(output: str) -> Tuple[Set[Tuple[str, str]], Set[Tuple[str, str, str]]]:
    artifacts: Set[Tuple[str, str]] = set()
    segments: Set[Tuple[str, str, str]] = set()
    root = output.rstrip("/")
    for relative in publish.published_dataset_files(output, TOMBSTONE_DATASET):
        table = publish.read_parquet(f"{root}/{relative}", columns=["meeting_id", "artifact_id", "segment_id"])
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


def _local_copy(relative: str) -> str:
    head, name = relative.rsplit("/", 1)
    return f"{head}/.{name}.purge"


def finish_interrupted_purge(output: str) -> List[str]:
    """Local outputs: swap in the copies of a purge killed after its commit; drop other copies.

    A copy whose bytes are what the latest commit records for its file is swapped in; any other
    copy (a purge killed before its commit) is deleted. Returns the files finished."""
    out = Path(output)
    copies = sorted(out.glob("datasets/*/run_date=*/.*.parquet.purge"))
    if not copies:
        return []
    expected = expected_digests(publish.committed_records(output))
    finished = []
    for copy in copies:
        relative = (copy.parent / copy.name[1:-len(".purge")]).relative_to(out).as_posix()
        recorded = expected.get(relative) or {}
        if recorded.get("sha256") and recorded.get("sha256") == file_digest(str(copy))["sha256"]:
            os.replace(copy, out / relative)
            finished.append(relative)
        else:
            copy.unlink()
    return finished


def purge_output(output_dir: str, now: Optional[datetime] = None) -> PurgeResult:
    output = output_dir.rstrip("/") if not publish.is_local(output_dir) else output_dir
    if not publish.has_files(f"{output}/datasets"):
        raise ConfigError("output folder has no published datasets")
    result = PurgeResult(output=output)
    now = now or datetime.now(timezone.utc)
    purge_id = now.strftime("%Y%m%dT%H%M%S%fZ")
    local = publish.is_local(output)
    with publish.publish_lock(output):
        if local:
            finish_interrupted_purge(output)
        artifacts, segments = _tombstones(output)
        result.tombstones = len(artifacts) + len(segments)
        removed_by_dataset: Dict[str, int] = {}
        replaces: Dict[str, str] = {}
        integrity: Dict[str, dict] = {}
        written: List[str] = []
        if result.tombstones:
            for dataset in SEGMENT_DATASETS:
                for relative in publish.published_dataset_files(output, dataset):
                    table = publish.read_parquet(f"{output}/{relative}", schema=DATASET_SCHEMAS[dataset])
                    kept = table.filter(_keep_mask(table, artifacts, segments))
                    removed = table.num_rows - kept.num_rows
                    if not removed:
                        continue
                    if local:
                        new, written_to = relative, _local_copy(relative)
                    else:
                        new = f"{relative.rsplit('/', 1)[0]}/part-purge-{purge_id}-{len(replaces):05d}.parquet"
                        written_to = new
                    publish.write_parquet(kept, f"{output}/{written_to}")
                    written.append(written_to)
                    integrity[new] = file_digest(f"{output}/{written_to}")
                    replaces[relative] = new
                    result.files_rewritten.append(relative)
                    result.rows_removed += removed
                    removed_by_dataset[dataset] = removed_by_dataset.get(dataset, 0) + removed
        record = f"{PURGES}/{purge_id}.json"
        publish.write_json(f"{output}/{record}", {
            "commit_id": f"purge-{purge_id}",
            "kind": "purge",
            "purged_at": purge_id,
            "committed_at": now.isoformat(),
            "tombstones": result.tombstones,
            "rows_removed": result.rows_removed,
            "rows_removed_by_dataset": removed_by_dataset,
            "files_rewritten": result.files_rewritten,
            "replaces": replaces,
            INTEGRITY_KEY: integrity,
        })
        publish.crash_point("purge:committed")
        result.record = record
        if local:
            for relative, copy in zip(replaces.values(), written):
                os.replace(Path(output) / copy, Path(output) / relative)
        else:
            publish.collect_garbage(output)
    return result
