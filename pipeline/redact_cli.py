"""`gatekeeper redact`: JSON Lines {"id", "text"} on stdin → redacted JSON Lines on stdout.

Uses the same ``RedactionEngine`` and configuration as ``gatekeeper run``. Lines are read in
batches so the engine can analyse them through ``nlp.pipe``. A malformed line yields an
error object for that id (or line number) and a non-zero exit at the end; its content is
never echoed.
"""
from __future__ import annotations

import json
from typing import IO, List, Tuple

from pipeline.config import GatekeeperConfig

EXIT_OK, EXIT_BAD_INPUT = 0, 1


def _parse_line(line: str, number: int) -> Tuple[object, str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError(f"line {number}: not valid JSON") from None
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError(f"line {number}: expected an object with a string 'text'")
    return record.get("id", number), record["text"]


def redact_stream(stdin: IO[str], stdout: IO[str], config: GatekeeperConfig, key: bytes) -> int:
    from transforms.redaction.engine import RedactionEngine, RedactionRequest

    engine = RedactionEngine.load(config.redaction.config_path or None, key, config.redaction.pseudonym_scope)
    batch_size = max(1, config.redaction.batch_size)
    pending: List[Tuple[object, str]] = []
    failures = 0

    def flush() -> None:
        if not pending:
            return
        results = engine.redact_batch([RedactionRequest(text=text) for _, text in pending])
        for (record_id, _), result in zip(pending, results):
            stdout.write(json.dumps({
                "id": record_id,
                "text": result.text,
                "entities": [{"type": e.entity_type, "start": e.start, "end": e.end, "score": round(e.score, 4)}
                             for e in result.entities],
            }, ensure_ascii=False) + "\n")
        pending.clear()

    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        try:
            pending.append(_parse_line(line, number))
        except ValueError as exc:
            flush()
            failures += 1
            stdout.write(json.dumps({"id": number, "error": str(exc)}) + "\n")
            continue
        if len(pending) >= batch_size:
            flush()
    flush()
    stdout.flush()
    return EXIT_BAD_INPUT if failures else EXIT_OK
