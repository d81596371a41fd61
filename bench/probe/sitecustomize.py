"""Start-up probe for ``bench.pipeline_e2e`` (never used by the pipeline itself).

With this folder on PYTHONPATH and ``GATEKEEPER_BENCH_PROBE=PREFIX`` set, every Python process
of a run (the CLI, the fork server and its worker forks, Beam's worker subprocesses) records the
wall-clock time (``time.time()``) at which one of its DoFns processes its first element, in
``PREFIX.<label>.<pid>`` (created once, exclusively):

* ``first_element``: ``transforms.ingest.KeyByMeetingFolder`` (the first DoFn of the run that
  sees an input file);
* ``first_redaction``: ``transforms.redaction.transform._RedactChunkFn`` (the first chunk redacted).

The classes are wrapped when their module is imported (an import hook), so nothing is imported
early and the start-up being measured is not changed.
"""
import importlib.abc
import importlib.util
import os
import sys
import time

PREFIX = os.environ.get("GATEKEEPER_BENCH_PROBE")
TARGETS = {
    "transforms.ingest": ("KeyByMeetingFolder", "first_element"),
    "transforms.redaction.transform": ("_RedactChunkFn", "first_redaction"),
}


def _record(label):
    try:
        handle = os.open(f"{PREFIX}.{label}.{os.getpid()}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return
    os.write(handle, repr(time.time()).encode())
    os.close(handle)


def _wrap(cls, label):
    original = cls.process
    seen = []

    def process(self, *args, **kwargs):
        if not seen:
            seen.append(True)
            _record(label)
        return original(self, *args, **kwargs)

    cls.process = process


class _Loader(importlib.abc.Loader):
    def __init__(self, loader, class_name, label):
        self._loader, self._class_name, self._label = loader, class_name, label

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _wrap(getattr(module, self._class_name), self._label)


class _Finder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name not in TARGETS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader, *TARGETS[name])
        return spec


if PREFIX:
    sys.meta_path.insert(0, _Finder())
