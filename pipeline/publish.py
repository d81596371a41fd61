"""Staging, atomic publication and quarantine of a run's output.

A run writes everything under ``OUTPUT/_staging/<run_id>/`` with the same shape as the
published tree. Publishing moves each staged dataset partition into place, then the run's
folder (manifest last), under an exclusive lock so concurrent runs never interleave. A
failed or rejected run is moved to ``OUTPUT/_quarantine/<run_id>/`` and leaves published
data untouched.

Local paths use ``os.replace``/``os.rename`` (atomic within one filesystem). Other Beam
filesystems (``gs://``) have no atomic directory rename: there the manifest, written last,
is the commit record, and readers resolve files through it.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from apache_beam.io.filesystems import FileSystems

STAGING = "_staging"
QUARANTINE = "_quarantine"
TRASH = "_trash"
LOCK = "_publish.lock"
_GARBLED_LOCK_GRACE_S = 30.0
# Datasets whose partitions accumulate across re-runs of a date: the audit is the record of
# every decision ever taken, and tombstones must survive until a purge has applied them.
APPEND_ONLY_DATASETS = ("audit", "tombstone")


class PublishError(RuntimeError):
    pass


def is_local(uri: str) -> bool:
    return "://" not in uri


def staging_root(output: str, run_id: str) -> str:
    return f"{output.rstrip('/')}/{STAGING}/{run_id}"


def run_dir(root: str, run_id: str) -> str:
    return f"{root.rstrip('/')}/runs/{run_id}"


def write_text(uri: str, text: str) -> None:
    if is_local(uri):
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return
    with FileSystems.create(uri) as handle:
        handle.write(text.encode("utf-8"))


def read_text(uri: str) -> Optional[str]:
    if is_local(uri):
        path = Path(uri)
        return path.read_text(encoding="utf-8") if path.exists() else None
    if not FileSystems.exists(uri):
        return None
    with FileSystems.open(uri) as handle:
        return handle.read().decode("utf-8")


def write_json(uri: str, payload) -> None:
    write_text(uri, json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")


@contextlib.contextmanager
def publish_lock(output: str, timeout_s: float = 600.0) -> Iterator[None]:
    """Exclusive lock on the output tree for the short publish step (local paths)."""
    if not is_local(output):
        yield
        return
    Path(output).mkdir(parents=True, exist_ok=True)
    lock_path = Path(output) / LOCK
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fd = os.open(lock_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            break
        except FileExistsError:
            if _stale_lock(lock_path):
                with contextlib.suppress(FileNotFoundError):
                    lock_path.unlink()
                continue
            if time.monotonic() > deadline:
                raise PublishError("timed out waiting for the publish lock") from None
            time.sleep(0.2)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock_path.unlink()


def _stale_lock(lock_path: Path) -> bool:
    """A lock whose owner process is gone (e.g. SIGKILLed) is stale."""
    try:
        content = lock_path.read_text().strip()
        age_s = time.time() - lock_path.stat().st_mtime
    except OSError:
        return False
    try:
        pid = int(content)
    except ValueError:
        pid = 0
    if pid <= 0:
        # Empty or garbled: its writer died between create and write. Give a live writer time.
        return age_s > _GARBLED_LOCK_GRACE_S
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def staged_partitions(stage: str) -> List[str]:
    """Relative paths ``datasets/<name>/run_date=<d>`` present in a staged run."""
    base = Path(stage) / "datasets"
    if not base.exists():
        return []
    return sorted(str(p.relative_to(stage)) for p in base.glob("*/run_date=*") if p.is_dir())


def publish_staged_run(output: str, run_id: str) -> Dict[str, str]:
    """Move a validated staged run into place. Returns {partition: published path}."""
    if not is_local(output):
        raise PublishError("publishing to a non-local filesystem is not supported yet")
    stage = Path(staging_root(output, run_id))
    if not stage.is_dir():
        raise PublishError(f"no staged run {run_id} to publish")
    out = Path(output)
    published: Dict[str, str] = {}
    with publish_lock(output):
        trash = out / TRASH / run_id
        for relative in staged_partitions(str(stage)):
            target = out / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            dataset = Path(relative).parts[1]
            if dataset in APPEND_ONLY_DATASETS and target.exists():
                for staged_file in sorted((stage / relative).iterdir()):
                    os.rename(staged_file, target / staged_file.name)
                published[relative] = str(target)
                continue
            if target.exists():
                # Replace a re-run date: move the old partition aside, the new one in.
                aside = trash / relative
                aside.parent.mkdir(parents=True, exist_ok=True)
                os.rename(target, aside)
            os.rename(stage / relative, target)
            published[relative] = str(target)
        staged_run = stage / "runs" / run_id
        if staged_run.exists():
            final_run = out / "runs" / run_id
            final_run.parent.mkdir(parents=True, exist_ok=True)
            os.rename(staged_run, final_run)
        shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)
    return published


def quarantine_staged_run(output: str, run_id: str) -> str:
    """Move a staged run out of the way; nothing of it becomes visible as published."""
    stage = Path(staging_root(output, run_id))
    target = Path(output) / QUARANTINE / run_id
    if not stage.exists():
        target.mkdir(parents=True, exist_ok=True)
        return str(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.rename(stage, target)
    return str(target)


def published_manifests(output: str) -> List[dict]:
    """Manifests of published runs, oldest first."""
    runs = Path(output) / "runs"
    manifests = []
    if not runs.exists():
        return manifests
    for path in sorted(runs.glob("*/manifest.json")):
        try:
            manifests.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError):
            continue
    manifests.sort(key=lambda m: (m.get("started_at") or "", m.get("run_id") or ""))
    return manifests
