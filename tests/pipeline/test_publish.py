"""pipeline/publish.py: staging, atomic publication, quarantine, the publish lock, manifests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import publish
from pipeline.publish import (
    LOCK,
    QUARANTINE,
    STAGING,
    TRASH,
    PublishError,
    publish_lock,
    publish_staged_run,
    published_manifests,
    quarantine_staged_run,
    read_text,
    run_dir,
    staged_partitions,
    staging_root,
    write_json,
    write_text,
)

RUN_DATE = "2026-11-27"


def _stage_run(output: Path, run_id: str, datasets=("transcript", "audit"), run_date: str = RUN_DATE,
               started_at: str = "2026-11-27T15:00:00+00:00") -> Path:
    stage = Path(staging_root(str(output), run_id))
    for dataset in datasets:
        part = stage / "datasets" / dataset / f"run_date={run_date}"
        part.mkdir(parents=True)
        (part / f"part-{run_id}-00000-of-00001.parquet").write_bytes(f"{dataset}:{run_id}".encode())
    run_folder = Path(run_dir(str(stage), run_id))
    run_folder.mkdir(parents=True)
    (run_folder / "manifest.json").write_text(json.dumps({"run_id": run_id, "started_at": started_at}))
    (run_folder / "summary.txt").write_text("summary\n")
    return stage


def _files(root: Path):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_layout_helpers():
    assert staging_root("/out/", "r1") == f"/out/{STAGING}/r1"
    assert run_dir("/out/", "r1") == "/out/runs/r1"
    assert publish.is_local("/tmp/x") and not publish.is_local("gs://bucket/x")


def test_staged_partitions_lists_dataset_partitions_only(tmp_path):
    stage = _stage_run(tmp_path, "r1", datasets=("transcript", "chat"))
    (stage / "datasets" / "chat" / "not-a-partition").mkdir()
    assert staged_partitions(str(stage)) == [
        f"datasets/chat/run_date={RUN_DATE}", f"datasets/transcript/run_date={RUN_DATE}"]
    assert staged_partitions(str(tmp_path / "nothing-staged")) == []


def test_publish_moves_partitions_and_run_folder_into_place(tmp_path):
    stage = _stage_run(tmp_path, "r1")
    staged_file = stage / "datasets" / "transcript" / f"run_date={RUN_DATE}" / "part-r1-00000-of-00001.parquet"
    inode = staged_file.stat().st_ino

    published = publish_staged_run(str(tmp_path), "r1")

    # Segment partitions move whole; the append-only audit moves file by file.
    assert set(published) == {f"datasets/transcript/run_date={RUN_DATE}",
                              f"datasets/audit/run_date={RUN_DATE}/part-r1-00000-of-00001.parquet", "runs/r1"}
    for relative in published:
        assert (tmp_path / relative).exists()
    assert _files(tmp_path) == [
        f"datasets/audit/run_date={RUN_DATE}/part-r1-00000-of-00001.parquet",
        f"datasets/transcript/run_date={RUN_DATE}/part-r1-00000-of-00001.parquet",
        "runs/r1/manifest.json",
        "runs/r1/summary.txt",
    ]
    final_file = tmp_path / "datasets" / "transcript" / f"run_date={RUN_DATE}" / "part-r1-00000-of-00001.parquet"
    assert final_file.stat().st_ino == inode            # renamed, not copied
    assert not stage.exists()
    assert not (tmp_path / TRASH / "r1").exists()
    assert not (tmp_path / LOCK).exists()


def test_rerun_of_a_date_replaces_only_its_partitions(tmp_path):
    _stage_run(tmp_path, "r1", datasets=("transcript", "chat"))
    _stage_run(tmp_path, "r0", datasets=("transcript",), run_date="2026-11-26")
    publish_staged_run(str(tmp_path), "r1")
    publish_staged_run(str(tmp_path), "r0")

    _stage_run(tmp_path, "r2", datasets=("transcript",))
    publish_staged_run(str(tmp_path), "r2")

    datasets = [f for f in _files(tmp_path) if f.startswith("datasets/")]
    assert datasets == [
        f"datasets/chat/run_date={RUN_DATE}/part-r1-00000-of-00001.parquet",       # not re-staged: kept
        "datasets/transcript/run_date=2026-11-26/part-r0-00000-of-00001.parquet",  # other date: kept
        f"datasets/transcript/run_date={RUN_DATE}/part-r2-00000-of-00001.parquet",  # replaced
    ]
    assert {m["run_id"] for m in published_manifests(str(tmp_path))} == {"r0", "r1", "r2"}
    assert not (tmp_path / TRASH / "r2").exists()


def test_rerun_of_a_date_keeps_earlier_tombstones(tmp_path):
    _stage_run(tmp_path, "r1", datasets=("tombstone",))
    publish_staged_run(str(tmp_path), "r1")
    _stage_run(tmp_path, "r2", datasets=("tombstone",))
    publish_staged_run(str(tmp_path), "r2")
    assert (tmp_path / "datasets" / "tombstone" / f"run_date={RUN_DATE}" / "part-r1-00000-of-00001.parquet").exists()


def test_quarantine_moves_the_staged_run_aside_and_publishes_nothing(tmp_path):
    stage = _stage_run(tmp_path, "bad")
    target = quarantine_staged_run(str(tmp_path), "bad")
    assert Path(target) == tmp_path / QUARANTINE / "bad"
    assert not stage.exists()
    assert (Path(target) / "runs" / "bad" / "manifest.json").is_file()
    assert not (tmp_path / "datasets").exists() and not (tmp_path / "runs").exists()
    assert published_manifests(str(tmp_path)) == []


def test_quarantine_without_a_stage_still_leaves_a_folder(tmp_path):
    target = quarantine_staged_run(str(tmp_path), "never-staged")
    assert Path(target).is_dir() and not any(Path(target).iterdir())


def test_quarantine_leaves_published_data_untouched(tmp_path):
    _stage_run(tmp_path, "good")
    publish_staged_run(str(tmp_path), "good")
    before = _files(tmp_path)
    _stage_run(tmp_path, "bad")
    quarantine_staged_run(str(tmp_path), "bad")
    after = [f for f in _files(tmp_path) if not f.startswith(QUARANTINE + "/")]
    assert after == before


# ---------------------------------------------------------------- lock


def test_lock_holds_the_pid_and_is_released(tmp_path):
    with publish_lock(str(tmp_path), timeout_s=1):
        assert (tmp_path / LOCK).read_text() == str(os.getpid())
    assert not (tmp_path / LOCK).exists()


def test_lock_is_released_when_the_body_raises(tmp_path):
    with pytest.raises(RuntimeError):
        with publish_lock(str(tmp_path), timeout_s=1):
            raise RuntimeError("boom")
    assert not (tmp_path / LOCK).exists()


def test_lock_is_exclusive_while_its_owner_lives(tmp_path):
    with publish_lock(str(tmp_path), timeout_s=1):
        with pytest.raises(PublishError, match="timed out"):
            with publish_lock(str(tmp_path), timeout_s=0.3):
                pass
        assert (tmp_path / LOCK).exists()          # the waiter did not steal it


def test_lock_of_a_live_foreign_process_is_not_stale(tmp_path):
    (tmp_path / LOCK).write_text(str(os.getppid()))
    with pytest.raises(PublishError):
        with publish_lock(str(tmp_path), timeout_s=0.3):
            pass
    assert (tmp_path / LOCK).read_text() == str(os.getppid())


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / LOCK).write_text(str(_dead_pid()))
    with publish_lock(str(tmp_path), timeout_s=5):
        assert (tmp_path / LOCK).read_text() == str(os.getpid())
    assert not (tmp_path / LOCK).exists()


def test_publish_waits_for_nobody_after_a_crashed_publisher(tmp_path):
    _stage_run(tmp_path, "r1")
    (tmp_path / LOCK).write_text(str(_dead_pid()))
    publish_staged_run(str(tmp_path), "r1")
    assert (tmp_path / "runs" / "r1" / "manifest.json").is_file()
    assert not (tmp_path / LOCK).exists()


def test_lock_is_a_no_op_for_remote_outputs():
    with publish_lock("gs://bucket/out", timeout_s=0):
        pass


# ---------------------------------------------------------------- text helpers and manifests


def test_write_text_is_atomic_and_read_text_handles_missing(tmp_path):
    target = tmp_path / "a" / "b" / "file.json"
    write_json(str(target), {"b": 1, "a": [1, 2]})
    assert json.loads(read_text(str(target))) == {"a": [1, 2], "b": 1}
    write_text(str(target), "second")
    assert read_text(str(target)) == "second"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.json"]   # no temp file left
    assert read_text(str(tmp_path / "absent")) is None


def test_published_manifests_oldest_first_skipping_unreadable(tmp_path):
    runs = tmp_path / "runs"
    for run_id, started in (("b", "2026-11-27T10:00:00"), ("a", "2026-11-27T12:00:00"), ("c", "2026-11-26T09:00:00")):
        (runs / run_id).mkdir(parents=True)
        (runs / run_id / "manifest.json").write_text(json.dumps({"run_id": run_id, "started_at": started}))
    (runs / "broken").mkdir()
    (runs / "broken" / "manifest.json").write_text("{not json")
    (runs / "no-manifest").mkdir()
    assert [m["run_id"] for m in published_manifests(str(tmp_path))] == ["c", "b", "a"]
    assert published_manifests(str(tmp_path / "empty")) == []
