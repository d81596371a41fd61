"""Progress lines for local runs (stderr) and the end-of-run summary (stdout). Never content."""
from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, enabled: bool = True, stream=None):
        self._enabled = enabled
        self._stream = stream or sys.stderr
        self._start = time.monotonic()

    def stage(self, message: str) -> None:
        if self._enabled:
            elapsed = time.monotonic() - self._start
            print(f"[gatekeeper {elapsed:7.1f}s] {message}", file=self._stream, flush=True)

    def summary(self, text: str) -> None:
        print(text, flush=True)
