"""The worker fork server: workers are forks of a pre-warmed process, with the client's world.

A probe module stands in for Beam's worker: it records what process it runs in and what it
sees, prints a line and exits with a chosen status. A preloaded marker module (and the call
``probe_marker:mark``) shows that the fork inherits the server's imports and warm-up; a
preload entry that fails to import does not stop the server.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.forked_workers import WorkerForkServer
from pipeline.options import worker_processes_requested

PROBE = textwrap.dedent("""
    import gc, json, os, sys
    from pathlib import Path
    Path(os.environ["PROBE_OUT"]).write_text(json.dumps({"frozen_objects": gc.get_freeze_count(),
        "comm": Path("/proc/self/comm").read_text().strip(),
        "pid": os.getpid(), "ppid": os.getppid(), "cwd": os.getcwd(), "argv": sys.argv[1:],
        "preloaded": getattr(sys.modules.get("probe_marker"), "MARKED", False), "secret": os.environ.get("PROBE_ENV")}))
    print("probe says hello", flush=True)
    sys.exit(int(os.environ.get("PROBE_EXIT", "0")))
""")


@pytest.fixture
def probe_path(tmp_path, monkeypatch) -> Path:
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "probe_worker.py").write_text(PROBE)
    (modules / "probe_marker.py").write_text("MARKED = False\n\ndef mark():\n    global MARKED\n    MARKED = True\n")
    (modules / "probe_thread.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(modules), os.environ.get("PYTHONPATH")])))
    return modules


def _connect(socket_path: str, tmp_path: Path, *argv: str, exit_code: int = 0):
    out = tmp_path / f"probe-{exit_code}.json"
    workdir = tmp_path / "client-cwd"
    workdir.mkdir(exist_ok=True)
    env = dict(os.environ, PROBE_OUT=str(out), PROBE_EXIT=str(exit_code), PROBE_ENV="from-the-client")
    done = subprocess.run([sys.executable, "-m", "pipeline.forked_workers", "connect", socket_path,
                           "probe_worker", *argv], cwd=workdir, env=env, capture_output=True, text=True,
                          timeout=60)
    return done, json.loads(out.read_text()), workdir


def test_worker_is_a_fork_of_the_warm_server_with_the_clients_environment(probe_path, tmp_path):
    with WorkerForkServer(preload=("probe_marker:mark", "no_such_module")) as server:
        done, seen, workdir = _connect(server.socket_path, tmp_path, "--flag", "value", exit_code=3)
        assert seen["ppid"] == server.pid            # forked by the server, not started by the client
        assert seen["preloaded"] is True             # with the server's imports and calls done
        assert seen["frozen_objects"] > 0            # which the worker's GC leaves alone
        assert seen["comm"] == "probe_worker"        # named after its module in ps / top
        assert seen["cwd"] == str(workdir)
        assert seen["argv"] == ["--flag", "value"]
        assert seen["secret"] == "from-the-client"   # the client's environment, not the server's
        assert done.returncode == 3                  # the client exits with the worker's status
        assert "probe says hello" in done.stdout     # on the client's standard streams

        second, seen_again, _ = _connect(server.socket_path, tmp_path, exit_code=0)
        assert second.returncode == 0 and seen_again["ppid"] == server.pid
        assert seen_again["pid"] != seen["pid"]
        process = server._process
    assert process.poll() is not None                # stdin closed: the server has exited
    assert not Path(server.socket_path).parent.exists()


def test_the_driver_runs_a_module_in_a_fork_or_learns_it_could_not(probe_path, tmp_path, monkeypatch):
    out = tmp_path / "probe.json"
    monkeypatch.setenv("PROBE_OUT", str(out))
    monkeypatch.setenv("PROBE_EXIT", "6")
    with WorkerForkServer(preload=("probe_marker:mark",)) as server:
        assert server.run_module("probe_worker", ["--docs"]) == 6
        seen = json.loads(out.read_text())
        assert seen["ppid"] == server.pid and seen["preloaded"] is True and seen["argv"] == ["--docs"]
    out.unlink()
    with WorkerForkServer(preload=("probe_thread",)) as server:
        assert server.run_module("probe_worker") is None          # not forked, and not run here
    assert not out.exists()


def test_a_server_that_cannot_fork_safely_lets_the_client_run_the_worker(probe_path, tmp_path):
    # an import that starts a thread makes fork() unsafe: the server refuses to fork
    with WorkerForkServer(preload=("probe_thread", "probe_marker:mark")) as server:
        done, seen, _ = _connect(server.socket_path, tmp_path, exit_code=4)
        assert seen["ppid"] != server.pid
        assert seen["preloaded"] is False
        assert done.returncode == 4 and "probe says hello" in done.stdout


def test_no_server_behind_the_socket_means_the_client_runs_the_worker(probe_path, tmp_path):
    with WorkerForkServer(preload=()) as server:
        server._process.stdin.close()                # the server exits; its socket file stays
        server._process.wait(timeout=30)
        assert Path(server.socket_path).exists()
        done, seen, _ = _connect(server.socket_path, tmp_path, exit_code=5)
    assert done.returncode == 5 and seen["ppid"] != server.pid


@pytest.mark.parametrize("flags, requested", [
    ([], False),
    (["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"], True),
    (["--direct_running_mode=multi_processing", "--direct_num_workers=0"], True),    # 0: one per core
    (["--direct_running_mode=multi_processing"], False),                             # Beam's default: 1
    (["--direct_running_mode=multi_threading", "--direct_num_workers=2"], False),
    (["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"], True),
    (["--runner=DataflowRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"], False),
])
def test_worker_processes_requested_reads_the_beam_flags(flags, requested):
    assert worker_processes_requested(flags) is requested
