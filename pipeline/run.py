"""One gatekeeper run: build the Beam pipeline, run it into staging, gate, publish.

ReadMeetingArtifacts → GateOnConsent → RedactPii → ValidateOutput → WriteParquet, then the
driver checks the run's accounting, ledger errors and validation, and either publishes the
staged output atomically or quarantines it.
"""
from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import asdict, dataclass, is_dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from pipeline import publish
from pipeline.config import RunFailed
from pipeline.forked_workers import WorkerForkServer, forked_workers_runner
from pipeline.manifest import build_manifest, collect_metrics, render_summary
from pipeline.options import RunOptions, beam_pipeline_options, parse_timestamp
from pipeline.progress import Progress
from transforms.ingest import MeetingSelection, ReadMeetingArtifacts
from transforms.revocation import TombstonesForRun
from transforms.schemas import AUDIT_DATASET, DEAD_LETTER_DATASET, SEGMENT_DATASETS, TOMBSTONE_DATASET
from transforms.tally import RunTally
from transforms.write import WriteParquet, audit_row, dead_letter_row, segment_row

if TYPE_CHECKING:
    from expectations.data_docs import ModuleRunner

LOG = logging.getLogger("gatekeeper")

EXIT_PUBLISHED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_VALIDATION = 3

TALLY_FILE = "_tally.json"
LEDGER_ERRORS_FILE = "_ledger_errors.jsonl"
BATCH_VALIDATION_FILE = "_validation_batches.json"
DATES_FILE = "_dates.json"
LAUNCH_FILE = publish.LAUNCH_FILE


def _record_json(record) -> str:
    payload = asdict(record) if is_dataclass(record) else record
    return json.dumps(payload, sort_keys=True, default=lambda v: getattr(v, "value", str(v)))


def _write_single(pcoll, uri: str, label: str):
    return pcoll | label >> beam.io.WriteToText(uri, shard_name_template="", num_shards=1)


