"""Staging, atomic publication and quarantine of a run's output.

A run writes everything under ``OUTPUT/_staging/<run_id>/`` with the same shape as the
published tree. Publishing moves each staged dataset partition into place, then the run's
folder (manifest last), under an exclusive lock so concurrent runs never interleave. A
failed or rejected run is moved to ``OUTPUT/_quarantine/<run_id>/`` and leaves published
data untouched.

Local paths use ``os.replace``/``os.rename`` (atomic within one filesystem). Object stores
(``gs://``) have no atomic directory rename and no lock primitive Beam exposes, so there a run
publishes by *manifest commit*: it copies its staged files to their final names (unique per run:
``part-<run_id>-<shard>.parquet``), then writes ``runs/<run_id>/manifest.json``, a single object
write, which is the commit. Readers resolve the live files through the committed manifests
(:func:`live_files`, ``gatekeeper files``); a killed run's copies are never referenced and are
collected later (:func:`collect_garbage`). Concurrent runs never write the same object, so
neither loses work; where both replace a partition, the later ``finished_at`` wins, for readers
and for the collector alike.
"""
from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import signal
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, List, Optional

from apache_beam.io.filesystem import CompressionTypes, FileMetadata
from apache_beam.io.filesystems import FileSystems

from transforms.schemas import SEGMENT_DATASETS

if TYPE_CHECKING:
    import pyarrow as pa

STAGING = "_staging"
QUARANTINE = "_quarantine"
TRASH = "_trash"
LOCK = "_publish.lock"
JOURNAL = "_journal"
OWNER = "_owner.pid"
LAUNCH_FILE = "_launch.json"   # in runs/<run_id>/ of a staged run whose job runs elsewhere
_STARTUP_GRACE_S = 30.0   # a lock or staging folder younger than this may still be being written
# Object stores: unreferenced published files younger than this may belong to a run that is
# still publishing; staging younger than this may belong to a job still running.
ORPHAN_GRACE_S = 6 * 3600.0
REMOTE_STAGING_GRACE_S = 48 * 3600.0
# Datasets whose partitions accumulate across re-runs of a date: the audit is the record of
# every decision ever taken, and tombstones must survive until a purge has applied them.
APPEND_ONLY_DATASETS = ("audit", "tombstone")


class PublishError(RuntimeError):
    pass


