"""``gatekeeper validate PATH``: re-check an existing output with the same suites.

PATH is a published OUTPUT directory, a staged or quarantined run directory
(``OUTPUT/_staging/<run_id>/``, ``OUTPUT/_quarantine/<run_id>/``: same shape), or
one dataset folder (``.../datasets/<dataset>``), local or ``gs://`` (there a published
OUTPUT is read through its committed manifests, as readers do). The files are also checked
against the integrity records of the manifests (``pipeline.integrity``): a changed, missing or
unexpected file is a critical failure that names the file. Every Parquet file is read on
its own, record batch by record batch (at most ``batch_rows`` rows in memory per
batch); outcomes are merged; uniqueness and ordering are tracked across files
with ids and start times only. When manifests are present, the run-level checks
run for the latest one, with the others as history.

Exit codes: 0 passed (warnings allowed), 3 a critical expectation failed,
2 PATH missing, not a gatekeeper output, or the suites are unusable.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, TextIO, Tuple

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from expectations.model import MAX_SAMPLE_IDS, ExpectationOutcome, ValidationReport, merge_reports
from expectations.run_level import evaluate_run_level
from expectations.runner import BatchValidator, complete_with_suites, ordering_outcome, out_of_order_ids, uniqueness_outcome
from expectations.suites import ExpectationSpec, Suite, SuiteError, load_suites
from pipeline import publish
from pipeline.integrity import integrity_outcomes, verify_against
from transforms.schemas import DATASET_SCHEMAS, accepted_schemas

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CRITICAL = 3
DEFAULT_BATCH_ROWS = 5000


class NotGatekeeperOutput(ValueError):
    """PATH does not exist or does not have the gatekeeper output layout."""


def _dataset_files(root: str) -> Tuple[str, Dict[str, List[str]], bool]:
    """(the output or run folder, {dataset: [file relative to it]}, whether PATH is that whole
    folder rather than one dataset folder of it) for PATH, or NotGatekeeperOutput.

    A published object-store OUTPUT lists its live files (the committed manifests); anything
    else lists the Parquet files found under each dataset folder."""
    root = root.rstrip("/")
    if publish.is_local(root) and not Path(root).is_dir() or not publish.is_local(root) and not publish.has_files(root):
        raise NotGatekeeperOutput("path_missing")
    parent, name = root.rsplit("/", 1) if "/" in root else ("", root)
    if parent.rsplit("/", 1)[-1] == "datasets" and name in DATASET_SCHEMAS:
        base, only = parent.rsplit("/", 1)[0], name
    elif publish.has_files(f"{root}/datasets"):
        base, only = root, None
    else:
        raise NotGatekeeperOutput("not_a_gatekeeper_output")
    if not publish.is_local(base) and any(m.get("status") == "published" for m in _manifests(base)):
        found = publish.live_files(base)
    else:
        found = [publish.relative_to(base, m.path) for m in publish.list_files(f"{base}/datasets/**")
                 if m.path.endswith(".parquet")]
    files: Dict[str, List[str]] = {}
    for relative in sorted(found):
        dataset = relative.split("/")[1]
        if dataset in DATASET_SCHEMAS and (only is None or dataset == only):
            files.setdefault(dataset, []).append(relative)
    if only is not None:
        files.setdefault(only, [])
    elif publish.is_local(base):
        for folder in sorted((Path(base) / "datasets").iterdir()):
            if folder.is_dir() and folder.name in DATASET_SCHEMAS:
                files.setdefault(folder.name, [])
    return base, dict(sorted(files.items())), only is None


def _manifests(root: str) -> List[dict]:
    paths = [m.path for m in publish.list_files(f"{root.rstrip('/')}/runs/*/manifest.json")]
    if publish.read_text(f"{root.rstrip('/')}/manifest.json") is not None:
        paths.append(f"{root.rstrip('/')}/manifest.json")
    manifests = []
    for path in paths:
        try:
            manifest = json.loads(publish.read_text(path) or "")
        except (OSError, ValueError):
            log.warning("unreadable manifest skipped (%s)", path.rsplit("/", 2)[-2])
            continue
        if isinstance(manifest, dict):
            manifests.append(manifest)
    return sorted(manifests, key=lambda m: str(m.get("run_id", "")))


def _integrity(base: str, manifests: List[dict], datasets: List[str]) -> List[ExpectationOutcome]:
    """Check the files against the records: the committed ones of a published OUTPUT, or the
    run's own manifest in a staged or quarantined run folder."""
    published = [m for m in manifests if m.get("status") == "published"]
    committed = publish.committed_records(base) if published else manifests
    return integrity_outcomes(verify_against(base, committed, set(datasets)), datasets)


