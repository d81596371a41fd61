"""Issue 16 item 9: what dead runs leave behind never blocks the next run, also on a full disk;
quarantined runs are kept for ``output.quarantine_retention_days``."""
from __future__ import annotations

import builtins
import errno
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from pipeline import publish
from pipeline.config import ConfigError, RunFailed, load_config
from pipeline.publish import JOURNAL, LOCK, OWNER, QUARANTINE, STAGING, TRASH, PublishError, staging_root

DAY = 86400.0
NOW = 1_800_000_000.0                                      # 2027-01-15
OLD_RUN, NEW_RUN = "20261201T010203Z-aaaaaa", "20270114T010203Z-bbbbbb"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _stage(output: Path, run_id: str, owner: str = None, size: int = 1000) -> Path:
    stage = Path(staging_root(str(output), run_id))
    (stage / "datasets" / "transcript" / "run_date=2026-11-27").mkdir(parents=True)
    (stage / "datasets" / "transcript" / "run_date=2026-11-27" / "part.parquet").write_bytes(b"x" * size)
    (stage / "runs" / run_id / "data_docs").mkdir(parents=True)
    (stage / "runs" / run_id / "data_docs" / "index.html").write_bytes(b"d" * size)
    (stage / "runs" / run_id / "_tally.json").write_text("{}")
    if owner is not None:
        (stage / OWNER).write_text(owner)
    return stage


