"""Headless Chromium driven over the DevTools protocol, for the tests that open real pages.

``launch()`` starts Debian's chromium with a fresh profile and the flags this machine's closed
network needs, and yields a ``Cdp`` client on its first page. ``offline(cdp)`` blocks every
network scheme, so a page can only load what lies beside it on disk; the client keeps every
event, so ``requested_urls`` lists everything the page asked for.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
NETWORK_SCHEMES = ("http://*", "https://*", "ws://*", "wss://*", "ftp://*")


def chromium_binary() -> Optional[str]:
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class Cdp:
    """A minimal Chrome DevTools Protocol client over one page websocket."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client

        self._ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self._next = 0
        self.events: list[dict] = []

    def call(self, method: str, **params):
        self._next += 1
        call_id = self._next
        self._ws.send(json.dumps({"id": call_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"CDP {method} failed: {message['error'].get('message')}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 20.0) -> dict:
        deadline = time.time() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while time.time() < deadline:
            message = json.loads(self._ws.recv())
            self.events.append(message)
            if message.get("method") == method:
                return message
        raise TimeoutError(method)

    def evaluate(self, expression: str):
        """The JSON value of a JavaScript expression in the page."""
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True)["result"].get("value")

    def requested_urls(self) -> List[str]:
        return [e["params"]["request"]["url"] for e in self.events if e.get("method") == "Network.requestWillBeSent"]

    def failed_loads(self) -> List[dict]:
        return [e["params"] for e in self.events if e.get("method") == "Network.loadingFailed"]

    def close(self):
        self._ws.close()


def offline(cdp: Cdp) -> None:
    """Record every request and block all network schemes (only file:// and data: remain)."""
    cdp.call("Network.enable")
    cdp.call("Network.setBlockedURLs", urls=list(NETWORK_SCHEMES))
    cdp.call("Network.setCacheDisabled", cacheDisabled=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def launch(profile: Path) -> Iterator[Cdp]:
    """Headless Chromium on a fresh profile; skipped where it is not installed (failed on CI)."""
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (CI must install Debian's chromium)")
        pytest.skip("chromium not installed")
    pytest.importorskip("websocket")
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=1400,2200",
         f"--user-data-dir={profile}", f"--remote-debugging-port={port}", "--remote-allow-origins=*", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        targets = None
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as response:
                    targets = [t for t in json.load(response) if t.get("type") == "page"]
                if targets:
                    break
            except OSError:
                time.sleep(0.2)
        assert targets, "chromium did not expose a page target"
        cdp = Cdp(targets[0]["webSocketDebuggerUrl"])
        try:
            yield cdp
        finally:
            cdp.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
