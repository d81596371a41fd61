"""Local multi-process workers forked from one pre-warmed process.

Beam's ``--direct_running_mode multi_processing`` starts every SDK worker as
``python -m apache_beam.runners.worker.sdk_worker_main``; each one then imports Beam,
Presidio, spaCy and Great Expectations again (about 7 CPU-seconds a worker on this
project's stack), on the cores the pipeline needs. With :class:`WorkerForkServer` the
driver starts one *fork server* process at the beginning of the run, which imports those
modules (and loads the spaCy model) once while the driver builds the pipeline, and each
worker is a ``fork()`` of it: it starts with everything imported (pages shared
copy-on-write) and runs the same ``sdk_worker_main`` with the environment Beam gave it.

Beam still launches a worker with a shell command (``SubprocessSDKEnvironment``); the
command is this module's ``connect`` client, which hands its environment, working folder
and standard streams to the fork server over a Unix socket and exits with the forked
worker's exit status. The fork server stays single-threaded so forking it is safe; it
refuses to fork (the client then runs the worker itself) if an import started a thread.
It exits when the driver closes its stdin, including when the driver dies. The driver also
runs its own GE step (the Data Docs site) in a fork (:meth:`WorkerForkServer.run_module`),
so that it does not import GE itself while the workers need the cores.

    python -m pipeline.forked_workers serve SOCKET [MODULE[:FUNCTION]...]  # by WorkerForkServer
    python -m pipeline.forked_workers connect SOCKET [MODULE [ARG...]]  # the worker command
                                                      # (MODULE: Beam's sdk_worker_main)
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import runpy
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from typing import Dict, List, Optional, Sequence

WORKER_MAIN = "apache_beam.runners.worker.sdk_worker_main"

# What a worker of this pipeline imports anyway: Beam's harness, the stages' modules, and the
# heavy libraries behind them (the redaction engine's Presidio + spaCy, the validation's GE).
PRELOAD_MODULES = (
    WORKER_MAIN,
    "apache_beam.runners.worker.bundle_processor",
    "pyarrow.parquet",
    "transforms.ingest",
    "transforms.consent",
    "transforms.redaction.transform",
    "transforms.redaction.engine",
    "transforms.validate",
    "transforms.write",
    "expectations.runner",
    "great_expectations",
    "transforms.redaction.nlp_engine:preload_default_model",     # module:function = import, call
)

START_TIMEOUT_S = 60.0           # for the server's socket to appear (it binds before importing)
_REPLY = struct.Struct("!i")
# Replies: FORKED or NOT_FORKED at once (once the server has finished its imports), then, after
# FORKED, the worker's exit status. NOT_FORKED (or no server): the client runs the module itself.
_FORKED, _NOT_FORKED = -1000, -1001
_THIS_MODULE = (sys.executable, "-m", "pipeline.forked_workers")   # the command line of serve/connect


# ---------------------------------------------------------------- driver side

class WorkerForkServer:
    """Context manager owning the fork server process and its socket folder."""

    def __init__(self, preload: Sequence[str] = PRELOAD_MODULES):
        self._preload = tuple(preload)
        self._folder: Optional[str] = None
        self._process: Optional[subprocess.Popen] = None

    @property
    def socket_path(self) -> str:
        assert self._folder is not None, "fork server not started"
        return os.path.join(self._folder, "workers.sock")

    def worker_command(self) -> str:
        """The shell command Beam runs for each worker (``SubprocessSDKEnvironment``)."""
        return " ".join(shlex.quote(part) for part in (*_THIS_MODULE, "connect", self.socket_path))

    def run_module(self, module: str, argv: Sequence[str] = ()) -> Optional[int]:
        """``python -m module argv...`` in a fork of the server (which has imported what the
        workers need); its exit status, or None if the server could not fork it."""
        return run_forked(self.socket_path, module, argv)

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> "WorkerForkServer":
        self._folder = tempfile.mkdtemp(prefix="gatekeeper-workers-")
        self._process = subprocess.Popen(
            [*_THIS_MODULE, "serve", self.socket_path, *self._preload],
            stdin=subprocess.PIPE, close_fds=True)
        return self

    def __exit__(self, *exc) -> None:
        if self._process is not None:
            if self._process.stdin is not None:
                self._process.stdin.close()          # EOF: the server exits
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def forked_workers_runner(worker_command: str):
    """A FnApiRunner whose worker processes are started by ``worker_command``.

    Beam's ``multi_processing`` mode hard-codes ``python -m ...sdk_worker_main`` as the worker
    command, so the runner gets the command as its default environment and the mode is reset
    to ``in_memory``, which keeps that environment, with ``--direct_num_workers`` workers.
    """
    import logging

    from apache_beam.options.pipeline_options import DirectOptions
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.transforms.environments import SubprocessSDKEnvironment

    class _ModeWarningFilter(logging.Filter):
        """Beam warns that in_memory mode does not run several workers: with this environment it does."""

        def filter(self, record: logging.LogRecord) -> bool:
            return not str(record.msg).startswith("If direct_num_workers is not equal to 1")

    class ForkedWorkersRunner(FnApiRunner):
        def run_pipeline(self, pipeline, options):
            options.view_as(DirectOptions).direct_running_mode = "in_memory"
            runner_log = logging.getLogger(FnApiRunner.__module__)
            mode_warning = _ModeWarningFilter()
            runner_log.addFilter(mode_warning)
            try:
                return super().run_pipeline(pipeline, options)
            finally:
                runner_log.removeFilter(mode_warning)

    return ForkedWorkersRunner(
        default_environment=SubprocessSDKEnvironment.from_command_string(command_string=worker_command))


# ---------------------------------------------------------------- the worker, in a forked child

def _run_module(module: str, argv: List[str]) -> int:
    """``python -m module argv...`` in this process; its exit status."""
    sys.argv = [module, *argv]
    try:
        with warnings.catch_warnings():
            # the module was preloaded: runpy warns that it runs a second copy as __main__,
            # which is what ``python -m`` would run
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="runpy")
            runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:                     # noqa: BLE001 - the worker's own failure, as python -m
        traceback.print_exc()
        return 1
    return 0


def process_name(module: str) -> str:
    """What a fork running ``module`` is called in ``/proc/PID/comm`` (``ps -o comm``, ``top``):
    the module's last part, at most 15 bytes (a fork keeps the server's command line)."""
    return module.rsplit(".", 1)[-1].encode("utf-8")[:15].decode("utf-8", "ignore")


def _name_process(name: str) -> None:
    try:
        ctypes.CDLL(None).prctl(15, name.encode("utf-8"), 0, 0, 0)      # PR_SET_NAME (Linux)
    except (OSError, AttributeError):
        pass                                                             # elsewhere: unnamed


def _become_worker(request: Dict, fds: List[int]) -> None:
    """In the forked child: take the client's streams, folder and environment, run, exit."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    _name_process(process_name(request["module"]))
    for target, fd in enumerate(fds[:3]):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.stdout.flush()
    sys.stderr.flush()
    code = _run_module(request["module"], list(request["argv"]))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# ---------------------------------------------------------------- the fork server