def build_pipeline(pipeline: beam.Pipeline, options: RunOptions,
                   changed_since: Optional[Watermark] = None) -> None:
    """Attach every stage of one run to ``pipeline``, writing under the run's staging area."""
    from transforms.consent.gate import GateOnConsent
    from transforms.consent.ledger import ERRORS, EVENTS, ReadConsentLedger
    from transforms.redaction.transform import RedactPii
    from transforms.validate import ValidateOutput

    config = options.config
    stage_root = publish.staging_root(options.output_uri, options.run_id)
    run_folder = publish.run_dir(stage_root, options.run_id)
    selection = MeetingSelection(
        dates=frozenset(options.selected_dates) if options.selected_dates is not None else None,
        changed_since=changed_since.files if changed_since else None)

    ledger = pipeline | "ReadConsentLedger" >> ReadConsentLedger(options.consent_uri)
    changed_subjects = None
    if changed_since is not None:
        changed_subjects = ledger[EVENTS] | "ConsentChangedSubjects" >> beam.FlatMap(
            _changed_subject, changed_since.consent, options.as_of) | "DistinctChangedSubjects" >> beam.Distinct()
    ingested = pipeline | "ReadMeetingArtifacts" >> ReadMeetingArtifacts(
        options.input_uri, config.ingest, selection, changed_subjects)
    gated = {
        "meetings": ingested["meetings"],
        "artifacts": ingested["artifacts"],
        "dead_letters": ingested["dead_letters"],
        "ledger_events": ledger[EVENTS],
    } | "GateOnConsent" >> GateOnConsent(None, options.as_of, config.consent)
    redacted = gated["gated"] | "RedactPii" >> RedactPii(
        config_path=config.redaction.config_path or None,
        pseudonym_key=options.pseudonym_key,
        pseudonym_scope=config.redaction.pseudonym_scope,
        batch_size=config.redaction.batch_size,
        run_id=options.run_id,
    )
    segments = redacted["segments"]
    decisions = (gated["decisions"], redacted["dropped"]) | "AllDecisions" >> beam.Flatten()

    rows: Dict[str, beam.PCollection] = {}
    for kind in SEGMENT_DATASETS:
        rows[kind] = (
            segments
            | f"Select[{kind}]" >> beam.Filter(lambda s, k=kind: s.kind == k)
            | f"Rows[{kind}]" >> beam.Map(lambda s: (s.meeting_date, segment_row(s)))
        )
    run_date, run_id = options.run_date, options.run_id   # the lambdas must not capture `options`
    rows[AUDIT_DATASET] = decisions | "AuditRows" >> beam.Map(lambda d: (run_date, audit_row(d, run_id)))
    rows[DEAD_LETTER_DATASET] = ingested["dead_letters"] | "DeadLetterRows" >> beam.Map(
        lambda d: (run_date, dead_letter_row(d, run_id)))

    report = {name: dated | f"Undate[{name}]" >> beam.Values() for name, dated in rows.items()} | (
        "ValidateOutput" >> ValidateOutput(
            suites_dir=config.validation.suites_dir or None,
            batch_rows=config.validation.batch_rows,
            run_id=options.run_id,
        ))
    _write_single(report | "ReportJson" >> beam.Map(lambda r: json.dumps(r.to_dict(), sort_keys=True)),
                  f"{run_folder}/{BATCH_VALIDATION_FILE}", "WriteBatchValidation")
    tombstones = {"decisions": gated["decisions"], "meetings": ingested["meetings"]} | (
        "TombstonesForRun" >> TombstonesForRun(options.output_uri, options.run_id))
    rows[TOMBSTONE_DATASET] = tombstones | "DateTombstones" >> beam.Map(lambda row: (run_date, row))
    rows | "WriteParquet" >> WriteParquet(stage_root, options.run_id)

    tally = {
        "artifacts": ingested["artifacts"],
        "dead_letters": ingested["dead_letters"],
        "skipped": ingested["skipped"],
        "decisions": decisions,
        "gated": gated["gated"],
        "segments": segments,
    } | "RunTally" >> RunTally()
    _write_single(tally, f"{run_folder}/{TALLY_FILE}", "WriteTally")
    _write_single(ingested["dates"] | "DatesList" >> beam.combiners.ToList()
                  | "DatesJson" >> beam.Map(lambda dates: json.dumps(sorted(dates))),
                  f"{run_folder}/{DATES_FILE}", "WriteDates")
    _write_single(ledger[ERRORS] | "LedgerErrorJson" >> beam.Map(_record_json),
                  f"{run_folder}/{LEDGER_ERRORS_FILE}", "WriteLedgerErrors")


def _changed_subject(event, since: datetime, as_of: datetime):
    """A ledger subject whose consent state changed in (since, as_of]: a new event or an expiry."""
    changed = since < event.effective_at <= as_of
    expires_at = getattr(event, "expires_at", None)
    if expires_at is not None and since < expires_at <= as_of:
        changed = True
    if changed:
        yield event.subject_key


def _read_jsonl(uri: str) -> List[dict]:
    text = publish.read_text(uri) or ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Watermark:
    """What a run covered: files listed before ``files``, consent effective up to ``consent``."""

    files: datetime
    consent: datetime

    def to_dict(self) -> dict:
        return {"files": self.files.isoformat(), "consent": self.consent.isoformat()}

    @classmethod
    def from_dict(cls, raw: dict) -> "Watermark":
        return cls(files=parse_timestamp(raw["files"], "watermark"),
                   consent=parse_timestamp(raw["consent"], "watermark"))


