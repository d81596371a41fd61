"""Dataflow Flex Template entry point (``FLEX_TEMPLATE_PYTHON_PY_FILE``).

The template launcher calls ``python flex_template_launcher.py --<parameter>=<value> …``
with the parameters of ``deploy/metadata.json`` plus Dataflow's own pipeline options
(``--runner``, ``--project``, ``--region``, ``--temp_location``, ``--staging_location``,
``--job_name``, ``--sdk_container_image``, …). This module maps the template parameters
onto the flags of ``gatekeeper run`` and calls the same CLI (``pipeline.cli.main``); every
other flag passes through to Beam untouched.

The pseudonym key never passes through here: ``pseudonym_key_secret`` (a pinned Secret
Manager version) becomes ``--pseudonym-key-secret``, so the job graph's redaction DoFn carries
the version *name* and each Dataflow worker reads the key itself in ``setup()`` (the launcher's
own environment never reaches a worker). ``config`` given as a gs:// URI is copied to a local
file first, because the CLI reads it on the launcher. Nothing read here is printed.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

# template parameter → `gatekeeper run` flag (one value each)
PARAMETER_FLAGS: Dict[str, str] = {
    "input": "--input",
    "consent": "--consent",
    "output": "--output",
    "as_of": "--as-of",
    "run_date": "--run-date",
    "since": "--since",
    "config": "--config",
    "pseudonym_key_secret": "--pseudonym-key-secret",
}
# "START,END" → --backfill START END
BACKFILL_PARAMETER = "backfill"
# "true" → --submit-only (the orchestrator waits for the job; `gatekeeper finalize` publishes)
SUBMIT_ONLY_PARAMETER = "submit_only"
SECRET_PARAMETER = "pseudonym_key_secret"
LAUNCHER_PARAMETERS = (BACKFILL_PARAMETER, SUBMIT_ONLY_PARAMETER)
# declared in metadata.json for validation, passed to Beam unchanged (--sdk_container_image=…)
BEAM_PARAMETERS = ("sdk_container_image",)
# a pinned version: pseudonyms are stable only while the key is, so `latest` is refused
PINNED_SECRET_VERSION = re.compile(r"projects/[^/\s]+/secrets/[^/\s]+/versions/[1-9][0-9]*")


class LaunchError(ValueError):
    """A template parameter that cannot be turned into a run (message carries no values)."""


@dataclass(frozen=True)
class LaunchPlan:
    run_flags: Tuple[str, ...]          # `gatekeeper run` flags, in metadata order
    beam_args: Tuple[str, ...]          # everything else, for Beam

    def cli_argv(self) -> List[str]:
        return ["run", *self.run_flags, *self.beam_args]


def _split(argv: Sequence[str]) -> Tuple[Dict[str, str], List[str]]:
    """Template parameters (``--name=value`` or ``--name value``) and the remaining flags."""
    known = set(PARAMETER_FLAGS) | set(LAUNCHER_PARAMETERS)
    params: Dict[str, str] = {}
    rest: List[str] = []
    index = 0
    while index < len(argv):
        token = argv[index]
        name, has_value, value = token[2:].partition("=") if token.startswith("--") else ("", False, "")
        if name in known:
            if not has_value:
                if index + 1 >= len(argv):
                    raise LaunchError(f"template parameter {name} has no value")
                index += 1
                value = argv[index]
            if name in params:
                raise LaunchError(f"template parameter {name} given twice")
            params[name] = value
        else:
            rest.append(token)
        index += 1
    return params, rest


def plan_launch(argv: Sequence[str]) -> LaunchPlan:
    """Translate the launcher's argv into `gatekeeper run` flags + Beam flags (pure)."""
    params, beam_args = _split(argv)
    secret = params.get(SECRET_PARAMETER, "").strip()
    if secret and not PINNED_SECRET_VERSION.fullmatch(secret):
        raise LaunchError(f"template parameter {SECRET_PARAMETER} must name a pinned secret version "
                          "(projects/P/secrets/S/versions/N, not 'latest')")
    run_flags: List[str] = []
    for name, flag in PARAMETER_FLAGS.items():
        value = params.get(name, "").strip()
        if value:
            run_flags += [flag, value]
    backfill = params.get(BACKFILL_PARAMETER, "").strip()
    if backfill:
        start, comma, end = backfill.partition(",")
        if not comma or not start.strip() or not end.strip():
            raise LaunchError("template parameter backfill must be START,END")
        run_flags += ["--backfill", start.strip(), end.strip()]
    submit_only = params.get(SUBMIT_ONLY_PARAMETER, "false").strip().lower()
    if submit_only not in ("true", "false"):
        raise LaunchError("template parameter submit_only must be true or false")
    if submit_only == "true":
        run_flags.append("--submit-only")
    return LaunchPlan(run_flags=tuple(run_flags), beam_args=tuple(beam_args))


def _localize_config(uri: str) -> str:
    """The CLI reads --config from the local disk; copy a gs:// (any Beam filesystem) config."""
    if "://" not in uri:
        return uri
    from apache_beam.io.filesystems import FileSystems

    with FileSystems.open(uri) as source:
        payload = source.read()
    handle, path = tempfile.mkstemp(prefix="gatekeeper-config-", suffix=".yaml")
    with os.fdopen(handle, "wb") as target:
        target.write(payload)
    return path


def main(argv: Optional[Sequence[str]] = None) -> int:
    from pipeline.cli import main as gatekeeper_main

    try:
        plan = plan_launch(list(sys.argv[1:] if argv is None else argv))
    except LaunchError as exc:
        print(f"gatekeeper-flex: error: {exc}", file=sys.stderr)
        return 2
    cli_argv = plan.cli_argv()
    if "--config" in cli_argv:
        at = cli_argv.index("--config") + 1
        cli_argv[at] = _localize_config(cli_argv[at])
    return gatekeeper_main(cli_argv)


if __name__ == "__main__":
    sys.exit(main())