def _receive(conn: socket.socket):
    payload = b""
    fds: List[int] = []
    while True:
        chunk, new_fds, _flags, _addr = socket.recv_fds(conn, 1 << 16, 8)
        fds.extend(new_fds)
        if not chunk:
            break
        payload += chunk
        if payload.endswith(b"\n"):
            break
    return json.loads(payload.decode("utf-8")), fds


def serve(socket_path: str, preload: Sequence[str]) -> None:
    # Ctrl-C reaches the whole process group: the driver handles it and closes our stdin
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(socket_path)
    listener.listen(64)                      # clients queue here while the imports run
    for entry in preload:
        module, _, function = entry.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception:                    # noqa: BLE001 - the worker meets and reports it itself
            pass
    can_fork = threading.active_count() == 1
    # the preloaded objects live as long as the workers: keep them out of the workers' garbage
    # collections (fewer objects to traverse, and their pages stay shared instead of copied)
    gc.freeze()
    children: Dict[int, socket.socket] = {}
    stdin = sys.stdin.fileno()
    while True:
        readable, _, _ = select.select([listener, stdin], [], [], 0.2)
        if stdin in readable and not os.read(stdin, 4096):
            break                               # the driver closed our stdin (or died)
        if listener in readable:
            conn, _ = listener.accept()
            try:
                request, fds = _receive(conn)
            except (OSError, ValueError):
                conn.close()
                continue
            if not can_fork:
                _reply(conn, _NOT_FORKED)
                conn.close()
            else:
                pid = os.fork()
                if pid == 0:
                    for inherited in (listener, conn, *children.values()):
                        inherited.close()
                    _become_worker(request, fds)
                children[pid] = conn
                _reply(conn, _FORKED)
            for fd in fds:
                os.close(fd)
        while children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                _reply(conn, os.waitstatus_to_exitcode(status))
                conn.close()
    listener.close()
    sys.stderr.flush()
    os._exit(0)          # nothing to flush or finalize; the interpreter's teardown takes seconds here