@dataclass(frozen=True)
class LaunchRecord:
    """What ``gatekeeper finalize`` needs to finish a run whose job ran elsewhere. No secrets."""

    options: dict
    started_at: str
    since: Optional[dict]

    @classmethod
    def of(cls, options: RunOptions, started: datetime, since: Optional[Watermark]) -> "LaunchRecord":
        return cls(
            options={
                "input_uri": options.input_uri, "consent_uri": options.consent_uri,
                "output_uri": options.output_uri, "as_of": options.as_of.isoformat(),
                "run_date": options.run_date, "run_id": options.run_id, "config": options.config.to_dict(),
                "key_source": {"kind": options.pseudonym_key.kind, "ref": options.pseudonym_key.ref},
                "selected_dates": list(options.selected_dates) if options.selected_dates is not None else None,
                "since": options.since, "log_format": options.log_format,
            },
            started_at=started.isoformat(),
            since=since.to_dict() if since else None,
        )

    def to_dict(self) -> dict:
        return {"options": self.options, "started_at": self.started_at, "since": self.since}

    def run_options(self) -> RunOptions:
        from pipeline.config import PseudonymKeySource, load_config

        raw = self.options
        return RunOptions(
            input_uri=raw["input_uri"], consent_uri=raw["consent_uri"], output_uri=raw["output_uri"],
            as_of=parse_timestamp(raw["as_of"], "as_of"), run_date=raw["run_date"], run_id=raw["run_id"],
            config=load_config(None, overrides=raw["config"]),
            pseudonym_key=PseudonymKeySource(**raw["key_source"]),
            selected_dates=tuple(raw["selected_dates"]) if raw["selected_dates"] is not None else None,
            since=raw["since"], log_format=raw["log_format"])


def finalize_runs(output: str, progress: Optional[Progress] = None) -> List[Tuple[str, int]]:
    """Validate and publish (or quarantine) every submitted run whose job has finished.

    A finished job has written its accounting (``_tally.json``); runs still in flight are left.
    Returns (run id, exit code) per run finalized.
    """
    progress = progress or Progress()
    done = []
    for run_id in publish.launched_runs(output):
        run_folder = publish.run_dir(publish.staging_root(output, run_id), run_id)
        if publish.read_text(f"{run_folder}/{TALLY_FILE}") is None:
            continue
        launch = json.loads(publish.read_text(f"{run_folder}/{LAUNCH_FILE}"))
        record = LaunchRecord(launch["options"], launch["started_at"], launch["since"])
        watermark = Watermark.from_dict(launch["since"]) if launch["since"] else None
        try:
            code = finish_run(record.run_options(), parse_timestamp(launch["started_at"], "started_at"),
                              watermark, {}, progress)
        except RunFailed as failed:
            progress.summary(f"gatekeeper: {run_id}: {failed}")
            code = failed.exit_code
        done.append((run_id, code))
    return done


def resolve_since(since: Optional[str], output: str) -> Optional[Watermark]:
    """The --since watermark: an explicit time, or the watermark of the last published run.

    With no earlier published run, ``last-success`` means everything (None).
    """
    if not since:
        return None
    if since != "last-success":
        at = parse_timestamp(since, "--since")
        return Watermark(files=at, consent=at)
    for manifest in reversed(publish.published_manifests(output)):
        mark = manifest.get("watermark")
        if manifest.get("status") == "published" and isinstance(mark, dict):
            return Watermark.from_dict(mark)
    return None


def _check_inputs(options: RunOptions) -> None:
    from transforms.consent.ledger import LedgerError, check_ledger_reachable

    if not publish.has_files(options.input_uri):
        raise RunFailed(EXIT_USAGE, "input folder does not exist")
    try:
        check_ledger_reachable(options.consent_uri)
    except LedgerError as exc:
        raise RunFailed(EXIT_USAGE, f"consent ledger unusable: {exc}") from None


def _submitted_only(result, pipeline_options) -> bool:
    """True when the runner only described or submitted the job (template, Flex launch, dry run)."""
    from apache_beam.options.pipeline_options import TestOptions

    return getattr(result, "has_job", True) is False or bool(pipeline_options.view_as(TestOptions).dry_run)


