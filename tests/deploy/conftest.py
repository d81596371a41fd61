"""Shared helpers of the deployment tests: run options on gs:// URIs, a network guard."""
from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

import os

from pipeline.config import PseudonymKeySource, load_config
from pipeline.options import RunOptions

OFFLINE_BUCKET = "gs://offline-bucket"
RUN_ID = "20260601T000000Z-0ff11e"
FAKE_KEY = b"deploy-test-only-NOT-A-SECRET-7f3a9c2e"
KEY_ENV = "GATEKEEPER_DEPLOY_TEST_KEY"
os.environ.setdefault(KEY_ENV, FAKE_KEY.decode())
DATAFLOW_FLAGS = (
    "--project=offline-proj",
    "--region=us-central1",
    f"--temp_location={OFFLINE_BUCKET}/tmp",
)


def gcs_run_options() -> RunOptions:
    """A run whose input, ledger and output all live on GCS (nothing local may leak into the job)."""
    return RunOptions(
        input_uri=f"{OFFLINE_BUCKET}/meetings",
        consent_uri=f"{OFFLINE_BUCKET}/consent/ledger.jsonl",
        output_uri=f"{OFFLINE_BUCKET}/gatekeeper-out",
        as_of=datetime(2026, 6, 1, tzinfo=timezone.utc),
        run_date="2026-06-01",
        run_id=RUN_ID,
        config=load_config(None),
        pseudonym_key=PseudonymKeySource("env", KEY_ENV),   # workers resolve it; the job carries the name
        progress=False,
    )


def block_network(patch: pytest.MonkeyPatch) -> None:
    """Fail fast (instead of hanging on retries) on any connection off this machine."""
    real_connect = socket.socket.connect

    def refuse(*_args, **_kwargs):
        raise OSError("network access blocked in an offline test")

    def connect(sock, address):
        if sock.family == socket.AF_UNIX or (isinstance(address, tuple)
                                             and str(address[0]).startswith(("127.", "::1", "localhost"))):
            return real_connect(sock, address)
        return refuse()

    patch.setattr(socket.socket, "connect", connect)
    patch.setattr(socket, "create_connection", refuse)