def _open_parquet(uri: str) -> pq.ParquetFile:
    return pq.ParquetFile(uri if publish.is_local(uri) else FileSystems.open(uri))


class _CrossFileChecks:
    """Uniqueness and ordering over all files of one dataset (ids and start times only).

    A published output holds many runs, and a nightly run may publish the same
    segment again, so ids must be unique *within a run*: keys are (run_id, id)
    and ordering is checked per (run_id, artifact_id).
    """

    def __init__(self, dataset: str, suite: Suite):
        self.dataset = dataset
        self.unique = suite.of_type("gatekeeper_ids_unique_across_batches")
        self.ordered = suite.of_type("gatekeeper_timestamps_ordered_within_artifact")
        self.id_counts: Dict[str, Counter] = {s.expectation_id: Counter() for s in self.unique}  # (run_id, id) -> n
        self.rows: Dict[str, int] = {s.expectation_id: 0 for s in self.unique}
        self.starts: Dict[str, Dict[Tuple[str, str], List[Tuple[str, Optional[int]]]]] = {
            s.expectation_id: defaultdict(list) for s in self.ordered}

    def add(self, rows: Sequence[dict]) -> None:
        for spec in self.unique:
            column = str(spec.kwargs["column"])
            ids = [(str(r.get("run_id")), str(r[column])) for r in rows if r.get(column) is not None]
            self.id_counts[spec.expectation_id].update(ids)
            self.rows[spec.expectation_id] += len(ids)
        for spec in self.ordered:
            group, order = str(spec.kwargs.get("group_column", "artifact_id")), str(spec.kwargs.get("order_column", "segment_id"))
            time = str(spec.kwargs.get("time_column", "start_ms"))
            by_artifact = self.starts[spec.expectation_id]
            for r in rows:
                if r.get(group) is not None and r.get(order) is not None:
                    start = r.get(time)
                    by_artifact[(str(r.get("run_id")), str(r[group]))].append(
                        (str(r[order]), start if isinstance(start, int) else None))

    def outcomes(self) -> List[ExpectationOutcome]:
        results = []
        for spec in self.unique:
            duplicated = [(row_id, c) for (_, row_id), c in self.id_counts[spec.expectation_id].items() if c > 1]
            results.append(uniqueness_outcome(self.dataset, spec, self.rows[spec.expectation_id], duplicated))
        for spec in self.ordered:
            by_artifact = self.starts[spec.expectation_id]
            bad_per_artifact = [out_of_order_ids(entries) for entries in by_artifact.values()]
            bad = sorted(i for ids in bad_per_artifact for i in ids)
            rows = sum(len(e) for e in by_artifact.values())
            outcome = ordering_outcome(self.dataset, spec, rows, len(by_artifact), bad, sum(1 for b in bad_per_artifact if b))
            results.append(outcome)
        return results


def _file_schema_outcome(dataset: str, spec: ExpectationSpec, relative: str, schema: Optional[pa.Schema], rows: int) -> ExpectationOutcome:
    ok = schema is not None and any(schema.remove_metadata().equals(expected.remove_metadata(), check_metadata=False)
                                    for expected in accepted_schemas(dataset))
    detail = "" if ok else ("unreadable_parquet" if schema is None else "schema_mismatch")
    return ExpectationOutcome(dataset, spec.expectation_id, spec.expectation_type, spec.severity, ok, 1, 0 if ok else 1,
                              () if ok else (relative,), detail)


