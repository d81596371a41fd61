"""pipeline/integrity.py: per-file integrity records and their verification (local and gs://)."""
from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline import integrity
from pipeline.integrity import INTEGRITY_KEY, expected_digests, file_digest, schema_fingerprint, verify_against, verify_output
from pipeline.publish import live_files, write_json, write_parquet, write_text
from transforms.schemas import SEGMENT_SCHEMA, TOMBSTONE_SCHEMA

from storage_emulator import BUCKET, storage_emulator  # noqa: E402

DAY = "2026-11-27"


def _table(n: int) -> pa.Table:
    return pa.Table.from_pylist([{"run_id": "r1", "tombstone_id": f"t{i}", "meeting_id": "m1", "artifact_id": "a1",
                                  "segment_id": f"a1:{i:05d}", "reason": "withdrawn", "event_ids": ["e1"]}
                                 for i in range(n)], schema=TOMBSTONE_SCHEMA)


def test_file_digest_streams_size_sha_rows_and_schema(tmp_path, monkeypatch):
    path = tmp_path / "f.parquet"
    pq.write_table(_table(3), path)
    monkeypatch.setattr(integrity, "CHUNK_BYTES", 7)          # many chunks: the hash is streamed
    digest = file_digest(str(path))
    assert digest == {"bytes": path.stat().st_size, "rows": 3, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                      "schema": schema_fingerprint(TOMBSTONE_SCHEMA)}
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    assert file_digest(str(tmp_path / "junk.parquet"))["rows"] is None


def test_schema_fingerprint_sees_types_names_and_nullability_not_metadata():
    base = schema_fingerprint(SEGMENT_SCHEMA)
    assert schema_fingerprint(SEGMENT_SCHEMA.with_metadata({b"k": b"v"})) == base
    changed = [SEGMENT_SCHEMA.set(7, pa.field("start_ms", pa.int32())),
               SEGMENT_SCHEMA.set(7, pa.field("begin_ms", pa.int64())),
               SEGMENT_SCHEMA.set(7, pa.field("start_ms", pa.int64(), nullable=False))]
    assert len({base, *map(schema_fingerprint, changed)}) == 4


def _publish(root: str, run_id: str, tables: dict, finished_at: str, integrity_records: bool = True) -> dict:
    """A committed run: its files and a manifest naming them (with integrity records)."""
    files = []
    for partition, table in tables.items():
        relative = f"datasets/{partition}/part-{run_id}-00000.parquet"
        write_parquet(table, f"{root}/{relative}")
        files.append(relative)
    manifest = {"run_id": run_id, "status": "published", "finished_at": finished_at,
                "datasets": {"tombstone": {"rows": 0, "files": files}}}
    if integrity_records:
        manifest[INTEGRITY_KEY] = {r: file_digest(f"{root}/{r}") for r in files}
    write_json(f"{root}/runs/{run_id}/manifest.json", manifest)
    return manifest


def test_a_later_commit_record_supersedes_a_files_entry(tmp_path):
    root = str(tmp_path)
    manifest = _publish(root, "r1", {f"tombstone/run_date={DAY}": _table(2)}, "2026-11-27T01:00:00+00:00")
    relative = manifest["datasets"]["tombstone"]["files"][0]
    write_parquet(_table(1), f"{root}/{relative}")          # rewritten ...
    assert [p.problem for p in verify_output(root).problems] == ["changed"]
    write_json(f"{root}/purges/p1.json", {"commit_id": "purge-p1", "committed_at": "2026-11-28T00:00:00+00:00",
                                          "replaces": {relative: relative},
                                          INTEGRITY_KEY: {relative: file_digest(f"{root}/{relative}")}})
    assert verify_output(root).ok                             # ... and recorded by a later commit
    assert expected_digests(integrity.publish.committed_records(root))[relative]["rows"] == 1


