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
import signal
import time
from pathlib import Path
from typing import Iterable, Iterator, List, Optional

from apache_beam.io.filesystems import FileSystems

from transforms.schemas import SEGMENT_DATASETS

STAGING = "_staging"
QUARANTINE = "_quarantine"
TRASH = "_trash"
LOCK = "_publish.lock"
JOURNAL = "_journal"
OWNER = "_owner.pid"
LAUNCH_FILE = "_launch.json"   # in runs/<run_id>/ of a staged run whose job runs elsewhere
_STARTUP_GRACE_S = 30.0   # a lock or staging folder younger than this may still be being written
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
        return age_s > _STARTUP_GRACE_S
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


def _publish_plan(stage: Path, out: Path, run_id: str, replace_dates: Iterable[str]) -> List[dict]:
    """The ordered, idempotent steps that put a staged run in place (see ``_apply_step``)."""
    trash = out / TRASH / run_id
    steps: List[dict] = []
    partitions = set(staged_partitions(str(stage)))
    # A reprocessed date whose rows all went away must disappear from the published data too.
    for dataset in SEGMENT_DATASETS:
        for date in replace_dates:
            relative = f"datasets/{dataset}/run_date={date}"
            if relative not in partitions and (out / relative).exists():
                steps.append({"op": "aside", "src": relative, "dst": str((trash / relative).relative_to(out))})
    for relative in sorted(partitions):
        dataset = Path(relative).parts[1]
        if dataset in APPEND_ONLY_DATASETS:
            for staged_file in sorted((stage / relative).iterdir()):
                steps.append({"op": "move", "src": str(staged_file.relative_to(out)),
                              "dst": f"{relative}/{staged_file.name}"})
            continue
        if (out / relative).exists():
            steps.append({"op": "aside", "src": relative, "dst": str((trash / relative).relative_to(out))})
        steps.append({"op": "move", "src": str((stage / relative).relative_to(out)), "dst": relative})
    staged_run = stage / "runs" / run_id
    if staged_run.exists():
        steps.append({"op": "move", "src": str(staged_run.relative_to(out)), "dst": f"runs/{run_id}"})
    return steps


def _apply_step(out: Path, step: dict) -> None:
    """Apply one step; applying it again after a crash is harmless.

    ``aside`` entries exist only for targets that existed when the plan was made, and always
    come before the ``move`` into that target, so a done ``aside`` is recognised by its
    destination existing.
    """
    src, dst = out / step["src"], out / step["dst"]
    if step["op"] == "aside" and dst.exists():
        return
    if not src.exists():
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.rename(src, dst)


def _run_plan(out: Path, journal: Path, steps: List[dict]) -> None:
    for step in steps:
        _apply_step(out, step)
        crash_point(f"publish:{step['op']}")
    journal.unlink()


def publish_staged_run(output: str, run_id: str, replace_dates: Iterable[str] = ()) -> List[str]:
    """Move a validated staged run into place; returns the published relative paths.

    The plan is journaled before the first rename, so a run killed mid-publish is rolled
    forward by the next run (``recover_interrupted_publishes``) rather than left half-done.
    """
    if not is_local(output):
        raise PublishError("publishing to a non-local filesystem is not supported yet")
    stage = Path(staging_root(output, run_id))
    if not stage.is_dir():
        raise PublishError(f"no staged run {run_id} to publish")
    out = Path(output)
    with publish_lock(output):
        steps = _publish_plan(stage, out, run_id, replace_dates)
        journal = out / JOURNAL / f"{run_id}.json"
        write_json(str(journal), {"run_id": run_id, "steps": steps})
        crash_point("publish:journaled")
        _run_plan(out, journal, steps)
    shutil.rmtree(out / TRASH / run_id, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)
    return [step["dst"] for step in steps if step["op"] == "move"]


def recover_interrupted_publishes(output: str) -> List[str]:
    """Finish publishes a killed run left journaled; drop staging of runs that died.

    Returns the run ids whose publish was completed.
    """
    out = Path(output)
    if not is_local(output) or not out.exists():
        return []
    completed = []
    with publish_lock(output):
        for journal in sorted((out / JOURNAL).glob("*.json")):
            plan = json.loads(journal.read_text(encoding="utf-8"))
            _run_plan(out, journal, plan["steps"])
            completed.append(plan["run_id"])
            shutil.rmtree(out / TRASH / plan["run_id"], ignore_errors=True)
            shutil.rmtree(Path(staging_root(output, plan["run_id"])), ignore_errors=True)
        launched = set(launched_runs(output))
        for stage in sorted((out / STAGING).glob("*")):
            if stage.is_dir() and stage.name not in launched and not _owner_alive(stage):
                shutil.rmtree(stage, ignore_errors=True)
    return completed


def launched_runs(output: str) -> List[str]:
    """Staged runs whose job was submitted to run elsewhere (they wait for ``finalize``)."""
    if not is_local(output):
        return []
    return sorted(p.parents[2].name for p in (Path(output) / STAGING).glob(f"*/runs/*/{LAUNCH_FILE}"))


def claim_staging(output: str, run_id: str) -> None:
    """Create the run's staging folder, marked with this process as its owner."""
    if not is_local(output):
        return
    stage = Path(staging_root(output, run_id))
    stage.mkdir(parents=True, exist_ok=True)
    (stage / OWNER).write_text(str(os.getpid()), encoding="utf-8")


def _owner_alive(stage: Path) -> bool:
    try:
        pid = int((stage / OWNER).read_text().strip())
    except (OSError, ValueError):
        # No owner yet: a run between creating its folder and writing its pid; give it time.
        try:
            return time.time() - stage.stat().st_mtime < _STARTUP_GRACE_S
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def crash_point(name: str) -> None:
    """Fault injection for the kill tests: SIGKILL this process at a named point."""
    if os.environ.get("GATEKEEPER_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


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
