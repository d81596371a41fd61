"""Progress lines for local runs (stderr) and the end-of-run summary (stdout). Never content."""
from __future__ import annotations

import json
import sys
import time


class Progress:
    def __init__(self, enabled: bool = True, stream=None, as_json: bool = False):
        self._enabled = enabled
        self._stream = stream or sys.stderr
        self._as_json = as_json
        self._start = time.monotonic()

    def stage(self, message: str, **counts: int) -> None:
        if not self._enabled:
            return
        elapsed = time.monotonic() - self._start
        if self._as_json:
            line = json.dumps({"event": "progress", "elapsed_s": round(elapsed, 1), "message": message, **counts})
        else:
            extra = "".join(f", {name.replace('_', ' ')} {value}" for name, value in counts.items())
            line = f"[gatekeeper {elapsed:7.1f}s] {message}{extra}"
        print(line, file=self._stream, flush=True)

    def summary(self, text: str) -> None:
        print(text, flush=True)
