"""Installs the offline Google fakes (gcp_fakes.py) in processes started with this folder on
PYTHONPATH; a no-op unless GATEKEEPER_FAKE_SECRETS or GATEKEEPER_FAKE_DATAFLOW_JOB_ID is set."""
import os

if os.environ.get("GATEKEEPER_FAKE_SECRETS") or os.environ.get("GATEKEEPER_FAKE_DATAFLOW_JOB_ID"):
    from gcp_fakes import install_from_environment

    install_from_environment()
