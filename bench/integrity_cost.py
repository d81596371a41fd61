"""What the integrity records cost: hashing published files vs. validating them.

    python -m bench.integrity_cost [--data ../shared/data] [--rows N] [--files F] [--rounds R]

Writes ``rows`` segment rows (``bench.validation_speed``'s rows, their text replaced by real
meeting turns from ``--data`` when given, so the Parquet compresses as real output does) as
``files`` zstd Parquet files in the published layout, then times, in this one process:

* ``file_digests`` over the files (what a run adds to build its manifest, and what
  ``gatekeeper files --verify`` costs): streamed SHA-256 + Parquet footer per file;
* ``validate_path`` over the same output (what ``gatekeeper validate`` already costs).

Reports MB/s of hashing, the seconds of each per 100,000 rows and their ratio (medians of
``rounds``). Absolute times on a shared machine are noisy; the ratio is measured in one process.
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from itertools import cycle, islice
from pathlib import Path
from typing import Optional, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from bench.validation_speed import _row
from pipeline.integrity import file_digests
from pipeline.validation_cli import validate_path
from transforms.schemas import SEGMENT_SCHEMA


def write_output(root: Path, rows: int, files: int, data: Optional[Path]) -> list:
    texts = None
    if data is not None:
        from bench.corpora import qmsum_turns

        texts = cycle([t for t in islice(qmsum_turns(data), 500_000) if t.strip()])
    part = root / "datasets" / "transcript" / "run_date=2026-05-20"
    part.mkdir(parents=True)
    per_file = rows // files
    relatives = []
    for shard in range(files):
        batch = [_row(i) for i in range(shard * per_file, (shard + 1) * per_file)]
        if texts is not None:
            for row in batch:
                row["text"] = next(texts)
        path = part / f"part-20260601T000000Z-bench0-{shard:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(batch, schema=SEGMENT_SCHEMA), path, compression="zstd")
        relatives.append(path.relative_to(root).as_posix())
    return relatives


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="integrity-bench-") as tmp:
        root = Path(tmp)
        relatives = write_output(root, args.rows, args.files, args.data)
        size = sum((root / r).stat().st_size for r in relatives)
        validate_path(str(root))                       # warm-up (imports, suites)
        hashing, validating = [], []
        for _ in range(args.rounds):
            start = time.perf_counter()
            file_digests(str(root), relatives)
            hashing.append(time.perf_counter() - start)
            start = time.perf_counter()
            validate_path(str(root))
            validating.append(time.perf_counter() - start)
    h, v = statistics.median(hashing), statistics.median(validating)
    per = 100_000 / args.rows
    print(json.dumps({
        "rows": args.rows, "files": args.files, "bytes": size, "real_text": args.data is not None,
        "hash_s": round(h, 4), "hash_mb_per_s": round(size / h / 1e6, 1), "hash_s_per_100k_rows": round(h * per, 4),
        "validate_s_per_100k_rows": round(v * per, 3), "hash_vs_validate": round(h / v, 4),
        "rounds": {"hash_s": [round(x, 4) for x in hashing], "validate_s": [round(x, 3) for x in validating]},
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
