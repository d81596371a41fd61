"""Manifest-commit publishing (object stores) and the reader's view (``live_files``).

The same publish scenarios run on a local output (directory renames under a lock) and on
``gs://`` (a Cloud Storage emulator): readers resolving through the committed manifests must
see the same files either way, and on a local output that is exactly what is on disk.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from pipeline import publish
from pipeline.publish import (
    ORPHAN_GRACE_S,
    REMOTE_STAGING_GRACE_S,
    collect_garbage,
    launched_runs,
    list_files,
    live_files,
    publish_staged_run,
    published_manifests,
    quarantine_staged_run,
    relative_to,
    run_dir,
    staging_root,
    write_json,
    write_text,
)

from storage_emulator import BUCKET, storage_emulator  # noqa: E402  (tests/pipeline is on sys.path)

DAY, PREVIOUS_DAY = "2026-11-27", "2026-11-26"


@pytest.fixture(scope="module")
def emulator():
    with storage_emulator() as env:
        yield env


@pytest.fixture(params=["local", "gs"])
def output(request, tmp_path):
    if request.param == "local":
        return str(tmp_path / "out")
    request.getfixturevalue("emulator")
    return f"gs://{BUCKET}/{uuid.uuid4().hex}/out"


def _stage_run(output: str, run_id: str, files: dict, processed_dates=(), finished_at: str = "") -> None:
    """Stage a run the way ``gatekeeper run`` does: partition files, then its manifest."""
    stage = staging_root(output, run_id)
    datasets = {}
    for dataset, dates in files.items():
        for date in dates:
            relative = f"datasets/{dataset}/run_date={date}/part-{run_id}-00000-of-00001.parquet"
            write_text(f"{stage}/{relative}", f"{dataset}:{run_id}")
            datasets.setdefault(dataset, {"rows": 1, "files": []})["files"].append(relative)
    folder = run_dir(stage, run_id)
    write_text(f"{folder}/summary.txt", "summary\n")
    write_json(f"{folder}/manifest.json", {
        "run_id": run_id, "status": "published", "started_at": finished_at, "finished_at": finished_at,
        "datasets": datasets, "selection": {"processed_dates": list(processed_dates)}})


def _objects(output: str, under: str = "datasets") -> list:
    return [relative_to(output, m.path) for m in list_files(f"{output}/{under}/**")]


def _part(dataset: str, date: str, run_id: str) -> str:
    return f"datasets/{dataset}/run_date={date}/part-{run_id}-00000-of-00001.parquet"


def test_runs_replace_partitions_and_append_audit_the_same_way_on_both_backends(output):
    _stage_run(output, "r1", {"transcript": [DAY], "chat": [DAY], "audit": [DAY]}, [DAY], "2026-11-27T01:00:00")
    publish_staged_run(output, "r1", replace_dates=[DAY])
    _stage_run(output, "r0", {"transcript": [PREVIOUS_DAY], "audit": [DAY]}, [PREVIOUS_DAY], "2026-11-27T02:00:00")
    publish_staged_run(output, "r0", replace_dates=[PREVIOUS_DAY])
    # r2 reprocesses DAY: its transcript replaces r1's, and chat (no rows left) disappears.
    _stage_run(output, "r2", {"transcript": [DAY], "audit": [DAY]}, [DAY], "2026-11-27T03:00:00")
    published = publish_staged_run(output, "r2", replace_dates=[DAY])

    expected = sorted([_part("audit", DAY, "r0"), _part("audit", DAY, "r1"), _part("audit", DAY, "r2"),
                       _part("transcript", PREVIOUS_DAY, "r0"), _part("transcript", DAY, "r2")])
    assert live_files(output) == expected
    assert _objects(output) == expected          # superseded files are gone, nothing else is there
    assert any(p.startswith("datasets/transcript") for p in published)
    assert {m["run_id"] for m in published_manifests(output)} == {"r0", "r1", "r2"}
    assert not list_files(f"{output}/_staging/**")


def test_gs_publish_writes_the_manifest_last_and_a_crash_before_it_publishes_nothing(emulator, monkeypatch):
    output = f"gs://{BUCKET}/{uuid.uuid4().hex}/out"
    _stage_run(output, "r1", {"transcript": [DAY]}, [DAY], "2026-11-27T01:00:00")
    publish_staged_run(output, "r1", replace_dates=[DAY])
    before = live_files(output)

    _stage_run(output, "r2", {"transcript": [DAY]}, [DAY], "2026-11-27T02:00:00")

    def die(name):
        if name == "publish:copied":
            raise SystemExit("killed")
    monkeypatch.setattr(publish, "crash_point", die)
    with pytest.raises(SystemExit):
        publish_staged_run(output, "r2", replace_dates=[DAY])

    # r2's data was copied but never committed: readers still see r1 only.
    assert live_files(output) == before
    assert _part("transcript", DAY, "r2") in _objects(output)
    assert [m["run_id"] for m in published_manifests(output)] == ["r1"]
    # The collector leaves a young orphan alone (its run may still be publishing) ...
    assert collect_garbage(output) == []
    # ... and removes it, with the dead run's staging, once both are old.
    later = __import__("time").time() + max(ORPHAN_GRACE_S, REMOTE_STAGING_GRACE_S) + 60
    removed = collect_garbage(output, now=later)
    assert f"{output}/{_part('transcript', DAY, 'r2')}" in removed
    assert _objects(output) == before
    assert not list_files(f"{output}/_staging/**")


def test_concurrent_publishes_keep_both_runs_and_the_later_finish_wins_a_shared_partition(emulator):
    output = f"gs://{BUCKET}/{uuid.uuid4().hex}/out"
    # Both staged before either publishes; r_late finished later, but publishes first.
    _stage_run(output, "r_early", {"transcript": [DAY, PREVIOUS_DAY], "audit": [DAY]}, [DAY, PREVIOUS_DAY],
               "2026-11-27T01:00:00")
    _stage_run(output, "r_late", {"transcript": [DAY], "audit": [DAY]}, [DAY], "2026-11-27T02:00:00")
    publish_staged_run(output, "r_late", replace_dates=[DAY])
    publish_staged_run(output, "r_early", replace_dates=[DAY, PREVIOUS_DAY])
    expected = sorted([_part("audit", DAY, "r_early"), _part("audit", DAY, "r_late"),
                       _part("transcript", PREVIOUS_DAY, "r_early"), _part("transcript", DAY, "r_late")])
    assert live_files(output) == expected
    assert _objects(output) == expected


def test_gs_quarantine_and_launch_records(emulator):
    output = f"gs://{BUCKET}/{uuid.uuid4().hex}/out"
    _stage_run(output, "bad", {"transcript": [DAY]}, [DAY])
    target = quarantine_staged_run(output, "bad")
    assert target == f"{output}/_quarantine/bad"
    assert _objects(output, "_quarantine") == [f"_quarantine/bad/{_part('transcript', DAY, 'bad')}",
                                               "_quarantine/bad/runs/bad/manifest.json",
                                               "_quarantine/bad/runs/bad/summary.txt"]
    assert not list_files(f"{output}/_staging/**") and live_files(output) == []

    write_json(f"{run_dir(staging_root(output, 'submitted'), 'submitted')}/_launch.json", {"options": {}})
    assert launched_runs(output) == ["submitted"]
    # A submitted run's staging survives the collector however old it is: finalize needs it.
    assert collect_garbage(output, now=__import__("time").time() + 10 * REMOTE_STAGING_GRACE_S) == []


def test_local_live_files_match_the_disk_after_a_purge_style_rewrite(tmp_path):
    output = str(tmp_path / "out")
    _stage_run(output, "r1", {"transcript": [DAY], "tombstone": [DAY]}, [DAY], "2026-11-27T01:00:00")
    publish_staged_run(output, "r1", replace_dates=[DAY])
    on_disk = sorted(str(p.relative_to(output)) for p in Path(output).glob("datasets/**/*") if p.is_file())
    assert live_files(output) == on_disk
    manifest = json.loads(Path(output, "runs", "r1", "manifest.json").read_text())
    assert manifest["run_id"] == "r1"


def test_local_runs_apply_in_the_order_they_published_not_the_order_they_finished(tmp_path):
    output = str(tmp_path / "out")
    _stage_run(output, "r_late", {"transcript": [DAY]}, [DAY], "2026-11-27T02:00:00")
    _stage_run(output, "r_early", {"transcript": [DAY]}, [DAY], "2026-11-27T01:00:00")
    publish_staged_run(output, "r_late", replace_dates=[DAY])      # finished last, published first ...
    publish_staged_run(output, "r_early", replace_dates=[DAY])     # ... so the disk holds r_early's files
    on_disk = sorted(str(p.relative_to(output)) for p in Path(output).glob("datasets/**/*") if p.is_file())
    assert on_disk == [_part("transcript", DAY, "r_early")] == live_files(output)
