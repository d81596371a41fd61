"""`gatekeeper` command line: run, redact, validate, report, finalize, purge, audit, files.

Expected failures print one line to stderr and exit with their code; nothing here prints
input content. Exit codes: 0 ok/published, 1 anything else, 2 usage/config/ledger error,
3 validation gate failed.
"""
from __future__ import annotations

import argparse
import atexit
import json
import logging
import os
import sys
import time
from typing import List, Optional, Sequence

from pipeline.config import ConfigError, RunFailed

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_VALIDATION = 0, 1, 2, 3

_QUIET_LOGGERS = ("presidio-analyzer", "presidio-anonymizer", "great_expectations", "pypdf",
                  "apache_beam", "tldextract", "filelock", "urllib3", "RapidOCR", "rapidocr")


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):  # argparse's default exits 2 too, but prints usage noise
        self.exit(EXIT_USAGE, f"gatekeeper: error: {message}\n")


class _DropKnownNoise(logging.Filter):
    """Beam warns at import that optional GCP client libraries are absent; not actionable locally."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("apitools not found")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the exception class only)."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and record.exc_info[0] is not None:
            payload["exception"] = record.exc_info[0].__name__
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(verbose: bool, log_format: str = "text") -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(_DropKnownNoise())
        if log_format == "json":
            formatter = JsonLogFormatter()
            formatter.converter = time.gmtime
            handler.setFormatter(formatter)
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _parser() -> argparse.ArgumentParser:
    from pipeline.options import add_run_arguments

    parser = _ArgumentParser(prog="gatekeeper", description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="log progress at INFO level")
    parser.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="json: one JSON object per log line (for log collectors)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_ArgumentParser)

    run = sub.add_parser("run", help="run the gate on meeting exports and publish Parquet "
                                     "(unknown flags go to Beam, e.g. --runner, --direct_num_workers)")
    add_run_arguments(run)

    redact = sub.add_parser("redact", help='redact JSON Lines {"id","text"} from stdin to stdout')
    redact.add_argument("--config", help="YAML config merged over the packaged defaults")
    redact.add_argument("--pseudonym-key-file")
    redact.add_argument("--pseudonym-key-secret")

    validate = sub.add_parser("validate", help="validate a published, staged or quarantined output")
    validate.add_argument("path")
    validate.add_argument("--config", help="YAML config merged over the packaged defaults")

    report = sub.add_parser("report", help="rebuild the index of run reports")
    report.add_argument("--output", required=True)

    finalize = sub.add_parser("finalize", help="validate and publish runs whose job ran elsewhere "
                                               "(Dataflow template / Flex launch) once it has finished")
    finalize.add_argument("--output", required=True)

    purge = sub.add_parser("purge", help="remove tombstoned (withdrawn) rows from published Parquet")
    purge.add_argument("--output", required=True)

    audit = sub.add_parser("audit", help="re-check every published row against the consent ledger as of a "
                                         "time; list the rows no longer allowed (ids and reasons), exit 3 if any")
    audit.add_argument("--output", required=True)
    audit.add_argument("--consent", required=True, help="the consent ledger (same sources as run)")
    audit.add_argument("--as-of", help="ISO 8601 instant to judge consent at (default: now)")
    audit.add_argument("--tombstone", action="store_true",
                       help="commit the rows found as tombstones, for gatekeeper purge")
    audit.add_argument("--json", action="store_true", help="one JSON document instead of lines")
    audit.add_argument("--config", help="YAML config merged over the packaged defaults (its consent policy)")

    files = sub.add_parser("files", help="list the published Parquet files, as the committed manifests "
                                         "define them (read gs:// outputs through this list)")
    files.add_argument("--output", required=True)
    files.add_argument("--dataset", help="only this dataset (e.g. transcript, audit)")
    files.add_argument("--verify", action="store_true",
                       help="first check every live file against the integrity records of the committed "
                            "manifests (size, SHA-256, rows, schema) and that no other file is there; "
                            "on any problem print it to stderr, list nothing and exit 3")
    return parser


def _run(args, beam_args: Sequence[str]) -> int:
    from pipeline.forked_workers import WorkerForkServer
    from pipeline.options import build_run_options, log_dataflow_job_ids, worker_processes_requested

    options = build_run_options(args, beam_args)
    log_dataflow_job_ids(options.beam_args)
    if not worker_processes_requested(options.beam_args):
        from pipeline.run import execute_run

        return execute_run(options)
    # the fork server imports the workers' modules while this process imports Beam and builds
    # the pipeline
    with WorkerForkServer() as fork_server:
        logging.getLogger("gatekeeper").info("local worker processes are forked from server pid %s",
                                             fork_server.pid)
        from pipeline.run import execute_run

        return execute_run(options, fork_server=fork_server)


def _redact(args) -> int:
    from pipeline.config import load_config, pseudonym_key_source
    from pipeline.redact_cli import redact_stream

    config = load_config(args.config)
    key = pseudonym_key_source(args.pseudonym_key_file, args.pseudonym_key_secret).resolve()
    return redact_stream(sys.stdin, sys.stdout, config, key)


def _validate(args) -> int:
    from pipeline.config import load_config
    from pipeline.validation_cli import main_validate

    config = load_config(args.config)
    return main_validate(args.path, config.validation.suites_dir or None)


def _report(args) -> int:
    from pipeline.publish import has_files
    from pipeline.report import write_index

    if not has_files(args.output):
        raise ConfigError("output folder does not exist")
    print(write_index(args.output))
    return EXIT_OK


def _finalize(args) -> int:
    from pipeline.run import finalize_runs

    results = finalize_runs(args.output)
    if not results:
        print("finalize: no submitted run has finished yet")
        return EXIT_OK
    return max(code for _, code in results)


def _files(args) -> int:
    from pipeline.publish import has_files, live_files

    if not has_files(args.output):
        raise ConfigError("output folder does not exist")
    root = args.output.rstrip("/")
    if args.verify:
        from pipeline.integrity import verify_output

        result = verify_output(args.output, {args.dataset} if args.dataset else None)
        for problem in result.problems:
            print(f"gatekeeper: {'CRITICAL' if problem.critical else 'WARNING'} {problem.line()}", file=sys.stderr)
        print(f"gatekeeper: {result.summary()}", file=sys.stderr)
        if not result.ok:
            return EXIT_VALIDATION
    for relative in live_files(args.output):
        if args.dataset is None or relative.split("/")[1] == args.dataset:
            print(f"{root}/{relative}")
    return EXIT_OK


def _purge(args) -> int:
    from pipeline.purge import purge_output

    result = purge_output(args.output)
    print(result.describe())
    return EXIT_OK


def _audit(args) -> int:
    from pipeline.audit import main_audit
    from pipeline.config import load_config
    from pipeline.options import parse_timestamp

    config = load_config(args.config)
    as_of = parse_timestamp(args.as_of, "--as-of") if args.as_of else None
    return main_audit(args.output, args.consent, as_of, config.consent, args.tombstone, args.json)


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "run":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    configure_logging(args.verbose, args.log_format)
    from pipeline.gcs_emulator import configure_for_emulator

    configure_for_emulator()
    handlers = {"run": lambda: _run(args, extra), "redact": lambda: _redact(args),
                "validate": lambda: _validate(args), "report": lambda: _report(args),
                "purge": lambda: _purge(args), "finalize": lambda: _finalize(args),
                "files": lambda: _files(args), "audit": lambda: _audit(args)}
    try:
        return handlers[args.command]()
    except ConfigError as exc:
        print(f"gatekeeper: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except RunFailed as exc:
        print(f"gatekeeper: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("gatekeeper: interrupted; nothing published", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:  # unexpected: one line, no message (it may quote content)
        logging.getLogger("gatekeeper").debug("unexpected failure", exc_info=True)
        print(f"gatekeeper: error: unexpected {type(exc).__name__}; nothing published "
              "(rerun with --verbose for details)", file=sys.stderr)
        return EXIT_FAILED


def console_main() -> None:
    """The ``gatekeeper`` command: ``main``, then exit without the interpreter's teardown.

    Tearing down a process holding Beam, spaCy, Presidio and GE modules takes 1-2 s for
    nothing; the exit handlers (log flushing, temporary folder finalizers) still run first.
    """
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console_main()
