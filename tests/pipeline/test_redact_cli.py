"""`gatekeeper redact`: JSON Lines in, redacted JSON Lines out, same engine as `run`."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.redact_cli import redact_stream
from transforms.redaction.engine import RedactionEngine, RedactionRequest

ROOT = Path(__file__).resolve().parents[2]
KEY = b"test-only-NOT-A-SECRET-0123456789abcdef"
LINES = [
    {"id": "a", "text": "Email Dana Whitfield at dana.whitfield@example.org or call (415) 555-0132."},
    {"id": 7, "text": "Card 4111 1111 1111 1111, SSN 078-05-1120, server 203.0.113.45."},
    {"id": "c", "text": "Nothing personal here, just the roadmap."},
]


def _redact(lines, key=KEY):
    out = io.StringIO()
    code = redact_stream(io.StringIO("".join(json.dumps(line) + "\n" for line in lines)), out, load_config(), key)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def test_redacts_with_offsets_into_the_input_text():
    code, results = _redact(LINES)
    assert code == 0 and [r["id"] for r in results] == ["a", 7, "c"]
    for source, result in zip(LINES, results):
        for entity in result["entities"]:
            assert 0 <= entity["start"] < entity["end"] <= len(source["text"])
            assert set(entity) == {"type", "start", "end", "score"}
    found = {(e["type"], LINES[0]["text"][e["start"]:e["end"]]) for e in results[0]["entities"]}
    assert ("EMAIL_ADDRESS", "dana.whitfield@example.org") in found
    for secret in ("dana.whitfield@example.org", "555-0132", "4111 1111 1111 1111", "078-05-1120", "203.0.113.45"):
        assert secret not in results[0]["text"] + results[1]["text"]
    assert results[2]["text"] == LINES[2]["text"] and results[2]["entities"] == []


def test_uses_exactly_the_engine_of_the_run_stage():
    _, results = _redact(LINES)
    engine = RedactionEngine.load(None, KEY, load_config().redaction.pseudonym_scope)
    direct = engine.redact_batch([RedactionRequest(text=line["text"]) for line in LINES])
    assert [r["text"] for r in results] == [d.text for d in direct]


def test_malformed_lines_are_reported_without_echoing_content_and_fail_the_exit_code():
    out = io.StringIO()
    stdin = io.StringIO('{"id": 1, "text": "fine"}\nnot json Alice Johnson\n{"id": 3}\n')
    code = redact_stream(stdin, out, load_config(), KEY)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert code == 1 and len(rows) == 3
    assert "Alice" not in out.getvalue()
    assert [r.get("error") is not None for r in rows] == [False, True, True]


@pytest.mark.slow
def test_cli_reads_stdin_and_fails_closed_without_a_key():
    env = dict(os.environ, GATEKEEPER_PSEUDONYM_KEY=KEY.decode())
    payload = "".join(json.dumps(line) + "\n" for line in LINES)
    proc = subprocess.run([sys.executable, "-m", "pipeline", "redact"], input=payload, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.splitlines()) == 3 and "dana.whitfield@example.org" not in proc.stdout
    env.pop("GATEKEEPER_PSEUDONYM_KEY")
    proc = subprocess.run([sys.executable, "-m", "pipeline", "redact"], input=payload, cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.count("\n") == 1
