"""Validation time per 100,000 segment rows (``gatekeeper validate`` on a written output).

    python -m bench.validation_speed [--rows N] [--rounds R] [--files F] [--out FILE]

Writes ``rows`` synthetic, redacted-looking rows matching ``SEGMENT_SCHEMA`` as ``files``
Parquet files under ``TMP/datasets/transcript/run_date=2026-05-20/`` (the published
layout), then times ``pipeline.validation_cli.validate_path`` over that folder (every
suite expectation per record batch, plus the cross-file uniqueness and ordering checks)
``rounds`` times on one core, after one warm-up validation of a small separate output.
Reports seconds per 100,000 rows (median), each round, whether the data passed (it
should: the rows are valid) and this process's peak RSS.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from bench.pipeline_e2e import pinned
from bench.report import emit_json
from transforms.schemas import SEGMENT_SCHEMA

RUN_ID = "20260601T000000Z-bench0"
SEGMENTS_PER_ARTIFACT = 100
_TEMPLATES = (
    "so {p} said we should move the release to next week, does that work for everyone?",
    "I think {p} already opened the pull request, it is under review with the client teams.",
    "ok, thanks {p}. let's take the remaining questions to the chat and follow up on {d}.",
    "yeah, we measured it again and the numbers look fine on mainnet, no regression there.",
    "{p} can you share the link? I'll send it to {e} after the call.",
    "right, uh, the devnet was stable for about {n} hours before we saw the fork.",
)
_PLACEHOLDERS = {"p": "<PERSON_{h}>", "e": "<EMAIL_ADDRESS_{h}>", "d": "<DATE_TIME>"}


def _row(index: int) -> Dict:
    artifact = index // SEGMENTS_PER_ARTIFACT
    number = index % SEGMENTS_PER_ARTIFACT
    digest = f"{(index * 2654435761) % 16**6:06x}"
    text = _TEMPLATES[index % len(_TEMPLATES)].format(
        p=_PLACEHOLDERS["p"].format(h=digest), e=_PLACEHOLDERS["e"].format(h=digest[::-1]),
        d=_PLACEHOLDERS["d"], n=index % 48 + 1)
    entities = [{"type": "PERSON", "count": 1}] if "<PERSON_" in text else []
    return {
        "run_id": RUN_ID,
        "meeting_id": f"m-{artifact // 2:06d}",
        "artifact_id": f"m-{artifact // 2:06d}-a{artifact % 2}",
        "segment_id": f"m-{artifact // 2:06d}-a{artifact % 2}:{number:05d}",
        "kind": "transcript",
        "source_format": "webvtt",
        "speaker": f"<PERSON_{(artifact * 31 + number % 4):06x}>",
        "start_ms": number * 4000,
        "end_ms": number * 4000 + 3500,
        "text": text,
        "entity_counts": entities,
        "consent_event_ids": [f"ev-{artifact % 997:04d}", "ev-account"],
        "purpose": "ai_training",
        "derived_from": [],
        "source_fingerprint": f"{artifact:064x}",
        "residual_findings": [],
    }


def write_rows(root: Path, rows: int, files: int) -> List[Path]:
    """``rows`` valid rows as ``files`` Parquet files in the published dataset layout."""
    folder = root / "datasets" / "transcript" / "run_date=2026-05-20"
    folder.mkdir(parents=True, exist_ok=True)
    per_file = -(-rows // files)
    written = []
    for shard in range(files):
        first, last = shard * per_file, min(rows, (shard + 1) * per_file)
        if first >= last:
            break
        table = pa.Table.from_pylist([_row(i) for i in range(first, last)], schema=SEGMENT_SCHEMA)
        path = folder / f"part-{RUN_ID}-{shard:05d}.parquet"
        pq.write_table(table, path)
        written.append(path)
    return written


def run(rows: int, rounds: int, files: int, workdir: Path) -> Dict:
    from pipeline.validation_cli import validate_path

    write_rows(workdir / "warmup", min(rows, 1000), 1)
    write_rows(workdir / "output", rows, files)
    seconds: List[float] = []
    success: List[bool] = []
    with pinned():
        validate_path(str(workdir / "warmup"))          # Great Expectations' first-use set-up
        for _ in range(rounds):
            started = time.perf_counter()
            report = validate_path(str(workdir / "output"))
            seconds.append(time.perf_counter() - started)
            success.append(bool(report.success))
    per_100k = [s * 100_000 / rows for s in seconds]
    return {
        "benchmark": "validation_speed",
        "rows": rows,
        "files": files,
        "rounds": rounds,
        "seconds_rounds": [round(s, 3) for s in seconds],
        "seconds_per_100k_rows_rounds": [round(s, 3) for s in per_100k],
        "seconds_per_100k_rows_median": round(statistics.median(per_100k), 3),
        "rows_per_sec_median": round(rows / statistics.median(seconds)),
        "validation_passed": all(success),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-validate-") as workdir:
        report = run(args.rows, args.rounds, args.files, Path(workdir))
    emit_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
