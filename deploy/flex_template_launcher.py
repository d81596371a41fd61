"""Dataflow Flex Template entry point (``FLEX_TEMPLATE_PYTHON_PY_FILE``).

The template launcher calls ``python flex_template_launcher.py --<parameter>=<value> …``
with the parameters of ``deploy/metadata.json`` plus Dataflow's own pipeline options
(``--runner``, ``--project``, ``--region``, ``--temp_location``, ``--staging_location``,
``--job_name``, ``--sdk_container_image``, …). This module maps the template parameters
onto the flags of ``gatekeeper run`` and calls the same CLI (``pipeline.cli.main``); every
other flag passes through to Beam untouched.

Two parameters are resolved here because the CLI reads them from the launcher's own
machine: ``pseudonym_key_secret`` (a Secret Manager version, read with Beam's
``GcpSecret`` into ``$GATEKEEPER_PSEUDONYM_KEY``) and ``config`` when it is a gs:// URI
(copied to a local file). Nothing read here is printed.
"""
from __future__ import annotations

import os
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
}
# "START,END" → --backfill START END
BACKFILL_PARAMETER = "backfill"
# resolved by this launcher, never passed to the CLI as such
SECRET_PARAMETER = "pseudonym_key_secret"
LAUNCHER_PARAMETERS = (BACKFILL_PARAMETER, SECRET_PARAMETER)
PSEUDONYM_KEY_ENV = "GATEKEEPER_PSEUDONYM_KEY"


class LaunchError(ValueError):
    """A template parameter that cannot be turned into a run (message carries no values)."""


@dataclass(frozen=True)
class LaunchPlan:
    run_flags: Tuple[str, ...]          # `gatekeeper run` flags, in metadata order
    beam_args: Tuple[str, ...]          # everything else, for Beam
    key_secret: Optional[str] = None    # Secret Manager version holding the pseudonym key


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
    secret = params.get(SECRET_PARAMETER, "").strip() or None
    return LaunchPlan(run_flags=tuple(run_flags), beam_args=tuple(beam_args), key_secret=secret)


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


def _read_secret(version_name: str) -> str:
    from apache_beam.utils.secret import GcpSecret

    return GcpSecret(version_name).get_secret_bytes().decode("utf-8").strip()


def main(argv: Optional[Sequence[str]] = None) -> int:
    from pipeline.cli import main as gatekeeper_main

    try:
        plan = plan_launch(list(sys.argv[1:] if argv is None else argv))
    except LaunchError as exc:
        print(f"gatekeeper-flex: error: {exc}", file=sys.stderr)
        return 2
    run_flags = list(plan.run_flags)
    if "--config" in run_flags:
        at = run_flags.index("--config") + 1
        run_flags[at] = _localize_config(run_flags[at])
    if plan.key_secret:
        os.environ[PSEUDONYM_KEY_ENV] = _read_secret(plan.key_secret)
    return gatekeeper_main(["run", *run_flags, *plan.beam_args])


if __name__ == "__main__":
    sys.exit(main())
