"""Typed options of one gatekeeper run, parsed from CLI flags (Beam flags pass through)."""
from __future__ import annotations

import argparse
import logging
import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Optional, Sequence, Tuple

from pipeline.config import (PSEUDONYM_KEY_ENV, ConfigError, GatekeeperConfig, PseudonymKeySource, load_config,
                             pseudonym_key_source)


@dataclass(frozen=True)
class RunOptions:
    input_uri: str
    consent_uri: str
    output_uri: str
    as_of: datetime
    run_date: str
    run_id: str
    config: GatekeeperConfig
    pseudonym_key: PseudonymKeySource
    beam_args: Tuple[str, ...] = ()
    progress: bool = True
    selected_dates: Optional[Tuple[str, ...]] = None   # --run-date / --backfill; None = every date
    since: Optional[str] = None                        # "last-success" or an ISO 8601 watermark
    log_format: str = "text"
    submit_only: bool = False                          # record the launch, let `finalize` publish


def parse_timestamp(value: str, flag: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{flag} is not an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def _absolute(uri: str) -> str:
    if "://" in uri or uri.startswith(("sqlite:", "postgresql")):
        return uri
    return os.path.abspath(uri)


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", required=True, help="folder or URL of meeting export folders")
    parser.add_argument("--consent", required=True, help="consent ledger: file, glob or SQLAlchemy URL")
    parser.add_argument("--output", required=True, help="output folder (published datasets, runs, reports)")
    parser.add_argument("--as-of", help="evaluate consent as of this ISO 8601 time (default: run start)")
    selection = parser.add_mutually_exclusive_group()
    selection.add_argument("--run-date", help="process the meetings of this UTC date (YYYY-MM-DD) and "
                                              "replace its partition (default: every date)")
    selection.add_argument("--backfill", nargs=2, metavar=("START", "END"),
                           help="reprocess every meeting date from START to END inclusive")
    selection.add_argument("--since", help="'last-success' (the watermark of the last published run) or an "
                                           "ISO 8601 time: only dates with changed files or consent")
    parser.add_argument("--config", help="YAML config merged over the packaged defaults")
    parser.add_argument("--pseudonym-key-file", help="file holding the pseudonym HMAC key "
                                                     "(default: $GATEKEEPER_PSEUDONYM_KEY)")
    parser.add_argument("--pseudonym-key-secret", help="Secret Manager version holding the key "
                                                       "(projects/P/secrets/S/versions/V), for Dataflow")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    parser.add_argument("--submit-only", action="store_true",
                        help="submit the job (a remote runner returns at once) and record the launch; "
                             "`gatekeeper finalize` validates and publishes it once the job has finished")


def build_run_options(args: argparse.Namespace, beam_args: Sequence[str],
                      now: Optional[datetime] = None) -> RunOptions:
    now = now or datetime.now(timezone.utc)
    config = load_config(args.config)
    key = pseudonym_key_source(args.pseudonym_key_file, getattr(args, "pseudonym_key_secret", None))
    check_key_reaches_workers(key, beam_args)
    as_of = parse_timestamp(args.as_of, "--as-of") if args.as_of else now
    selected_dates = None
    if args.run_date:
        selected_dates = (_parse_date(args.run_date, "--run-date").isoformat(),)
    elif args.backfill:
        start, end = (_parse_date(v, "--backfill") for v in args.backfill)
        if end < start:
            raise ConfigError("--backfill END is before START")
        if (end - start).days > 3660:
            raise ConfigError("--backfill range is longer than ten years")
        selected_dates = tuple((start + timedelta(days=d)).isoformat() for d in range((end - start).days + 1))
    if args.since and args.since != "last-success":
        parse_timestamp(args.since, "--since")
    run_date = args.run_date or as_of.date().isoformat()
    return RunOptions(
        input_uri=_absolute(args.input),
        consent_uri=_absolute(args.consent),
        output_uri=_absolute(args.output),
        as_of=as_of,
        run_date=run_date,
        run_id=new_run_id(now),
        config=config,
        pseudonym_key=key,
        beam_args=tuple(beam_args),
        progress=not args.quiet,
        selected_dates=selected_dates,
        since=args.since,
        log_format=getattr(args, "log_format", "text"),
        submit_only=bool(getattr(args, "submit_only", False)),
    )


def _parse_date(value: str, flag: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise ConfigError(f"{flag} dates must be YYYY-MM-DD") from None


LOCAL_RUNNER = "FnApiRunner"
LOCAL_RUNNER_ALIASES = ("DirectRunner", "SwitchingDirectRunner")


def beam_pipeline_options(beam_args: Sequence[str]):
    """Beam PipelineOptions from pass-through flags; a local runner unless told otherwise.

    Beam 2.77's ``DirectRunner`` first tries Prism, which downloads a binary from the
    internet, then falls back to the FnApiRunner. Runs must not touch the network, so
    ``DirectRunner`` (and no runner at all) means the FnApiRunner directly: the same engine,
    with the same ``--direct_num_workers`` / ``--direct_running_mode`` flags.
    """
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if not standard.runner or standard.runner in LOCAL_RUNNER_ALIASES:
        standard.runner = LOCAL_RUNNER
    return options


def _beam_flags(beam_args: Sequence[str]) -> argparse.Namespace:
    """The few Beam flags read here, without importing Beam (the CLI decides before Beam's import)."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--runner")
    parser.add_argument("--environment_type")
    parser.add_argument("--direct_running_mode")
    parser.add_argument("--direct_num_workers", default="1")
    known, _ = parser.parse_known_args(list(beam_args))
    return known


def _local_runner(runner: Optional[str]) -> bool:
    return runner in (None, LOCAL_RUNNER, *LOCAL_RUNNER_ALIASES)


def workers_share_the_driver_environment(beam_args: Sequence[str]) -> bool:
    """True only when every SDK worker is this process or a child of it (same environment).

    The local runner runs its workers in this process, in threads, or in subprocesses it
    starts; LOOPBACK workers run in this process on any runner. Every other case (Dataflow,
    DOCKER / PROCESS / EXTERNAL environments, an unknown runner) starts workers elsewhere.
    """
    flags = _beam_flags(beam_args)
    if flags.environment_type is not None:
        return flags.environment_type.strip().upper() == "LOOPBACK"
    return _local_runner(flags.runner)


def check_key_reaches_workers(key: PseudonymKeySource, beam_args: Sequence[str]) -> None:
    """Fail closed before any work when the workers could not read the key from its source.

    ``$GATEKEEPER_PSEUDONYM_KEY`` exists only in this process (and its children); a Dataflow,
    Docker or external worker would fail in ``setup()`` with no key, after the job started.
    A Secret Manager version (read by each worker) or a key file (a path mounted on every
    worker) travels in the job as a name; the key bytes never do.
    """
    if key.kind == "env" and not workers_share_the_driver_environment(beam_args):
        raise ConfigError(f"${PSEUDONYM_KEY_ENV} is only set on this machine and these workers run "
                          "elsewhere: pass --pseudonym-key-secret (a Secret Manager version) or "
                          "--pseudonym-key-file (a path every worker can read)")


# Beam's Dataflow client logs the new job's id at INFO ("Created job with id: [ID]");
# orchestrators read it from the driver's output (Airflow's Beam/Dataflow providers use it to
# wait for, and on a kill to cancel, the job). Only these lines get through, never the job proto.
DATAFLOW_CLIENT_LOGGER = "apache_beam.runners.dataflow.internal.apiclient"
DATAFLOW_JOB_LINES = ("Created job with id: [%s]", "Submitted job: %s",
                      "To access the Dataflow monitoring console, please navigate to %s")


class _JobIdLinesOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.ERROR or record.msg in DATAFLOW_JOB_LINES


def log_dataflow_job_ids(beam_args: Sequence[str]) -> bool:
    """On the DataflowRunner, let Beam's "Created job with id" line reach stderr (see above)."""
    if _beam_flags(beam_args).runner not in ("DataflowRunner", "TestDataflowRunner"):
        return False
    client_logger = logging.getLogger(DATAFLOW_CLIENT_LOGGER)
    client_logger.setLevel(logging.INFO)
    if not any(isinstance(f, _JobIdLinesOnly) for f in client_logger.filters):
        client_logger.addFilter(_JobIdLinesOnly())
    return True


def worker_processes_requested(beam_args: Sequence[str]) -> bool:
    """True when the pass-through Beam flags ask for local worker *processes*.

    Read from the flags without importing Beam, so the CLI can start the worker fork server
    (``pipeline.forked_workers``) before Beam's own import.
    """
    flags = _beam_flags(beam_args)
    return (_local_runner(flags.runner) and flags.direct_running_mode == "multi_processing"
            and flags.direct_num_workers.strip() != "1")
