"""Helpers shared by the end-to-end tests: run the real CLI in a subprocess, read outputs."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from examples.generate import AS_OF

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
KEY = "test-only-NOT-A-SECRET-0123456789abcdef"


def gatekeeper(*args: str, env_overrides=None, check_code=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, GATEKEEPER_PSEUDONYM_KEY=KEY)
    for name, value in (env_overrides or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if check_code is not None:
        assert proc.returncode == check_code, (proc.returncode, proc.stderr[-3000:])
    return proc


def run_args(input_dir: Path, ledger: Path, output: Path, *extra: str):
    return ("run", "--input", str(input_dir), "--consent", str(ledger), "--output", str(output),
            "--as-of", AS_OF, "--quiet", *extra)


def every_output_text(output: Path) -> str:
    """Everything a reader could see: decoded Parquet (all columns) and every other file."""
    chunks = []
    for path in sorted(output.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".parquet":
            chunks.append(json.dumps(pq.read_table(path).to_pylist(), default=str, ensure_ascii=False))
        else:
            chunks.append(path.read_bytes().decode("utf-8", errors="replace"))
    return "\n".join(chunks)


def published_rows(output: Path, dataset: str):
    rows = []
    for path in sorted(output.glob(f"datasets/{dataset}/run_date=*/*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def tree_digest(output: Path) -> dict:
    return {str(p.relative_to(output)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(output.rglob("*")) if p.is_file() and not p.name.startswith("_publish")}