def execute_run(options: RunOptions, progress: Optional[Progress] = None,
                fork_server: Optional[WorkerForkServer] = None) -> int:
    """Run the pipeline, then publish or quarantine. Returns the exit code.

    ``fork_server``: the local runner's worker processes are its forks (its client is their
    command, see ``pipeline.forked_workers``) instead of Beam's own; so are the driver's
    Data Docs, which then need no GE import in this process.

    When the runner only describes or submits the job (template generation, a Flex Template
    launch, ``--dry_run``) or the run was asked to (``--submit-only``: an orchestrator waits for
    the job itself), the run stops after writing its launch record; ``gatekeeper finalize``
    validates and publishes it once the job has finished.
    """
    progress = progress or Progress(enabled=options.progress, as_json=options.log_format == "json")
    started = datetime.now(timezone.utc)
    _check_inputs(options)
    output = options.output_uri
    with _disk_full_fails(output, options.run_id):
        # Deletions only, no lock: works on a full disk, and frees what dead runs left there.
        publish.housekeeping(output, options.config.output.quarantine_retention_days)
        publish.recover_interrupted_publishes(output)
        publish.claim_staging(output, options.run_id)
    changed_since = resolve_since(options.since, output)
    run_folder = publish.run_dir(publish.staging_root(output, options.run_id), options.run_id)

    progress.stage(f"run {options.run_id}: pipeline starting", since_watermark=bool(changed_since))
    pipeline_options = beam_pipeline_options(options.beam_args)
    try:
        runner = forked_workers_runner(fork_server.worker_command()) if fork_server else None
        pipeline = beam.Pipeline(runner=runner, options=pipeline_options)
        build_pipeline(pipeline, options, changed_since)
        result = pipeline.run()
        if options.submit_only or _submitted_only(result, pipeline_options):
            launch = LaunchRecord.of(options, started, changed_since)
            publish.write_json(f"{run_folder}/{LAUNCH_FILE}", launch.to_dict())
            progress.summary(f"gatekeeper run {options.run_id}: SUBMITTED (the job was described or "
                             f"submitted, not run here); when it has finished: "
                             f"gatekeeper finalize --output {output}")
            return EXIT_PUBLISHED
        result.wait_until_finish()
    except Exception as exc:
        # Its partial datasets go: unvalidated, and perhaps what filled the disk.
        publish.quarantine_staged_run(output, options.run_id, keep_data=False)
        LOG.debug("pipeline failure", exc_info=True)
        if publish.is_disk_full(exc):
            raise RunFailed(EXIT_FAILED, f"pipeline failed: {_DISK_FULL}; nothing published") from None
        raise RunFailed(EXIT_FAILED, f"pipeline failed ({type(exc).__name__}); nothing published") from None
    metrics = collect_metrics(result)
    progress.stage("pipeline finished", files_matched=metrics.get("ingest:files_matched", 0),
                   meetings=metrics.get("ingest:meetings", 0),
                   artifacts_parsed=sum(v for k, v in metrics.items() if k.startswith("ingest:artifacts.")),
                   segments_written=sum(metrics.get(f"write:rows.{kind}", 0) for kind in SEGMENT_DATASETS))
    with _disk_full_fails(output, options.run_id):
        return finish_run(options, started, changed_since, metrics, progress,
                          run_module=fork_server.run_module if fork_server else None)


_DISK_FULL = "no space left on the output's disk"


@contextlib.contextmanager
def _disk_full_fails(output: str, run_id: str):
    """A full output disk is an expected failure (exit 1, one line), not a crash.

    A publish already journaled is left for the next run to complete; otherwise what the run
    staged is quarantined without its datasets (they may be what filled the disk).
    """
    try:
        yield
    except (OSError, publish.PublishError) as exc:
        if not publish.is_disk_full(exc):
            raise
        if publish.has_journal(output, run_id):
            raise RunFailed(EXIT_FAILED, f"{_DISK_FULL}; the publish already begun is completed by "
                                         f"the next run") from None
        if publish.has_files(publish.staging_root(output, run_id)):
            publish.quarantine_staged_run(output, run_id, keep_data=False)
        raise RunFailed(EXIT_FAILED, f"{_DISK_FULL}; nothing published") from None