DISK_FULL_ERRNOS = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def is_disk_full(exc: BaseException) -> bool:
    """An OSError (or one it was raised from) saying the disk or the quota is full."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if "No space left on device" in str(exc) or "Disk quota exceeded" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


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


def list_files(pattern: str) -> List[FileMetadata]:
    """Files matching a glob (``*``, ``**``) on any Beam filesystem; none if nothing matches."""
    try:
        found = FileSystems.match([pattern])[0].metadata_list
    except (OSError, ValueError) as exc:
        if "No files found" in str(exc) or isinstance(exc, FileNotFoundError):
            return []
        raise
    return sorted((m for m in found if not m.path.endswith("/")), key=lambda m: m.path)


def published_dataset_files(output: str, dataset: str) -> List[str]:
    """Relative paths of a dataset's published files: on disk for a local output (what its
    readers see), through the committed manifests for an object store."""
    if is_local(output):
        return sorted(p.relative_to(output).as_posix()
                      for p in Path(output).glob(f"datasets/{dataset}/run_date=*/*.parquet"))
    return [r for r in live_files(output) if r.split("/")[1] == dataset]


def read_parquet(uri: str, **kwargs) -> "pa.Table":
    """A Parquet file as a table (``pyarrow.parquet.read_table`` keywords), on any filesystem."""
    import pyarrow.parquet as pq

    if is_local(uri):
        return pq.read_table(uri, **kwargs)
    with FileSystems.open(uri) as handle:
        return pq.read_table(io.BytesIO(handle.read()), **kwargs)


def write_parquet(table: "pa.Table", uri: str) -> None:
    """Write ``table`` as one zstd Parquet file at ``uri`` (any filesystem; one object write)."""
    import pyarrow.parquet as pq

    if is_local(uri):
        path = Path(uri)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
        return
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    with FileSystems.create(uri, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
        handle.write(buffer.getvalue())


def has_files(folder: str) -> bool:
    """A local folder that exists, or an object-store prefix with at least one object."""
    if is_local(folder):
        return Path(folder).exists()
    return bool(list_files(f"{folder.rstrip('/')}/**"))


def relative_to(root: str, path: str) -> str:
    prefix = root.rstrip("/") + "/"
    if not path.startswith(prefix):
        raise PublishError("a listed file lies outside its folder")
    return path[len(prefix):]


@contextlib.contextmanager
def local_folder(uri: str) -> Iterator[str]:
    """A local folder standing for ``uri``: ``uri`` itself when local; otherwise a temporary
    folder whose files are uploaded to ``uri`` when the block ends without an error."""
    if is_local(uri):
        Path(uri).mkdir(parents=True, exist_ok=True)
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="gatekeeper-") as tmp:
        yield tmp
        for path in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
            with FileSystems.create(f"{uri.rstrip('/')}/{path.relative_to(tmp).as_posix()}",
                                    compression_type=CompressionTypes.UNCOMPRESSED) as handle:
                handle.write(path.read_bytes())


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
            try:
                os.write(fd, str(os.getpid()).encode())
            except OSError as exc:
                # A full disk: an empty lock would hold every later run off for the grace time.
                os.close(fd)
                with contextlib.suppress(OSError):
                    lock_path.unlink()
                raise PublishError(f"cannot write the publish lock ({errno.errorcode.get(exc.errno, 'OSError')})") from exc
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
        return _publish_by_manifest(output, run_id)
    stage = Path(staging_root(output, run_id))
    if not stage.is_dir():
        raise PublishError(f"no staged run {run_id} to publish")
    out = Path(output)
    with publish_lock(output):
        _stamp_publish_order(stage, run_id)
        steps = _publish_plan(stage, out, run_id, replace_dates)
        journal = out / JOURNAL / f"{run_id}.json"
        write_json(str(journal), {"run_id": run_id, "steps": steps})
        crash_point("publish:journaled")
        _run_plan(out, journal, steps)
    shutil.rmtree(out / TRASH / run_id, ignore_errors=True)
    shutil.rmtree(stage, ignore_errors=True)
    return [step["dst"] for step in steps if step["op"] == "move"]


def _stamp_publish_order(stage: Path, run_id: str) -> None:
    """Record in the staged manifest when the run publishes, under the lock (local outputs).

    Runs publish in lock order, which need not be their ``finished_at`` order; readers of the
    manifests (:func:`live_files`, the integrity check) must apply them in the order the disk
    saw them."""
    path = stage / "runs" / run_id / "manifest.json"
    if path.is_file():
        manifest = json.loads(path.read_text(encoding="utf-8"))
        manifest["published_at"] = datetime.now(timezone.utc).isoformat()
        write_json(str(path), manifest)


def recover_interrupted_publishes(output: str) -> List[str]:
    """Finish publishes a killed run left journaled; drop staging of runs that died.

    Returns the run ids whose publish was completed. Object stores have nothing to finish (a
    run without its manifest never published); their leftovers go in the collector that runs
    after each commit.
    """
    if not is_local(output):
        return []
    out = Path(output)
    if not out.exists():
        return []
    completed = []
    with publish_lock(output):
        for journal in sorted((out / JOURNAL).glob("*.json")):
            plan = json.loads(journal.read_text(encoding="utf-8"))
            _run_plan(out, journal, plan["steps"])
            completed.append(plan["run_id"])
            shutil.rmtree(out / TRASH / plan["run_id"], ignore_errors=True)
            shutil.rmtree(Path(staging_root(output, plan["run_id"])), ignore_errors=True)
        for stage in _dead_stagings(output):
            shutil.rmtree(stage, ignore_errors=True)
    return completed


def _dead_stagings(output: str) -> List[Path]:
    """Staged runs nobody will finish: owner gone, no publish journal, not waiting for finalize."""
    out = Path(output)
    launched = set(launched_runs(output))
    return [stage for stage in sorted((out / STAGING).glob("*"))
            if stage.is_dir() and stage.name not in launched and not (out / JOURNAL / f"{stage.name}.json").exists()
            and not _owner_alive(stage)]


def run_started(run_id: str) -> Optional[float]:
    """The start time encoded in a run id (``20261127T150102Z-ab12cd``), or None."""
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return None


def housekeeping(output: str, quarantine_retention_days: float, now: Optional[float] = None) -> Dict[str, List[str]]:
    """Free what earlier runs left behind; every run calls this first, before it writes anything.

    * staging of runs that died (owner process gone, no publish journal, not waiting for
      ``finalize``): a run killed by a full disk must not keep the disk full;
    * ``_trash/<run_id>`` of publishes that completed (no journal left);
    * quarantined runs older than ``quarantine_retention_days`` (by the time in their run id,
      else their folder's modification time).

    Only deletes: it needs no free space and no lock (nothing here is what a live run or a
    journaled publish still needs), so it works on a completely full disk. Object stores:
    quarantine retention only (``collect_garbage`` handles their staging). Returns the run ids
    removed per kind.
    """
    now = time.time() if now is None else now
    horizon = now - quarantine_retention_days * 86400.0
    removed: Dict[str, List[str]] = {"staging": [], "trash": [], "quarantine": []}
    if not is_local(output):
        expired: Dict[str, List[str]] = {}
        for found in list_files(f"{output.rstrip('/')}/{QUARANTINE}/**"):
            run_id = relative_to(f"{output.rstrip('/')}/{QUARANTINE}", found.path).split("/")[0]
            started = run_started(run_id) or found.last_updated_in_seconds or now
            if started < horizon:
                expired.setdefault(run_id, []).append(found.path)
        if expired:
            FileSystems.delete([path for paths in expired.values() for path in paths])
        removed["quarantine"] = sorted(expired)
        return removed
    out = Path(output)
    if not out.is_dir():
        return removed
    for stage in _dead_stagings(output):
        shutil.rmtree(stage, ignore_errors=True)
        removed["staging"].append(stage.name)
    for trash in sorted((out / TRASH).glob("*")):
        if not (out / JOURNAL / f"{trash.name}.json").exists():
            shutil.rmtree(trash, ignore_errors=True)
            removed["trash"].append(trash.name)
    for quarantined in sorted((out / QUARANTINE).glob("*")):
        try:
            started = run_started(quarantined.name) or quarantined.stat().st_mtime
        except OSError:
            continue
        if started < horizon:
            if quarantined.is_dir():
                shutil.rmtree(quarantined, ignore_errors=True)
            else:
                quarantined.unlink()
            removed["quarantine"].append(quarantined.name)
    return removed


def launched_runs(output: str) -> List[str]:
    """Staged runs whose job was submitted to run elsewhere (they wait for ``finalize``)."""
    staging = f"{output.rstrip('/')}/{STAGING}"
    return sorted({relative_to(staging, m.path).split("/")[0]
                   for m in list_files(f"{staging}/*/runs/*/{LAUNCH_FILE}")})


def _process_start(pid: int) -> Optional[str]:
    """When ``pid`` started (clock ticks since boot, from /proc), to tell it from a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return fields[19].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return None


def claim_staging(output: str, run_id: str) -> None:
    """Create the run's staging folder, marked with this process as its owner.

    The owner file holds ``<pid> <process start time>``. If it cannot be written (a full
    disk), the folder is removed again and the error raised: a folder without an owner would
    look like a run starting up.
    """
    if not is_local(output):
        return
    stage = Path(staging_root(output, run_id))
    stage.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    try:
        (stage / OWNER).write_text(f"{pid} {_process_start(pid) or ''}".strip(), encoding="utf-8")
    except OSError:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _owner_alive(stage: Path) -> bool:
    try:
        pid_text, _, started = (stage / OWNER).read_text().strip().partition(" ")
        pid = int(pid_text)
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
    current = _process_start(pid)
    return not (started and current and current != started)   # a reused pid is not the owner


def has_journal(output: str, run_id: str) -> bool:
    """Is a publish of ``run_id`` journaled (started, to be rolled forward by the next run)?"""
    return is_local(output) and (Path(output) / JOURNAL / f"{run_id}.json").exists()


def crash_point(name: str) -> None:
    """Fault injection for the kill tests: SIGKILL this process at a named point."""
    if os.environ.get("GATEKEEPER_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


def quarantine_staged_run(output: str, run_id: str, keep_data: bool = True) -> str:
    """Move a staged run out of the way; nothing of it becomes visible as published.

    ``keep_data`` False (a run that failed before its gate): its staged datasets and Data Docs
    are partial and unvalidated, of no use to a reviewer, and may be what filled the disk;
    they are deleted, the run's small records (tally, manifest, validation) are kept. If the
    quarantine cannot be made (a full disk), the staged run is deleted instead.
    """
    if not is_local(output):
        stage_uri = staging_root(output, run_id)
        target_uri = f"{output.rstrip('/')}/{QUARANTINE}/{run_id}"
        staged = list_files(f"{stage_uri}/**")
        if not keep_data:
            partial = [m.path for m in staged if _is_bulk(relative_to(stage_uri, m.path), run_id)]
            if partial:
                FileSystems.delete(partial)
            staged = [m for m in staged if m.path not in set(partial)]
        if staged:
            FileSystems.rename([m.path for m in staged],
                               [f"{target_uri}/{relative_to(stage_uri, m.path)}" for m in staged])
        return target_uri
    stage = Path(staging_root(output, run_id))
    target = Path(output) / QUARANTINE / run_id
    if not keep_data:
        for bulk in (stage / "datasets", Path(run_dir(str(stage), run_id)) / "data_docs"):
            shutil.rmtree(bulk, ignore_errors=True)
    try:
        if not stage.exists():
            target.mkdir(parents=True, exist_ok=True)
            return str(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(stage, target)
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        return f"nowhere: the staged run was deleted ({errno.errorcode.get(exc.errno, 'OSError')})"
    return str(target)


def _is_bulk(relative: str, run_id: str) -> bool:
    return relative.startswith(("datasets/", f"runs/{run_id}/data_docs/"))


def published_manifests(output: str) -> List[dict]:
    """Manifests of published runs, oldest first."""
    manifests = []
    for found in list_files(f"{output.rstrip('/')}/runs/*/manifest.json"):
        try:
            manifests.append(json.loads(read_text(found.path) or ""))
        except (OSError, json.JSONDecodeError):
            continue
    manifests.sort(key=lambda m: (m.get("started_at") or "", m.get("run_id") or ""))
    return manifests


# ------------------------------------------------------------------ object stores: manifest commit

def _publish_by_manifest(output: str, run_id: str) -> List[str]:
    """Copy a staged run to its final names, then commit it by writing its manifest."""
    stage = staging_root(output, run_id)
    staged = list_files(f"{stage}/**")
    if not staged:
        raise PublishError(f"no staged run {run_id} to publish")
    manifest_rel = f"runs/{run_id}/manifest.json"
    relatives = [relative_to(stage, m.path) for m in staged if not m.path.endswith(f"/{OWNER}")]
    if manifest_rel not in relatives:
        raise PublishError(f"staged run {run_id} has no manifest to commit")
    # Data first, then the run folder, the manifest last: until it exists nothing is published.
    ordered = sorted((r for r in relatives if r != manifest_rel), key=lambda r: (not r.startswith("datasets/"), r))
    for relative in ordered:
        FileSystems.copy([f"{stage}/{relative}"], [f"{output.rstrip('/')}/{relative}"])
    crash_point("publish:copied")
    FileSystems.copy([f"{stage}/{manifest_rel}"], [f"{output.rstrip('/')}/{manifest_rel}"])
    crash_point("publish:committed")
    collect_garbage(output)
    FileSystems.delete([m.path for m in staged])
    return [r for r in ordered if r.startswith("datasets/")]


def _partition(relative: str) -> str:
    return relative.rsplit("/", 1)[0]


def live_files(output: str) -> List[str]:
    """Published dataset files (relative to ``output``) as the committed manifests define them.

    Manifests apply in ``finished_at`` order: a run replaces each partition it wrote (and, for
    the segment datasets, each date it processed, even with no rows left), while the audit and
    tombstone partitions accumulate. Commit records (a purge's file replacements, an audit's
    tombstones; :func:`committed_records`) apply in the same time order. On a local output this
    equals the files on disk.
    """
    return live_files_of(committed_records(output))


# Commit records that are not runs: ``gatekeeper purge`` (files replaced by purged copies) and
# ``gatekeeper audit --tombstone`` (tombstone files added). Each is one JSON object whose
# ``committed_at`` orders it among the run manifests (``finished_at``).
COMMIT_FOLDERS = ("purges", "audits")


def commit_records(output: str) -> List[dict]:
    """Purge and audit commit records of ``output`` (those with a ``committed_at``), oldest first."""
    root = output.rstrip("/")
    records = []
    for folder in COMMIT_FOLDERS:
        for found in list_files(f"{root}/{folder}/*.json"):
            try:
                record = json.loads(read_text(found.path) or "")
            except (OSError, json.JSONDecodeError):
                continue
            if isinstance(record, dict) and record.get("committed_at"):
                records.append(record)
    return sorted(records, key=commit_order)


def committed_records(output: str) -> List[dict]:
    """Published run manifests and commit records in the order they apply."""
    return sorted(_committed(output) + commit_records(output), key=commit_order)


def commit_order(record: dict) -> tuple:
    """When a manifest or record took effect: a local run's ``published_at`` (lock order), else
    its ``finished_at``; a purge's or audit's ``committed_at``."""
    return (record.get("published_at") or record.get("finished_at") or record.get("committed_at") or "",
            record.get("run_id") or record.get("commit_id") or "")


def _committed(output: str) -> List[dict]:
    return [m for m in published_manifests(output) if m.get("status") == "published"]


def live_files_of(committed: List[dict]) -> List[str]:
    """The live files the given committed manifests and records define (see :func:`live_files`)."""
    partitions: Dict[str, List[str]] = {}
    for record in sorted(committed, key=commit_order):
        replaces = record.get("replaces") or {}
        for old, new in sorted(replaces.items()):
            files = partitions.get(_partition(old))
            if files is None or old not in files:
                continue                  # superseded meanwhile: the replacement never became live
            files[files.index(old)] = new
        datasets = record.get("datasets") or {}
        processed = (record.get("selection") or {}).get("processed_dates") or []
        is_run = "run_id" in record
        for name in sorted(set(datasets) | (set(SEGMENT_DATASETS) if is_run else set())):
            files = list((datasets.get(name) or {}).get("files") or [])
            if name in APPEND_ONLY_DATASETS:
                for relative in files:
                    partitions.setdefault(_partition(relative), []).append(relative)
                continue
            replaced = {_partition(r) for r in files}
            if name in SEGMENT_DATASETS:
                replaced |= {f"datasets/{name}/run_date={date}" for date in processed}
            for partition in replaced:
                partitions[partition] = [r for r in files if _partition(r) == partition]
    return sorted(r for files in partitions.values() for r in files)


def referenced_files(committed: List[dict]) -> set:
    """Every dataset file some committed manifest or record names (live or superseded)."""
    referenced = {r for m in committed for entry in (m.get("datasets") or {}).values()
                  for r in (entry or {}).get("files") or []}
    referenced |= {new for m in committed for new in (m.get("replaces") or {}).values() if new}
    return referenced


def delete_uncommitted(output: str, name_prefix: str) -> List[str]:
    """Delete dataset files named ``name_prefix...`` that no committed manifest or record names:
    what a purge or audit killed before its commit left behind. Only where nothing of that kind
    can be in flight (a local output, under the publish lock); object stores leave them to
    :func:`collect_garbage`. Returns the deleted paths."""
    root = output.rstrip("/")
    referenced = referenced_files(committed_records(output))
    doomed = [m.path for m in list_files(f"{root}/datasets/**")
              if m.path.rsplit("/", 1)[-1].startswith(name_prefix) and relative_to(root, m.path) not in referenced]
    if doomed:
        FileSystems.delete(doomed)
    return doomed


def collect_garbage(output: str, now: Optional[float] = None) -> List[str]:
    """Object stores: delete dataset files no committed manifest keeps live, and old staging.

    A file some manifest committed but a later one superseded goes at once; a file no manifest
    references (a killed run's copy, or a run still publishing), and a run folder without its
    manifest, only after ``ORPHAN_GRACE_S``.
    Staging of runs that are not waiting for ``finalize`` goes after ``REMOTE_STAGING_GRACE_S``.
    Returns the deleted paths.
    """
    now = time.time() if now is None else now
    root = output.rstrip("/")
    committed = committed_records(output)
    referenced = referenced_files(committed)
    live = set(live_files_of(committed))
    doomed = []
    for found in list_files(f"{root}/datasets/**"):
        relative = relative_to(root, found.path)
        if relative in live:
            continue
        if relative in referenced or now - (found.last_updated_in_seconds or now) > ORPHAN_GRACE_S:
            doomed.append(found.path)
    committed_ids = {m.get("run_id") for m in committed if m.get("run_id")}
    for found in list_files(f"{root}/runs/**"):
        uncommitted = relative_to(f"{root}/runs", found.path).split("/")[0] not in committed_ids
        if uncommitted and now - (found.last_updated_in_seconds or now) > ORPHAN_GRACE_S:
            doomed.append(found.path)
    launched = set(launched_runs(output))
    staged: Dict[str, List[FileMetadata]] = {}
    for found in list_files(f"{root}/{STAGING}/**"):
        staged.setdefault(relative_to(f"{root}/{STAGING}", found.path).split("/")[0], []).append(found)
    for run_id, files in staged.items():
        newest = max(f.last_updated_in_seconds or now for f in files)
        if run_id not in launched and now - newest > REMOTE_STAGING_GRACE_S:
            doomed.extend(f.path for f in files)
    if doomed:
        FileSystems.delete(doomed)
    return doomed