def _full_disk(monkeypatch):
    """Every write or creation fails with ENOSPC; deleting still works."""
    def enospc(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(flag in mode for flag in "wax+"):
            enospc()
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            enospc()
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(Path, "write_text", enospc)
    monkeypatch.setattr(Path, "write_bytes", enospc)
    monkeypatch.setattr(os, "open", guarded_os_open)
    monkeypatch.setattr(os, "write", enospc)
    monkeypatch.setattr(os, "mkdir", enospc)
    monkeypatch.setattr(os, "rename", enospc)


# ---------------------------------------------------------------- housekeeping


def test_dead_staging_goes_and_live_journaled_or_launched_staging_stays(tmp_path):
    out = tmp_path
    _stage(out, "dead", owner=str(_dead_pid()))
    _stage(out, "live", owner=str(os.getpid()))
    _stage(out, "journaled", owner=str(_dead_pid()))
    (out / JOURNAL).mkdir()
    (out / JOURNAL / "journaled.json").write_text(json.dumps({"run_id": "journaled", "steps": []}))
    launched = _stage(out, "launched", owner=str(_dead_pid()))
    (launched / "runs" / "launched" / publish.LAUNCH_FILE).write_text("{}")
    (out / TRASH / "finished").mkdir(parents=True)
    (out / TRASH / "journaled").mkdir(parents=True)
    removed = publish.housekeeping(str(out), 14)
    assert removed["staging"] == ["dead"] and removed["trash"] == ["finished"]
    assert sorted(p.name for p in (out / STAGING).iterdir()) == ["journaled", "launched", "live"]
    assert [p.name for p in (out / TRASH).iterdir()] == ["journaled"]


def test_a_reused_pid_is_not_the_owner(tmp_path):
    _stage(tmp_path, "reused", owner=f"{os.getpid()} 1")       # our pid, but another start time
    assert publish.housekeeping(str(tmp_path), 14)["staging"] == ["reused"]


def test_quarantined_runs_older_than_the_retention_are_deleted(tmp_path):
    for run_id in (OLD_RUN, NEW_RUN, "no-time-in-this-id", "recent-without-time"):
        (tmp_path / QUARANTINE / run_id / "runs").mkdir(parents=True)
    os.utime(tmp_path / QUARANTINE / "no-time-in-this-id", (NOW - 30 * DAY, NOW - 30 * DAY))
    os.utime(tmp_path / QUARANTINE / "recent-without-time", (NOW - DAY, NOW - DAY))
    removed = publish.housekeeping(str(tmp_path), 14, now=NOW)
    assert sorted(removed["quarantine"]) == sorted([OLD_RUN, "no-time-in-this-id"])
    assert sorted(p.name for p in (tmp_path / QUARANTINE).iterdir()) == sorted([NEW_RUN, "recent-without-time"])
    assert publish.housekeeping(str(tmp_path), 0.5, now=NOW)["quarantine"] == [NEW_RUN, "recent-without-time"]


def test_housekeeping_of_a_missing_output_does_nothing(tmp_path):
    assert publish.housekeeping(str(tmp_path / "nope"), 14) == {"staging": [], "trash": [], "quarantine": []}


def test_retention_is_configured_in_the_yaml_config(tmp_path):
    assert load_config().output.quarantine_retention_days == 14
    custom = tmp_path / "c.yaml"
    custom.write_text("output:\n  quarantine_retention_days: 3\n")
    assert load_config(str(custom)).output.quarantine_retention_days == 3
    for bad in ("0", "-1", "soon"):
        custom.write_text(f"output:\n  quarantine_retention_days: {bad}\n")
        with pytest.raises(ConfigError):
            load_config(str(custom))
    custom.write_text("output:\n  keep_forever: true\n")
    with pytest.raises(ConfigError):
        load_config(str(custom))


# ---------------------------------------------------------------- a completely full disk


def test_housekeeping_frees_space_on_a_completely_full_disk(tmp_path, monkeypatch):
    _stage(tmp_path, "killed-by-full-disk", owner=str(_dead_pid()), size=100_000)
    (tmp_path / QUARANTINE / OLD_RUN).mkdir(parents=True)
    _full_disk(monkeypatch)
    removed = publish.housekeeping(str(tmp_path), 14, now=NOW)
    assert removed["staging"] == ["killed-by-full-disk"] and removed["quarantine"] == [OLD_RUN]
    assert not list((tmp_path / STAGING).iterdir())


def test_the_publish_lock_on_a_full_disk_fails_cleanly_and_leaves_no_lock(tmp_path, monkeypatch):
    def enospc(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", enospc)
    with pytest.raises(PublishError) as caught:
        with publish.publish_lock(str(tmp_path)):
            pass
    assert publish.is_disk_full(caught.value)
    assert not (tmp_path / LOCK).exists()     # an empty lock would hold off the next runs


def test_claiming_staging_on_a_full_disk_leaves_no_ownerless_folder(tmp_path, monkeypatch):
    (tmp_path / STAGING).mkdir()

    def enospc(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", enospc)
    with pytest.raises(OSError):
        publish.claim_staging(str(tmp_path), "r1")
    assert not list((tmp_path / STAGING).iterdir())


def test_a_failed_run_is_quarantined_without_its_bulk(tmp_path):
    _stage(tmp_path, "r1", owner=str(os.getpid()))
    target = Path(publish.quarantine_staged_run(str(tmp_path), "r1", keep_data=False))
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file()) == [
        OWNER, "runs/r1/_tally.json"]


def test_a_quarantine_that_cannot_be_made_deletes_the_staged_run(tmp_path, monkeypatch):
    _stage(tmp_path, "r1", owner=str(os.getpid()))
    monkeypatch.setattr(os, "rename", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    where = publish.quarantine_staged_run(str(tmp_path), "r1")
    assert where.startswith("nowhere") and not Path(staging_root(str(tmp_path), "r1")).exists()


def test_a_full_disk_during_a_run_is_one_line_exit_1_and_the_stage_is_quarantined_small(tmp_path):
    from pipeline.run import _disk_full_fails

    _stage(tmp_path, "r1", owner=str(os.getpid()), size=100_000)
    with pytest.raises(RunFailed) as caught:
        with _disk_full_fails(str(tmp_path), "r1"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert caught.value.exit_code == 1 and "no space left" in str(caught.value)
    assert not Path(staging_root(str(tmp_path), "r1")).exists()
    assert sum(p.stat().st_size for p in (tmp_path / QUARANTINE).rglob("*") if p.is_file()) < 1000
    with pytest.raises(ValueError):                   # anything else is not its business
        with _disk_full_fails(str(tmp_path), "r2"):
            raise ValueError("x")


def test_a_full_disk_after_the_publish_was_journaled_leaves_it_for_the_next_run(tmp_path):
    from pipeline.run import _disk_full_fails

    stage = _stage(tmp_path, "r1", owner=str(os.getpid()))
    (tmp_path / JOURNAL).mkdir()
    (tmp_path / JOURNAL / "r1.json").write_text(json.dumps({"run_id": "r1", "steps": []}))
    with pytest.raises(RunFailed) as caught:
        with _disk_full_fails(str(tmp_path), "r1"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert "completed by the next run" in str(caught.value)
    assert stage.exists()


# ---------------------------------------------------------------- the real thing, on a tiny tmpfs


def _mount_tmpfs(path: Path, size: str) -> bool:
    if sys.platform != "linux" or os.geteuid() != 0 or not shutil.which("mount"):
        return False
    path.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.e2e
def test_a_run_on_a_full_disk_recovers_without_a_person(tmp_path):
    from gatekeeper_cli import EXAMPLES, gatekeeper, run_args

    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    if not _mount_tmpfs(disk, "1m"):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        source = tmp_path / "input"
        for meeting in ("m-001", "m-002"):
            shutil.copytree(EXAMPLES / "meetings" / meeting, source / meeting)
        ledger = EXAMPLES / "consent" / "ledger.jsonl"
        out = disk / "out"
        for _ in range(2):      # the disk is too small: each run fails, and cleans up after itself
            proc = gatekeeper(*run_args(source, ledger, out))
            assert proc.returncode == 1, proc.stderr[-2000:]
            assert "no space left on the output's disk" in proc.stderr
            assert not list(out.glob(f"{STAGING}/*")) and not (out / LOCK).exists()
            used = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
            assert used < 200_000, used
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        proc = gatekeeper(*run_args(source, ledger, out))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert list(out.glob("runs/*/manifest.json"))
    finally:
        time.sleep(0.2)
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)


# ---------------------------------------------------------------- object stores


def test_gs_quarantine_retention_and_failed_runs_without_bulk():
    from storage_emulator import BUCKET, storage_emulator

    with storage_emulator():
        output = f"gs://{BUCKET}/{uuid.uuid4().hex}/out"
        for run_id in (OLD_RUN, NEW_RUN):
            stage = staging_root(output, run_id)
            publish.write_text(f"{stage}/datasets/transcript/run_date=2026-11-27/part.parquet", "x")
            publish.write_text(f"{stage}/runs/{run_id}/data_docs/index.html", "d")
            publish.write_text(f"{stage}/runs/{run_id}/_tally.json", "{}")
        publish.quarantine_staged_run(output, OLD_RUN)
        publish.quarantine_staged_run(output, NEW_RUN, keep_data=False)
        quarantined = lambda: sorted(publish.relative_to(output, m.path)   # noqa: E731
                                     for m in publish.list_files(f"{output}/{QUARANTINE}/**"))
        assert quarantined()[-1] == f"{QUARANTINE}/{NEW_RUN}/runs/{NEW_RUN}/_tally.json"
        assert len([p for p in quarantined() if NEW_RUN in p]) == 1
        assert publish.housekeeping(output, 14, now=NOW)["quarantine"] == [OLD_RUN]
        assert quarantined() == [f"{QUARANTINE}/{NEW_RUN}/runs/{NEW_RUN}/_tally.json"]