def finish_run(options: RunOptions, started: datetime, changed_since: Optional[Watermark],
               metrics: Dict[str, int], progress: Progress, run_module: Optional[ModuleRunner] = None) -> int:
    """The driver's half after the pipeline: check ledger errors, validate, publish or quarantine.

    ``run_module``: where the Data Docs are built (see ``expectations.data_docs``)."""
    from expectations import ValidationReport, evaluate_run_level, merge_reports
    from expectations.artifacts import write_validation_artifacts
    from pipeline.report import write_index

    output = options.output_uri
    stage_root = publish.staging_root(output, options.run_id)
    run_folder = publish.run_dir(stage_root, options.run_id)
    ledger_errors = _read_jsonl(f"{run_folder}/{LEDGER_ERRORS_FILE}")
    tally_json = publish.read_text(f"{run_folder}/{TALLY_FILE}")
    batch_json = publish.read_text(f"{run_folder}/{BATCH_VALIDATION_FILE}")
    if tally_json is None or batch_json is None:
        publish.quarantine_staged_run(output, options.run_id)
        raise RunFailed(EXIT_FAILED, "pipeline finished without its accounting or validation results; "
                        "nothing published")
    tally = json.loads(tally_json)
    batch_report = ValidationReport.from_dict(json.loads(batch_json))
    dates = json.loads(publish.read_text(f"{run_folder}/{DATES_FILE}") or "[]")
    history = publish.published_manifests(output)
    manifest = build_manifest(options, started, tally, metrics, stage_root, ledger_errors)
    manifest["selection"] = {
        "dates": list(options.selected_dates) if options.selected_dates is not None else "all",
        "since": changed_since.to_dict() if changed_since else None,
        "processed_dates": dates,
    }
    manifest["watermark"] = Watermark(files=started, consent=options.as_of).to_dict()

    if ledger_errors:
        from transforms.consent.events import LedgerErrorRecord

        records = sorted((LedgerErrorRecord(**e) for e in ledger_errors), key=lambda r: (r.source, r.row_number))
        manifest.update(status="failed", exit_code=EXIT_USAGE, finished_at=datetime.now(timezone.utc).isoformat())
        publish.write_json(f"{run_folder}/manifest.json", manifest)
        quarantine = publish.quarantine_staged_run(output, options.run_id)
        more = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
        raise RunFailed(EXIT_USAGE, f"{records[0].message()}{more}; nothing published "
                        f"(staged output in {quarantine})")

    progress.stage("validating the staged output")
    run_level = evaluate_run_level(manifest, history, options.config.validation.suites_dir or None,
                                   drift_window=options.config.validation.drift_window)
    with publish.local_folder(run_folder) as local_run_folder:
        report = write_validation_artifacts(
            merge_reports(options.run_id, [batch_report], run_level), local_run_folder,
            suites_dir=options.config.validation.suites_dir or None, run_module=run_module)
    manifest["validation"] = {
        "success": report.success,
        "critical_failures": len(report.critical_failures),
        "warnings": len(report.warnings),
        "report": f"runs/{options.run_id}/validation.json",
        "data_docs": report.data_docs_path,
    }

    if not report.success:
        manifest.update(status="quarantined", exit_code=EXIT_VALIDATION,
                        finished_at=datetime.now(timezone.utc).isoformat())
        _finish_run_folder(run_folder, manifest, report, history)
        quarantine = publish.quarantine_staged_run(output, options.run_id)
        write_index(output)
        failed = report.critical_failures[0]
        progress.summary(render_summary(manifest))
        raise RunFailed(EXIT_VALIDATION, f"validation gate failed: {failed.expectation_id} on "
                        f"{failed.dataset} ({failed.unexpected_count} rows); nothing published "
                        f"(quarantined in {quarantine})")

    progress.stage("publishing")
    manifest.update(status="published", exit_code=EXIT_PUBLISHED,
                    finished_at=datetime.now(timezone.utc).isoformat())
    _finish_run_folder(run_folder, manifest, report, history)
    publish.publish_staged_run(output, options.run_id, replace_dates=dates)
    write_index(output)
    progress.summary(render_summary(manifest, output=output))
    return EXIT_PUBLISHED


def _finish_run_folder(run_folder: str, manifest: dict, report, history: List[dict]) -> None:
    from pipeline.report import write_run_report

    for name in (TALLY_FILE, BATCH_VALIDATION_FILE, LEDGER_ERRORS_FILE, DATES_FILE, LAUNCH_FILE):
        path = f"{run_folder}/{name}"
        if FileSystems.exists(path):
            FileSystems.delete([path])
    with publish.local_folder(run_folder) as local_run_folder:
        publish.write_text(f"{local_run_folder}/summary.txt", render_summary(manifest) + "\n")
        write_run_report(local_run_folder, manifest, report, history)
        publish.write_json(f"{local_run_folder}/manifest.json", manifest)
