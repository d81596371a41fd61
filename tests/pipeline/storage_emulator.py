"""A Cloud Storage emulator (gcp-storage-emulator, in this process) for the gs:// tests.

Beam's GCS filesystem and google-cloud-storage talk to it over HTTP on 127.0.0.1 when
``STORAGE_EMULATOR_HOST`` is set; subprocesses given the same variable reach it too.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import Dict, Iterator

from apache_beam.internal.gcp import auth
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from pipeline.gcs_emulator import EMULATOR_ENV, configure_for_emulator
from pipeline.publish import list_files, relative_to

BUCKET = "gatekeeper-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def storage_emulator() -> Iterator[Dict[str, str]]:
    """Start the emulator with bucket ``BUCKET``; yields the env a subprocess needs to use it."""
    from gcp_storage_emulator.server import create_server

    logging.getLogger("gcp_storage_emulator").setLevel(logging.ERROR)
    port = _free_port()
    server = create_server("127.0.0.1", port, in_memory=True, default_bucket=BUCKET)
    server.start()
    env = {EMULATOR_ENV: f"http://127.0.0.1:{port}", "NO_GCE_CHECK": "True"}
    saved_env = {name: os.environ.get(name) for name in env}
    saved_credentials = (auth._Credentials._credentials_init, auth._Credentials._credentials)
    os.environ.update(env)
    configure_for_emulator()
    try:
        yield env
    finally:
        server.stop()
        auth._Credentials._credentials_init, auth._Credentials._credentials = saved_credentials
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def download_tree(root: str, target: Path) -> Path:
    """Copy every object under ``root`` to ``target`` (same relative paths) for inspection."""
    for found in list_files(f"{root.rstrip('/')}/**"):
        local = target / relative_to(root, found.path)
        local.parent.mkdir(parents=True, exist_ok=True)
        with FileSystems.open(found.path) as handle:
            local.write_bytes(handle.read())
    return target


def upload(local: Path, uri: str) -> str:
    """Copy a local file, or every file under a local folder, to ``uri``; returns ``uri``."""
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file())
    for path in files:
        target = uri if local.is_file() else f"{uri.rstrip('/')}/{path.relative_to(local).as_posix()}"
        with FileSystems.create(target, compression_type=CompressionTypes.UNCOMPRESSED) as handle:
            handle.write(path.read_bytes())
    return uri
