"""Offline stand-ins for the two Google services a production run talks to from Python.

* Secret Manager: ``SecretManagerServiceClient.access_secret_version`` answers from a JSON
  file ``{version name: key}``; every access is appended to ``<file>.access`` (pid and name),
  so a test can tell who read which version. Unknown names fail like a missing secret.
* Dataflow: the job-creation RPC (``JobsV1Beta3Client.create_job``) returns a job with a fixed
  id and uploads to gs:// are dropped, so Beam's real DataflowRunner, its real
  ``submit_job_description`` and its real log lines run up to the point where a job exists.

``sitecustomize.py`` beside this file installs them in any Python process started with this
folder and the repository on ``PYTHONPATH`` and ``GATEKEEPER_FAKE_SECRETS`` /
``GATEKEEPER_FAKE_DATAFLOW_JOB_ID`` set (the Airflow tests' driver subprocesses). Tests that
control their process call ``install_secret_manager`` directly.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

SECRETS_ENV = "GATEKEEPER_FAKE_SECRETS"
JOB_ID_ENV = "GATEKEEPER_FAKE_DATAFLOW_JOB_ID"


def fake_secret_manager_client(secrets_file: str):
    """A ``SecretManagerServiceClient`` class answering from ``secrets_file``."""
    from google.api_core import exceptions

    path = Path(secrets_file)

    class FakeSecretManagerServiceClient:
        def __init__(self, *args, **kwargs):
            pass

        def access_secret_version(self, request=None, *, name=None, **kwargs):
            name = name or (request or {}).get("name")
            with open(f"{path}.access", "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {name}\n")
            secrets = json.loads(path.read_text(encoding="utf-8"))
            if name not in secrets:
                raise exceptions.NotFound(f"secret version {name} not found")
            return SimpleNamespace(payload=SimpleNamespace(data=secrets[name].encode("utf-8")))

    return FakeSecretManagerServiceClient


def install_secret_manager(secrets_file: str) -> None:
    from google.cloud import secretmanager

    secretmanager.SecretManagerServiceClient = fake_secret_manager_client(secrets_file)


def secret_accesses(secrets_file: Path):
    """(pid, version name) of every access so far."""
    log = Path(f"{secrets_file}.access")
    if not log.exists():
        return []
    return [tuple(line.split(" ", 1)) for line in log.read_text(encoding="utf-8").splitlines()]


def install_dataflow(job_id: str) -> None:
    from apache_beam.options.pipeline_options import GoogleCloudOptions
    from apache_beam.runners.dataflow.internal import apiclient
    from google.cloud import dataflow_v1beta3

    def create_job(self, request=None, **kwargs):
        job = request.job
        return dataflow_v1beta3.Job(id=job_id, name=job.name, project_id=request.project_id,
                                    client_request_id=job.client_request_id)

    dataflow_v1beta3.JobsV1Beta3Client.create_job = create_job
    apiclient.DataflowApplicationClient.stage_file = lambda self, *args, **kwargs: None
    # options validation asks GCS about the bucket's soft-delete policy (network)
    GoogleCloudOptions._warn_if_soft_delete_policy_enabled = lambda self, arg: None


def install_from_environment() -> None:
    if os.environ.get(SECRETS_ENV):
        install_secret_manager(os.environ[SECRETS_ENV])
    if os.environ.get(JOB_ID_ENV):
        install_dataflow(os.environ[JOB_ID_ENV])
