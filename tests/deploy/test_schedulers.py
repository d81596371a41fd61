"""cron, systemd timer and Cloud Scheduler examples: each starts a run the CLI accepts.

The commands are parsed with the real ``gatekeeper`` argument parser (and Beam's option
parser for the pass-through flags); the Cloud Scheduler body is parsed with the Dataflow
API's own ``LaunchFlexTemplateParameter`` message and its values are checked against the
template's parameter validation.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from pipeline.cli import _parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
METADATA = {p["name"]: p for p in json.loads((DEPLOY / "metadata.json").read_text())["parameters"]}
PLACEHOLDERS = {"BUCKET": "my-bucket", "PROJECT": "my-project", "REGION": "us-central1", "TAG": "1",
                "KEY_VERSION": "3"}


def _beam_options():
    from apache_beam.options.pipeline_options import PipelineOptions

    return set(PipelineOptions([]).get_all_options(retain_unknown_options=False))


def _check_gatekeeper_command(argv: List[str]):
    """Parse one `gatekeeper run …` command line like the CLI does; return (args, beam flags)."""
    start = argv.index("run")
    assert Path(argv[start - 1]).name == "gatekeeper"
    args, extra = _parser().parse_known_args(argv[start:])
    assert args.command == "run"
    beam_flags = [token[2:].split("=", 1)[0] for token in extra if token.startswith("--")]
    assert set(beam_flags) <= _beam_options(), set(beam_flags) - _beam_options()
    assert args.since == "last-success"
    assert args.pseudonym_key_file, "the key comes from a file/credential, never the command line"
    return args, extra


# --- cron -----------------------------------------------------------------------------------

def _cron_entries() -> Tuple[Dict[str, str], List[Tuple[List[str], str, str]]]:
    env, entries = {}, []
    for line in (DEPLOY / "cron" / "gatekeeper-nightly.cron").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            env[name] = value
            continue
        fields = line.split(None, 6)
        entries.append((fields[:5], fields[5], fields[6]))
    return env, entries


def test_cron_entry_is_a_valid_nightly_schedule():
    env, entries = _cron_entries()
    assert len(entries) == 1
    (minute, hour, dom, month, dow), user, _ = entries[0]
    assert 0 <= int(minute) < 60 and 0 <= int(hour) < 24
    assert (dom, month, dow) == ("*", "*", "*")
    assert user == "gatekeeper"
    assert env["CRON_TZ"] == "UTC" and env["HF_HUB_OFFLINE"] == "1"


def test_cron_command_is_a_single_flock_guarded_gatekeeper_run():
    _, [(_, _, command)] = _cron_entries()
    redirect = command.index(">>")
    argv = shlex.split(command[:redirect])
    assert argv[:3] == ["flock", "-n", "/var/lock/gatekeeper-nightly.lock"]
    args, _ = _check_gatekeeper_command(argv[3:])
    assert args.output.startswith("/srv/")


# --- systemd --------------------------------------------------------------------------------

def _unit(name: str) -> Dict[str, Dict[str, str]]:
    sections: Dict[str, Dict[str, str]] = {}
    current = None
    logical: List[str] = []
    for raw in (DEPLOY / "systemd" / name).read_text().splitlines():
        if raw.strip().startswith(("#", ";")) and not logical:
            continue
        if raw.rstrip().endswith("\\"):
            logical.append(raw.rstrip()[:-1])
            continue
        line = " ".join(part.strip() for part in logical + [raw]).strip()
        logical = []
        if not line:
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        else:
            key, value = line.split("=", 1)
            assert key not in current, f"{name}: {key} set twice"
            current[key] = value
    return sections


def test_systemd_service_runs_gatekeeper_once_with_a_credential_key():
    service = _unit("gatekeeper-nightly.service")["Service"]
    assert service["Type"] == "oneshot"
    assert service["User"] == "gatekeeper"
    credential_name, credential_source = service["LoadCredential"].split(":", 1)
    argv = shlex.split(service["ExecStart"])
    args, _ = _check_gatekeeper_command(argv)
    assert args.pseudonym_key_file == f"%d/{credential_name}"
    assert credential_source.startswith("/etc/gatekeeper/")
    assert args.output in service["ReadWritePaths"].split()


def test_systemd_timer_starts_the_service_nightly_and_catches_up():
    timer = _unit("gatekeeper-nightly.timer")
    assert timer["Timer"]["Unit"] == "gatekeeper-nightly.service"
    assert re.fullmatch(r"\*-\*-\* \d{2}:\d{2}:\d{2} UTC", timer["Timer"]["OnCalendar"])
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


# --- Cloud Scheduler → Flex Template launch ----------------------------------------------------

def _launch_body() -> dict:
    text = (DEPLOY / "cloud-scheduler" / "launch-body.json").read_text()
    for placeholder, value in PLACEHOLDERS.items():
        text = re.sub(rf"\b{placeholder}\b", value, text)
    return json.loads(text)


def test_cloud_scheduler_body_is_a_valid_flex_template_launch_request():
    from google.cloud import dataflow_v1beta3

    launch = dataflow_v1beta3.LaunchFlexTemplateParameter.from_json(json.dumps(_launch_body()["launchParameter"]))
    assert launch.container_spec_gcs_path.startswith("gs://") and launch.container_spec_gcs_path.endswith(".json")
    assert launch.environment.temp_location.startswith("gs://")
    assert launch.environment.service_account_email.endswith(".iam.gserviceaccount.com")
    # workers run the template's own image (the package installed), set in the request
    assert launch.environment.sdk_container_image == "us-central1-docker.pkg.dev/my-project/gatekeeper/gatekeeper:1"


def test_cloud_scheduler_body_pins_the_key_version():
    raw = (DEPLOY / "cloud-scheduler" / "launch-body.json").read_text()
    assert "latest" not in raw
    secret = _launch_body()["launchParameter"]["parameters"]["pseudonym_key_secret"]
    assert re.fullmatch(r"projects/my-project/secrets/[-\w]+/versions/3", secret)


def test_cloud_scheduler_parameters_pass_the_template_validation():
    parameters = _launch_body()["launchParameter"]["parameters"]
    required = {name for name, p in METADATA.items() if not p["isOptional"]}
    assert required <= set(parameters)
    for name, value in parameters.items():
        if name in METADATA:
            assert all(re.search(p, value) for p in METADATA[name]["regexes"]), name
        else:
            assert name in _beam_options(), f"{name} is neither a template parameter nor a Beam option"
    assert parameters["since"] == "last-success"
    assert "sdk_container_image" not in parameters       # an environment field, not a parameter


@pytest.mark.parametrize("path", ["deploy/Dockerfile", "deploy/metadata.json",
                                  "deploy/cloud-scheduler/launch-body.json",
                                  "deploy/airflow/gatekeeper_nightly_dag.py",
                                  "deploy/cron/gatekeeper-nightly.cron",
                                  "deploy/systemd/gatekeeper-nightly.timer"])
def test_deploy_guide_documents_each_file(path):
    guide = (REPO / "docs" / "DEPLOY.md").read_text()
    assert path in guide
    assert (REPO / path).is_file()