def test_changes_name_what_differs(tmp_path):
    root = str(tmp_path)
    manifest = _publish(root, "r1", {f"tombstone/run_date={DAY}": _table(2)}, "2026-11-27T01:00:00+00:00")
    relative = manifest["datasets"]["tombstone"]["files"][0]
    table = _table(2)
    write_parquet(table.set_column(1, TOMBSTONE_SCHEMA.field("tombstone_id"), pa.array(["x0", "x1"])), f"{root}/{relative}")
    problems = verify_output(root).problems
    assert [(p.path, p.problem) for p in problems] == [(relative, "changed")]
    assert "sha256" in problems[0].differs and "rows" not in problems[0].differs and "schema" not in problems[0].differs
    write_parquet(_table(3), f"{root}/{relative}")
    assert {"rows", "sha256"} <= set(verify_output(root).problems[0].differs)
    write_parquet(table.cast(TOMBSTONE_SCHEMA.set(2, pa.field("meeting_id", pa.large_string(), nullable=False))),
                  f"{root}/{relative}")
    assert "schema" in verify_output(root).problems[0].differs


def test_outputs_without_integrity_records_are_not_verified(tmp_path):
    root = str(tmp_path)
    _publish(root, "r1", {f"tombstone/run_date={DAY}": _table(2)}, "2026-11-27T01:00:00+00:00", integrity_records=False)
    write_parquet(_table(1), f"{root}/datasets/tombstone/run_date={DAY}/part-extra.parquet")
    result = verify_output(root)
    assert result.legacy and result.ok and "nothing verified" in result.summary()


def test_files_of_a_legacy_manifest_are_reported_not_verifiable(tmp_path):
    root = str(tmp_path)
    _publish(root, "r0", {f"tombstone/run_date=2026-11-26": _table(1)}, "2026-11-26T01:00:00+00:00", integrity_records=False)
    _publish(root, "r1", {f"tombstone/run_date={DAY}": _table(2)}, "2026-11-27T01:00:00+00:00")
    result = verify_output(root)
    assert result.ok and [p.problem for p in result.problems] == ["unrecorded"]
    assert integrity.integrity_outcomes(result, ["tombstone"])[0].severity == "warning"


@pytest.fixture(scope="module")
def emulator():
    with storage_emulator() as env:
        yield env


def test_object_store_copies_of_runs_in_flight_are_not_unexpected(emulator):
    root = f"gs://{BUCKET}/{uuid.uuid4().hex}/out"
    _publish(root, "r1", {f"tombstone/run_date={DAY}": _table(2)}, "2026-11-27T01:00:00+00:00")
    assert verify_output(root).ok and verify_output(root).checked == 1
    # a run copying its files (its staging still there) is not a problem; a stray file is
    write_text(f"{root}/_staging/r2/runs/r2/summary.txt", "in flight")
    write_parquet(_table(1), f"{root}/datasets/tombstone/run_date={DAY}/part-r2-00000.parquet")
    write_parquet(_table(1), f"{root}/datasets/tombstone/run_date={DAY}/part-stray-00000.parquet")
    result = verify_output(root)
    assert result.pending == 1
    assert [(p.path, p.problem) for p in result.problems] == [
        (f"datasets/tombstone/run_date={DAY}/part-stray-00000.parquet", "unexpected")]
    assert live_files(root) == [f"datasets/tombstone/run_date={DAY}/part-r1-00000.parquet"]


def test_verify_against_a_run_folder_uses_its_own_manifest(tmp_path):
    root = str(tmp_path / "_quarantine" / "r1")
    manifest = _publish(root, "r1", {f"tombstone/run_date={DAY}": _table(2)}, "2026-11-27T01:00:00+00:00")
    manifest["status"] = "quarantined"
    assert verify_against(root, [manifest]).ok
    Path(root, manifest["datasets"]["tombstone"]["files"][0]).unlink()
    assert [p.problem for p in verify_against(root, [manifest]).problems] == ["missing"]
    assert json.loads(Path(root, "runs", "r1", "manifest.json").read_text())["run_id"] == "r1"
