"""Tamper evidence: what each published file was when it was committed, and the check of it.

Every run's manifest records, per dataset file it publishes, ``file_integrity[path] = {bytes,
rows, sha256, schema}`` (``schema``: a fingerprint of the file's Arrow schema), computed from
the staged files before they are published. A purge that rewrites files, and an audit that adds
tombstones, commit a record with the new files' entries (``pipeline.publish.commit_records``);
the latest record naming a path is what the path must be.

:func:`verify_output` compares the live files of an output (local or ``gs://``) with those
records: a live file that is missing, or whose size, SHA-256, row count or schema differ, and a
file under ``datasets/`` that no record accounts for, are problems. Files are streamed
(``CHUNK_BYTES`` at a time), never read whole into memory. Outputs whose manifests predate
these records are not verified (``VerifyResult.legacy``): there is nothing to verify against.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.filesystems import FileSystems

from pipeline import publish

CHUNK_BYTES = 4 << 20
COMMIT_COPY_PREFIXES = ("part-purge-", "part-audit-")   # files a purge / audit writes before its commit
INTEGRITY_KEY = "file_integrity"
COMPARED = ("bytes", "sha256", "rows", "schema")


def _type_text(arrow_type: pa.DataType) -> str:
    """A type as text, without the names Parquet readers give list items ("item", "element")."""
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        prefix = "large_list" if pa.types.is_large_list(arrow_type) else "list"
        return f"{prefix}<{_type_text(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct<" + ", ".join(f"{f.name}: {_type_text(f.type)}{'' if f.nullable else ' not null'}"
                                     for f in arrow_type) + ">"
    return str(arrow_type)


def schema_fingerprint(schema: pa.Schema) -> str:
    """SHA-256 of the field names, types and nullability (metadata ignored)."""
    text = "\n".join(f"{f.name}\t{_type_text(f.type)}\t{'null' if f.nullable else 'not null'}" for f in schema)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _open(uri: str):
    return open(uri, "rb") if publish.is_local(uri) else FileSystems.open(uri)


def file_digest(uri: str) -> dict:
    """``{bytes, rows, sha256, schema}`` of one Parquet file, read as a stream.

    ``rows`` and ``schema`` are None when the bytes are not a readable Parquet file.
    """
    sha = hashlib.sha256()
    size = 0
    with _open(uri) as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            if not chunk:
                break
            sha.update(chunk)
            size += len(chunk)
        rows: Optional[int] = None
        schema: Optional[str] = None
        try:
            handle.seek(0)
            parquet = pq.ParquetFile(handle)
            rows, schema = parquet.metadata.num_rows, schema_fingerprint(parquet.schema_arrow)
        except (OSError, ValueError, pa.ArrowException):
            pass
    return {"bytes": size, "rows": rows, "sha256": sha.hexdigest(), "schema": schema}


def file_digests(root: str, relatives: List[str]) -> Dict[str, dict]:
    """``{relative path: digest}`` for files under ``root`` (what a manifest records)."""
    base = root.rstrip("/")
    return {relative: file_digest(f"{base}/{relative}") for relative in relatives}


def expected_digests(committed: List[dict]) -> Dict[str, Optional[dict]]:
    """Per path, the digest the latest committed record gives it (None: a record without any)."""
    expected: Dict[str, Optional[dict]] = {}
    for record in sorted(committed, key=publish.commit_order):
        digests = record.get(INTEGRITY_KEY)
        digests = digests if isinstance(digests, dict) else {}
        for relative in publish.referenced_files([record]):
            expected[relative] = digests.get(relative)
        expected.update(digests)
    return expected


@dataclass(frozen=True)
class FileProblem:
    """One file that is not what the committed records say. No content, only the path and facts."""

    path: str                          # relative to the output
    problem: str                       # changed | missing | unexpected | unrecorded
    differs: Tuple[str, ...] = ()      # for changed: which of bytes, sha256, rows, schema

    @property
    def critical(self) -> bool:
        return self.problem != "unrecorded"

    def line(self) -> str:
        if self.problem == "changed":
            return f"{self.path}: changed ({', '.join(self.differs)} differ from the committed record)"
        if self.problem == "missing":
            return f"{self.path}: missing (committed, not found)"
        if self.problem == "unexpected":
            return f"{self.path}: unexpected (no committed manifest or record names it)"
        return f"{self.path}: not verifiable (published before integrity records)"


@dataclass
class VerifyResult:
    checked_paths: List[str] = field(default_factory=list)
    problems: List[FileProblem] = field(default_factory=list)
    legacy: bool = False               # no committed record carries integrity entries
    pending: int = 0                   # object stores: copies of runs still publishing or killed

    @property
    def checked(self) -> int:
        return len(self.checked_paths)

    @property
    def critical(self) -> List[FileProblem]:
        return [p for p in self.problems if p.critical]

    @property
    def ok(self) -> bool:
        return not self.critical

    def summary(self) -> str:
        if self.legacy:
            return "verify: no integrity records (output published before they existed); nothing verified"
        state = "passed" if self.ok else "FAILED"
        return (f"verify {state}: {self.checked} live file(s) checked, {len(self.critical)} problem(s)"
                + (f", {len(self.problems) - len(self.critical)} not verifiable" if len(self.problems) > len(self.critical) else "")
                + (f", {self.pending} uncommitted copies of runs in flight ignored" if self.pending else ""))


def _listed(root: str) -> Dict[str, FileMetadata]:
    return {publish.relative_to(root, found.path): found for found in publish.list_files(f"{root}/datasets/**")}


def verify_against(root: str, committed: List[dict], datasets: Optional[set] = None) -> VerifyResult:
    """Check the files under ``root/datasets`` against ``committed`` (manifests and records)."""
    root = root.rstrip("/")
    result = VerifyResult()
    if not any(isinstance(r.get(INTEGRITY_KEY), dict) for r in committed if r.get("run_id")):
        result.legacy = True
        return result

    def wanted(relative: str) -> bool:
        return datasets is None or relative.split("/")[1] in datasets

    live = [r for r in publish.live_files_of(committed) if wanted(r)]
    expected = expected_digests(committed)
    listed = {r: m for r, m in _listed(root).items() if wanted(r)}
    for relative in live:
        result.checked_paths.append(relative)
        if relative not in listed:
            result.problems.append(FileProblem(relative, "missing"))
            continue
        recorded = expected.get(relative)
        if not recorded:
            result.problems.append(FileProblem(relative, "unrecorded"))
            continue
        actual = file_digest(f"{root}/{relative}")
        differs = tuple(key for key in COMPARED if recorded.get(key) != actual.get(key))
        if differs:
            result.problems.append(FileProblem(relative, "changed", differs))
    extra = sorted(set(listed) - set(live))
    if extra and not publish.is_local(root):
        # Object stores keep what the collector has not deleted yet: superseded files, the copies
        # of runs that are publishing now or were killed (their staging is still there), and
        # younger than the collector's grace, copies of a purge or audit not committed (yet).
        referenced = publish.referenced_files(committed)
        staged = {publish.relative_to(f"{root}/{publish.STAGING}", m.path).split("/")[0]
                  for m in publish.list_files(f"{root}/{publish.STAGING}/**")}
        now = time.time()
        young = {r for r, m in listed.items() if now - (m.last_updated_in_seconds or now) < publish.ORPHAN_GRACE_S}
        kept = [r for r in extra if r in referenced or _copy_of_staged_run(r, staged)
                or (r in young and r.rsplit("/", 1)[-1].startswith(COMMIT_COPY_PREFIXES))]
        result.pending = len(kept)
        extra = [r for r in extra if r not in kept]
    result.problems.extend(FileProblem(relative, "unexpected") for relative in extra)
    return result


def _copy_of_staged_run(relative: str, staged_runs: set) -> bool:
    """Is this ``part-<run_id>-...`` file a copy made by a run whose staging still exists?"""
    name = relative.rsplit("/", 1)[-1]
    return any(name.startswith(f"part-{run_id}-") for run_id in staged_runs)


def verify_output(output: str, datasets: Optional[set] = None) -> VerifyResult:
    """Verify the live files of a published output against its committed manifests and records."""
    return verify_against(output, publish.committed_records(output), datasets)


INTEGRITY_EXPECTATION = "integrity.files_match_manifest"


def integrity_outcomes(result: VerifyResult, datasets: List[str]):
    """The verification as validation outcomes: one per dataset, critical, naming the files.

    ``detail`` names each file and what differs (cut at 500 characters: ``gatekeeper files
    --verify`` lists every file)."""
    from expectations.model import CRITICAL, WARNING, ExpectationOutcome

    if result.legacy:
        return []
    outcomes = []
    by_dataset: Dict[str, List[FileProblem]] = {}
    for problem in result.problems:
        by_dataset.setdefault(problem.path.split("/")[1], []).append(problem)
    for dataset in sorted(set(datasets) | set(by_dataset)):
        problems = by_dataset.get(dataset, [])
        critical = [p for p in problems if p.critical]
        outcomes.append(ExpectationOutcome(
            dataset, INTEGRITY_EXPECTATION, "gatekeeper_files_match_manifest",
            CRITICAL if critical or not problems else WARNING, not problems,
            sum(1 for p in result.checked_paths if p.split("/")[1] == dataset) + sum(p.problem == "unexpected" for p in problems),
            len(problems), (), "; ".join(p.line() for p in problems)))   # the paths are in the detail
    return outcomes