def _reply(conn: socket.socket, value: int) -> None:
    try:
        conn.sendall(_REPLY.pack(value))
    except OSError:
        pass                                    # the client is gone; nothing to tell


# ---------------------------------------------------------------- the client Beam runs

def run_forked(socket_path: str, module: str, argv: Sequence[str] = ()) -> Optional[int]:
    """Run ``python -m module argv...`` as a fork of the server, with this process's
    environment, folder and standard streams; its exit status, or None if the server did not
    fork it (not started, not able to fork, gone): the caller then runs it some other way."""
    client = _connected(socket_path)
    if client is None:
        return None
    with client:
        request = {"env": dict(os.environ), "cwd": os.getcwd(), "module": module, "argv": list(argv)}
        try:
            socket.send_fds(client, [json.dumps(request).encode("utf-8") + b"\n"], [0, 1, 2])
            if _read_reply(client) != _FORKED:
                return None
        except OSError:
            return None
        code = _read_reply(client)
    if code is None:
        print("gatekeeper: the worker fork server stopped before its worker did", file=sys.stderr)
        return 1
    return code


def connect(socket_path: str, module: str = WORKER_MAIN, argv: Sequence[str] = ()) -> int:
    """Run ``python -m module argv...`` as a fork of the server; exit with its status.

    Without a usable server (not started, not able to fork, gone before forking), the module
    runs in this process instead: slower to start, same result.
    """
    code = run_forked(socket_path, module, argv)
    return code if code is not None else _run_module(module, list(argv))


def _connected(socket_path: str) -> Optional[socket.socket]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            client.connect(socket_path)
            return client
        except FileNotFoundError:            # not bound yet
            client.close()
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)
        except OSError:                       # bound, but no server behind it any more
            client.close()
            return None


def _read_reply(client: socket.socket) -> Optional[int]:
    reply = b""
    while len(reply) < _REPLY.size:
        try:
            chunk = client.recv(_REPLY.size - len(reply))
        except OSError:
            return None
        if not chunk:
            return None
        reply += chunk
    return _REPLY.unpack(reply)[0]


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) >= 2 and args[0] == "serve":
        serve(args[1], args[2:])
    if len(args) >= 2 and args[0] == "connect":
        return connect(args[1], *(args[2:3] or [WORKER_MAIN]), argv=args[3:])
    print("usage: python -m pipeline.forked_workers serve SOCKET [MODULE[:FUNCTION]...] | "
          "connect SOCKET [MODULE [ARG...]]",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
