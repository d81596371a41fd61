"""A real, throwaway PostgreSQL server for the SQL ledger tests.

Uses the server binaries of Debian's ``postgresql`` package (``/usr/lib/postgresql/<v>/bin``).
As root, ``initdb`` and the server run as the ``postgres`` user (or ``nobody``) in a
private temporary directory. The server listens on 127.0.0.1 at a free port and on a
unix socket in that directory, and is stopped at the end of the session.

When the binaries are missing the tests are skipped on a developer machine and fail
when ``CI`` is set (CI installs the package, so a skip there would hide a broken setup).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class PostgresServer:
    url: str            # SQLAlchemy URL (psycopg 3 driver)
    port: int


def _binaries():
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not candidates:
        found = shutil.which("initdb")
        return (found, shutil.which("pg_ctl")) if found and shutil.which("pg_ctl") else None
    bin_dir = os.path.dirname(candidates[-1])
    return os.path.join(bin_dir, "initdb"), os.path.join(bin_dir, "pg_ctl")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _service_user():
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    pytest.fail("running as root but neither a 'postgres' nor a 'nobody' user exists to run PostgreSQL")


@pytest.fixture(scope="session")
def postgres_server():
    binaries = _binaries()
    if binaries is None:
        message = "PostgreSQL server binaries not found (apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    initdb, pg_ctl = binaries
    user = _service_user()
    base = tempfile.mkdtemp(prefix="gatekeeper-pg-")
    data, log = os.path.join(base, "data"), os.path.join(base, "server.log")
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
    prefix = ["runuser", "-u", user.pw_name, "--"] if user is not None else []
    port = _free_port()

    def run(args, timeout=120):
        return subprocess.run(prefix + args, cwd=base, capture_output=True, text=True, timeout=timeout)

    init = run([initdb, "-D", data, "-A", "trust", "-U", "gatekeeper", "-E", "UTF8", "--no-locale"])
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"initdb failed with exit {init.returncode}: {init.stderr.strip()[-500:]}")
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = run([pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "-t", "60", "start"])
    if start.returncode != 0:
        detail = open(log, encoding="utf-8", errors="replace").read()[-500:] if os.path.exists(log) else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start (exit {start.returncode}): {detail}")
    try:
        yield PostgresServer(url=f"postgresql+psycopg://gatekeeper@127.0.0.1:{port}/postgres", port=port)
    finally:
        run([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"], timeout=60)
        shutil.rmtree(base, ignore_errors=True)