def _iter_batches(parquet_file: pq.ParquetFile, batch_rows: int) -> Iterator[List[dict]]:
    for record_batch in parquet_file.iter_batches(batch_size=batch_rows):
        yield record_batch.to_pylist()


def validate_path(path: str, suites_dir: Optional[str] = None, batch_rows: int = DEFAULT_BATCH_ROWS) -> ValidationReport:
    """Validate an existing output directory; raises NotGatekeeperOutput or SuiteError."""
    root, datasets, whole = _dataset_files(path)
    all_manifests = _manifests(root)
    manifests = all_manifests if whole else []
    suites = load_suites(sorted(datasets), suites_dir)
    validator = BatchValidator(suites) if datasets else None
    outcomes: List[ExpectationOutcome] = []
    for dataset, relatives in datasets.items():
        suite = suites[dataset]
        cross = _CrossFileChecks(dataset, suite)
        file_specs = suite.of_type("gatekeeper_parquet_schema_matches")
        for relative in relatives:
            try:
                parquet_file = _open_parquet(f"{root}/{relative}")
                schema: Optional[pa.Schema] = parquet_file.schema_arrow
            except Exception:   # missing or unreadable, on any filesystem: a critical failure below
                log.debug("unreadable parquet file", exc_info=True)
                parquet_file, schema = None, None
            outcomes.extend(_file_schema_outcome(dataset, s, relative, schema, 0) for s in file_specs)
            if parquet_file is None:
                continue
            try:
                for rows in _iter_batches(parquet_file, batch_rows):
                    outcomes.extend(validator.validate_rows(dataset, rows))
                    cross.add(rows)
            except (OSError, pa.ArrowException):
                outcomes.extend(
                    ExpectationOutcome(dataset, s.expectation_id, s.expectation_type, s.severity, False, 1, 1, (relative,), "unreadable_parquet")
                    for s in file_specs
                )
        outcomes.extend(cross.outcomes())
    outcomes = complete_with_suites(outcomes, suites)
    outcomes.extend(_integrity(root, all_manifests, sorted(datasets)))
    if manifests:
        latest = manifests[-1]
        outcomes.extend(evaluate_run_level(latest, manifests[:-1], suites_dir))
    run_id = str(manifests[0].get("run_id")) if len(manifests) == 1 else "validate-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return merge_reports(run_id, outcomes)


def exit_code_for(report: ValidationReport) -> int:
    return EXIT_OK if report.success else EXIT_CRITICAL


def format_outcome_line(outcome: ExpectationOutcome) -> str:
    """One line, ids and counts only."""
    ids = ",".join(outcome.sample_row_ids[:MAX_SAMPLE_IDS])
    line = (f"{outcome.severity.upper()} {outcome.dataset} {outcome.expectation_id} "
            f"unexpected={outcome.unexpected_count}/{outcome.element_count}")
    if ids:
        line += f" ids={ids}"
    if outcome.detail:
        line += f" ({outcome.detail})"
    return line


def main_validate(path: str, suites_dir: Optional[str] = None, report_json: Optional[str] = None,
                  out: TextIO = sys.stdout) -> int:
    """Body of ``gatekeeper validate PATH``: prints a summary, returns 0 / 3 / 2."""
    try:
        report = validate_path(path, suites_dir)
    except NotGatekeeperOutput as exc:
        print(f"validate: {exc}", file=out)
        return EXIT_USAGE
    except SuiteError as exc:
        print(f"validate: invalid suites ({exc})", file=out)
        return EXIT_USAGE
    for outcome in report.critical_failures + report.warnings:
        print(format_outcome_line(outcome), file=out)
    status = "passed" if report.success else "FAILED"
    print(f"validation {status}: {len(report.critical_failures)} critical failure(s), "
          f"{len(report.warnings)} warning(s), {len(report.outcomes)} outcome(s)", file=out)
    if report_json:
        Path(report_json).write_text(report.to_json(), encoding="utf-8")
    return exit_code_for(report)
