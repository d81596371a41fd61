"""Typed options of one gatekeeper run, parsed from CLI flags (Beam flags pass through)."""
from __future__ import annotations

import argparse
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Optional, Sequence, Tuple

from pipeline.config import ConfigError, GatekeeperConfig, load_config, load_pseudonym_key


@dataclass(frozen=True)
class RunOptions:
    input_uri: str
    consent_uri: str
    output_uri: str
    as_of: datetime
    run_date: str
    run_id: str
    config: GatekeeperConfig
    pseudonym_key: bytes = field(repr=False)
    beam_args: Tuple[str, ...] = ()
    progress: bool = True


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
    parser.add_argument("--run-date", help="YYYY-MM-DD output partition (default: the as-of date)")
    parser.add_argument("--config", help="YAML config merged over the packaged defaults")
    parser.add_argument("--pseudonym-key-file", help="file holding the pseudonym HMAC key "
                                                     "(default: $GATEKEEPER_PSEUDONYM_KEY)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")


def build_run_options(args: argparse.Namespace, beam_args: Sequence[str],
                      now: Optional[datetime] = None) -> RunOptions:
    now = now or datetime.now(timezone.utc)
    config = load_config(args.config)
    key = load_pseudonym_key(args.pseudonym_key_file)
    as_of = parse_timestamp(args.as_of, "--as-of") if args.as_of else now
    run_date = args.run_date or as_of.date().isoformat()
    try:
        datetime.strptime(run_date, "%Y-%m-%d")
    except ValueError:
        raise ConfigError("--run-date must be YYYY-MM-DD") from None
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
    )


def beam_pipeline_options(beam_args: Sequence[str]):
    """Beam PipelineOptions from pass-through flags; the DirectRunner unless told otherwise."""
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    options = PipelineOptions(list(beam_args))
    standard = options.view_as(StandardOptions)
    if not standard.runner:
        standard.runner = "DirectRunner"
    return options
