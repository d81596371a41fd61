"""pipeline/purge.py: tombstoned keys disappear from published segment files."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.config import ConfigError
from pipeline.publish import LOCK, STAGING
from pipeline.purge import purge_output
from transforms.schemas import SEGMENT_SCHEMA, TOMBSTONE_SCHEMA

D1, D2 = "2026-11-26", "2026-11-27"
CANARY = "zz-canary-purged-text"


def _segment(meeting_id: str, artifact_id: str, index: int, kind: str = "transcript", text: str = "fine") -> dict:
    return {
        "run_id": "r1", "meeting_id": meeting_id, "artifact_id": artifact_id,
        "segment_id": f"{artifact_id}:{index:05d}", "kind": kind, "source_format": "webvtt",
        "speaker": "spk_0001", "start_ms": index * 1000, "end_ms": index * 1000 + 900, "text": text,
        "entity_counts": [{"type": "PERSON", "count": 1}], "consent_event_ids": ["e1"],
        "purpose": "ai_training", "derived_from": [], "source_fingerprint": "f" * 64,
        "residual_findings": [],
    }


def _write(path: Path, rows, schema) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def _segments_file(output: Path, dataset: str, run_date: str, rows, name: str = "part-r1-00000.parquet") -> Path:
    return _write(output / "datasets" / dataset / f"run_date={run_date}" / name, rows, SEGMENT_SCHEMA)


def _tombstones(output: Path, keys, run_date: str = D2, root: Path = None) -> Path:
    rows = [{"run_id": "r2", "tombstone_id": f"t{i}", "meeting_id": m, "artifact_id": a, "segment_id": s,
             "reason": "participant_withdrawn", "event_ids": ["w1"]} for i, (m, a, s) in enumerate(keys)]
    base = root or output
    return _write(base / "datasets" / "tombstone" / f"run_date={run_date}" / "part-r2-00000.parquet",
                  rows, TOMBSTONE_SCHEMA)


def _keys(path: Path):
    table = pq.read_table(path)
    return list(zip(*(table.column(c).to_pylist() for c in ("meeting_id", "artifact_id", "segment_id"))))


@pytest.fixture
def published(tmp_path):
    files = {
        "t_d1": _segments_file(tmp_path, "transcript", D1, [
            _segment("m1", "t1", 0), _segment("m1", "t1", 1, text=CANARY), _segment("m1", "t1", 2)]),
        "t_d2": _segments_file(tmp_path, "transcript", D2, [
            _segment("m1", "t9", 0), _segment("m2", "t1", 0)]),
        "c_d1": _segments_file(tmp_path, "chat", D1, [
            _segment("m1", "c1", 0, "chat"), _segment("m1", "c1", 1, "chat"), _segment("m1", "c2", 0, "chat")]),
        "c_d2": _segments_file(tmp_path, "chat", D2, [_segment("m1", "c1", 2, "chat")]),
        "p_d1": _segments_file(tmp_path, "poll", D1, [_segment("m3", "p1", 0, "poll")]),
    }
    return tmp_path, files


def test_segment_and_artifact_tombstones_are_purged(published):
    output, files = published
    untouched = files["p_d1"].read_bytes()
    _tombstones(output, [("m1", "t1", "t1:00001"), ("m1", "c1", None)])

    result = purge_output(str(output))

    assert _keys(files["t_d1"]) == [("m1", "t1", "t1:00000"), ("m1", "t1", "t1:00002")]
    assert _keys(files["t_d2"]) == [("m1", "t9", "t9:00000"), ("m2", "t1", "t1:00000")]  # other meeting kept
    assert _keys(files["c_d1"]) == [("m1", "c2", "c2:00000")]       # artifact-level: all of c1 ...
    assert _keys(files["c_d2"]) == []                               # ... in every partition
    assert files["p_d1"].read_bytes() == untouched
    assert result.tombstones == 2
    assert result.rows_removed == 4
    assert sorted(result.files_rewritten) == sorted(
        str(files[k].relative_to(output)) for k in ("t_d1", "c_d1", "c_d2"))
    assert CANARY not in json.dumps([pq.read_table(p).to_pylist() for p in files.values()])


def test_rewritten_files_keep_the_exact_schema_and_other_rows(published):
    output, files = published
    before = pq.read_table(files["t_d1"]).to_pylist()
    _tombstones(output, [("m1", "t1", "t1:00001")])
    purge_output(str(output))
    after = pq.read_table(files["t_d1"])
    assert after.schema.equals(SEGMENT_SCHEMA)
    assert after.to_pylist() == [before[0], before[2]]
    assert not list(files["t_d1"].parent.glob(".*"))          # no temp file left behind


def test_purge_record_holds_counts_and_ids_only(published):
    output, files = published
    _tombstones(output, [("m1", "t1", "t1:00001"), ("m1", "c1", None)])
    result = purge_output(str(output))
    record_path = output / result.record
    assert record_path.parent == output / "purges" and record_path.suffix == ".json"
    record = json.loads(record_path.read_text())
    assert record["tombstones"] == 2
    assert record["rows_removed"] == 4
    assert record["rows_removed_by_dataset"] == {"transcript": 1, "chat": 3}
    assert sorted(record["files_rewritten"]) == sorted(result.files_rewritten)
    text = record_path.read_text()
    assert CANARY not in text and "spk_0001" not in text
    assert "4 rows removed from 3 files" in result.describe()
    assert not (output / LOCK).exists()


def test_second_purge_is_a_no_op(published):
    output, files = published
    _tombstones(output, [("m1", "t1", "t1:00001"), ("m1", "c2", None)])
    purge_output(str(output))
    snapshot = {k: p.read_bytes() for k, p in files.items()}
    again = purge_output(str(output))
    assert again.rows_removed == 0 and again.files_rewritten == []
    assert {k: p.read_bytes() for k, p in files.items()} == snapshot


def test_no_tombstones_rewrites_nothing_but_records_the_purge(published):
    output, files = published
    snapshot = {k: p.read_bytes() for k, p in files.items()}
    result = purge_output(str(output))
    assert (result.tombstones, result.rows_removed, result.files_rewritten) == (0, 0, [])
    assert {k: p.read_bytes() for k, p in files.items()} == snapshot
    assert json.loads((output / result.record).read_text())["tombstones"] == 0


def test_staged_tombstones_are_not_applied(published):
    output, files = published
    _tombstones(output, [("m1", "c1", None)], root=output / STAGING / "r2")
    result = purge_output(str(output))
    assert result.tombstones == 0
    assert len(_keys(files["c_d1"])) == 3


def test_tombstones_from_several_runs_are_combined(published):
    output, files = published
    _tombstones(output, [("m1", "t1", "t1:00000")], run_date=D1)
    _tombstones(output, [("m1", "t1", "t1:00002")], run_date=D2)
    result = purge_output(str(output))
    assert result.tombstones == 2
    assert _keys(files["t_d1"]) == [("m1", "t1", "t1:00001")]


def test_empty_published_segment_files_do_not_break_the_purge(published):
    output, files = published
    empty = _segments_file(output, "upload", D1, [])
    _tombstones(output, [("m1", "t1", "t1:00001")])
    result = purge_output(str(output))
    assert result.rows_removed == 1
    assert pq.read_table(empty).num_rows == 0


def test_output_without_datasets_is_refused(tmp_path):
    with pytest.raises(ConfigError):
        purge_output(str(tmp_path))


# ------------------------------------------------------------- integrity records and gs://

def _commit_all(output: str) -> None:
    """A published run naming every dataset file present, with integrity records (as a run does)."""
    from pipeline.integrity import INTEGRITY_KEY, file_digest
    from pipeline.publish import list_files, relative_to, write_json

    files = [relative_to(output, m.path) for m in list_files(f"{output}/datasets/**") if m.path.endswith(".parquet")]
    datasets = {}
    for relative in files:
        datasets.setdefault(relative.split("/")[1], {"rows": 0, "files": []})["files"].append(relative)
    write_json(f"{output}/runs/r1/manifest.json", {
        "run_id": "r1", "status": "published", "finished_at": "2026-11-27T01:00:00+00:00", "datasets": datasets,
        INTEGRITY_KEY: {r: file_digest(f"{output}/{r}") for r in files}})


def test_purge_records_the_rewritten_files_so_verification_passes(published):
    from pipeline.integrity import verify_output

    output, files = published
    _tombstones(output, [("m1", "t1", "t1:00001"), ("m1", "c1", None)])
    _commit_all(str(output))
    assert verify_output(str(output)).ok
    result = purge_output(str(output))
    verified = verify_output(str(output))
    assert verified.ok and verified.checked == 6, [p.line() for p in verified.problems]
    record = json.loads((output / result.record).read_text())
    assert set(record["file_integrity"]) == set(result.files_rewritten) == set(record["replaces"])
    # a later edit of a purged file is still caught
    _segments_file(output, "chat", D2, [_segment("m1", "c9", 0, "chat")])
    assert [p.problem for p in verify_output(str(output)).problems] == ["changed"]


def test_a_purge_killed_after_its_commit_is_finished_by_the_next(published, monkeypatch):
    from pipeline import publish
    from pipeline.integrity import verify_output

    output, files = published
    _tombstones(output, [("m1", "t1", "t1:00001")])
    _commit_all(str(output))

    def killed(name):
        if name == "purge:committed":
            raise KeyboardInterrupt
    monkeypatch.setattr(publish, "crash_point", killed)
    with pytest.raises(KeyboardInterrupt):
        purge_output(str(output))
    assert len(_keys(files["t_d1"])) == 3                           # the copy was not swapped in yet
    problems = verify_output(str(output)).problems                  # caught: the file and the copy beside it
    assert sorted((p.path.rsplit("/", 1)[1], p.problem) for p in problems) == [
        (".part-r1-00000.parquet.purge", "unexpected"), ("part-r1-00000.parquet", "changed")]
    monkeypatch.undo()
    purge_output(str(output))
    assert _keys(files["t_d1"]) == [("m1", "t1", "t1:00000"), ("m1", "t1", "t1:00002")]
    assert verify_output(str(output)).ok
    assert not list(output.rglob("*.purge"))


@pytest.fixture(scope="module")
def emulator():
    from storage_emulator import storage_emulator

    with storage_emulator() as env:
        yield env


def test_purge_on_an_object_store_writes_new_files_and_commits_a_record(emulator, tmp_path):
    import uuid

    from pipeline.integrity import verify_output
    from pipeline.publish import list_files, live_files, read_parquet, relative_to
    from storage_emulator import BUCKET, upload

    output, files = tmp_path, {}
    _segments_file(output, "transcript", D1, [_segment("m1", "t1", i, text=CANARY if i == 1 else "fine") for i in range(3)])
    _segments_file(output, "chat", D1, [_segment("m1", "c1", 0, "chat")])
    _tombstones(output, [("m1", "t1", "t1:00001")])
    remote = upload(output / "datasets", f"gs://{BUCKET}/{uuid.uuid4().hex}/out/datasets").rsplit("/datasets", 1)[0]
    _commit_all(remote)
    before = {relative_to(remote, m.path): m for m in list_files(f"{remote}/datasets/**")}

    result = purge_output(remote)

    assert result.rows_removed == 1 and result.files_rewritten == [f"datasets/transcript/run_date={D1}/part-r1-00000.parquet"]
    live = live_files(remote)
    new = [r for r in live if "/part-purge-" in r]
    assert len(new) == 1 and new[0].startswith(f"datasets/transcript/run_date={D1}/")
    objects = {relative_to(remote, m.path) for m in list_files(f"{remote}/datasets/**")}
    assert result.files_rewritten[0] not in objects                 # replaced, then collected: never rewritten
    assert set(before) - {result.files_rewritten[0]} <= objects
    table = read_parquet(f"{remote}/{new[0]}")
    assert table.schema.equals(SEGMENT_SCHEMA) and table.column("segment_id").to_pylist() == ["t1:00000", "t1:00002"]
    assert verify_output(remote).ok
    assert purge_output(remote).rows_removed == 0                   # idempotent


def test_copies_of_a_purge_killed_before_its_commit_are_pending_then_collected(emulator, tmp_path):
    import time
    import uuid

    from pipeline.integrity import verify_output
    from pipeline.publish import ORPHAN_GRACE_S, collect_garbage, write_parquet
    from storage_emulator import BUCKET, upload

    _segments_file(tmp_path, "transcript", D1, [_segment("m1", "t1", 0)])
    remote = upload(tmp_path / "datasets", f"gs://{BUCKET}/{uuid.uuid4().hex}/out/datasets").rsplit("/datasets", 1)[0]
    _commit_all(remote)
    leftover = f"datasets/transcript/run_date={D1}/part-purge-20261127T000000000000Z-00000.parquet"
    stray = f"datasets/transcript/run_date={D1}/part-stray-00000.parquet"
    for relative in (leftover, stray):
        write_parquet(pa.Table.from_pylist([_segment("m1", "t1", 0)], schema=SEGMENT_SCHEMA), f"{remote}/{relative}")
    verified = verify_output(remote)
    assert verified.pending == 1 and [(p.path, p.problem) for p in verified.problems] == [(stray, "unexpected")]
    removed = collect_garbage(remote, now=time.time() + ORPHAN_GRACE_S + 60)
    assert {r.rsplit("/", 1)[-1] for r in removed} == {leftover.rsplit("/", 1)[-1], stray.rsplit("/", 1)[-1]}
    assert verify_output(remote).ok
