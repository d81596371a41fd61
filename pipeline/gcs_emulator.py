"""Runs against a Cloud Storage emulator (``STORAGE_EMULATOR_HOST``), for tests and trials.

google-cloud-storage sends every request to the emulator when that variable is set, but Beam
first looks up Google application-default credentials and, finding none, retries for about
30 seconds before it connects anonymously. An emulator needs no credentials, so when the
variable is set we tell Beam's credential cache up front that there are none.
"""
from __future__ import annotations

import os

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"


def configure_for_emulator() -> bool:
    """Skip Beam's credential lookup when a storage emulator is configured. True if it is."""
    if not os.environ.get(EMULATOR_ENV):
        return False
    from apache_beam.internal.gcp import auth

    with auth._Credentials._credentials_lock:
        auth._Credentials._credentials = None
        auth._Credentials._credentials_init = True
    return True
