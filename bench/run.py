"""Run every benchmark on this machine: ``make bench`` → ``python -m bench.run DATA_DIR``.

    python -m bench.run DATA_DIR [--quick] [--out bench/results] [--only a,b] [--e2e-chars N]

Benchmarks (each in its own Python process, so peak memory and CPU pinning are its own):

* ``redaction_speed``: stock Presidio, bare spaCy and our redaction stage on the same real
  meeting text, one core (``bench/redaction_speed.py``);
* ``pipeline_e2e``: the whole pipeline, 1 worker and 2 worker processes, with the spaCy
  floor on the same corpus (``bench/pipeline_e2e.py``);
* ``consent_join``: 1,000,000 ledger events against 100,000 artifacts (``bench/consent_join.py``);
* ``validation_speed``: seconds per 100,000 rows (``bench/validation_speed.py``).

From the end-to-end figures it writes the capacity plan ``docs/CAPACITY.md`` (``bench/capacity.py``;
``OUT/capacity.md`` for ``--quick``).

Every figure is a median of several rounds, every ratio compares numbers from the same run.
Writes ``OUT/bench-<timestamp>.json``, ``OUT/latest.json`` and ``OUT/latest.md``. ``--quick``
scales everything down (smoke test). Exit code 1 if a benchmark could not run (the others
are still reported); missed targets are reported, not an error.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from bench.capacity import write_capacity
from bench.report import build_document, write_reports

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = ("redaction_speed", "validation_speed", "consent_join", "pipeline_e2e")
SHARED_MACHINE_NOTE = "shared machine: other jobs may run concurrently; compare ratios, not absolute times"

FULL = {
    "redaction_speed": {"texts": 2000, "rounds": 5},
    "validation_speed": {"rows": 100_000, "rounds": 3},
    "consent_join": {"events": 1_000_000, "artifacts": 100_000},
    # >= 3 M characters: the 2-vs-1-worker steady state and the capacity plan (docs/CAPACITY.md)
    "pipeline_e2e": {"chars": 3_000_000, "rounds": 2, "floor_rounds": 3, "startup": True},
}
QUICK = {
    "redaction_speed": {"texts": 120, "rounds": 3},
    "validation_speed": {"rows": 3000, "rounds": 3},
    "consent_join": {"events": 5000, "artifacts": 400},
    "pipeline_e2e": {"chars": 6000, "rounds": 1, "floor_rounds": 3, "startup": False},
}


def commands(name: str, data_dir: Path, params: Dict, out_file: Path) -> List[str]:
    python = sys.executable
    if name == "redaction_speed":
        return [python, str(REPO / "bench" / "redaction_speed.py"), str(data_dir), "--texts", str(params["texts"]),
                "--rounds", str(params["rounds"]), "--out", str(out_file)]
    if name == "validation_speed":
        return [python, "-m", "bench.validation_speed", "--rows", str(params["rows"]),
                "--rounds", str(params["rounds"]), "--out", str(out_file)]
    if name == "consent_join":
        return [python, str(REPO / "bench" / "consent_join.py"), "--events", str(params["events"]),
                "--artifacts", str(params["artifacts"]), "--out", str(out_file)]
    if name == "pipeline_e2e":
        command = [python, "-m", "bench.pipeline_e2e", str(data_dir), "--chars", str(params["chars"]),
                   "--rounds", str(params["rounds"]), "--floor-rounds", str(params["floor_rounds"]),
                   "--out", str(out_file)]
        command += ["--modes", params.get("modes", "1w,2w")]
        return command + ([] if params["startup"] else ["--no-startup"])
    raise ValueError(f"unknown benchmark {name}")


def _load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def run_one(name: str, data_dir: Path, params: Dict, scratch: Path, log) -> Dict:
    """Run one benchmark process; its JSON result, or ``{"error": ...}`` (one line, no content)."""
    out_file = scratch / f"{name}.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    print(f"[bench] {name} {json.dumps(params)} ...", file=log, flush=True)
    completed = subprocess.run(commands(name, data_dir, params, out_file), cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = round(time.perf_counter() - started, 1)
    if completed.returncode != 0 or not out_file.is_file():
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1][:200]
        print(f"[bench] {name} failed (exit {completed.returncode}) after {elapsed} s: {last}", file=log, flush=True)
        return {"error": f"exit {completed.returncode}: {last}"}
    result = json.loads(out_file.read_text(encoding="utf-8"))
    result["bench_seconds"] = elapsed
    print(f"[bench] {name} done in {elapsed} s", file=log, flush=True)
    return result


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="the shared data folder (e.g. ../shared/data)")
    parser.add_argument("--quick", action="store_true", help="small sizes, one e2e round (smoke test)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--e2e-chars", type=int, help="corpus size of the end-to-end benchmark")
    parser.add_argument("--e2e-modes", help="end-to-end runs to make: 1w, 2w or 1w,2w (default)")
    args = parser.parse_args(argv)
    selected = [b.strip() for b in args.only.split(",") if b.strip()] or list(BENCHMARKS)
    unknown = sorted(set(selected) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s): {','.join(unknown)}")
    if not args.data_dir.is_dir():
        parser.error("DATA_DIR is not a folder")
    plan = {name: dict((QUICK if args.quick else FULL)[name]) for name in BENCHMARKS if name in selected}
    if args.e2e_chars and "pipeline_e2e" in plan:
        plan["pipeline_e2e"]["chars"] = args.e2e_chars
    if args.e2e_modes and "pipeline_e2e" in plan:
        plan["pipeline_e2e"]["modes"] = args.e2e_modes

    created = datetime.now(timezone.utc)
    meta = {
        "created_at": created.isoformat(timespec="seconds"),
        "quick": args.quick,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_mib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": _load_average(),
        "note": SHARED_MACHINE_NOTE,
        "plan": plan,
    }
    results: Dict = {}
    errors: Dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-run-") as scratch:
        for name, params in plan.items():
            result = run_one(name, args.data_dir.resolve(), params, Path(scratch), sys.stderr)
            if "error" in result:
                errors[name] = result["error"]
            else:
                results[name] = result
    meta["load_average_end"] = _load_average()
    meta["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if errors:
        results["errors"] = errors
    document = build_document(results, meta)
    paths = write_reports(document, args.out, created.strftime("%Y%m%dT%H%M%SZ"))
    if "pipeline_e2e" in results and (results["pipeline_e2e"].get("two_workers") or {}).get("steady_chars_per_sec"):
        # the plan from this run's figures; a --quick run writes it beside the results only
        capacity = args.out / "capacity.md" if args.quick else REPO / "docs" / "CAPACITY.md"
        try:
            source = str(paths["json"].resolve().relative_to(REPO))
        except ValueError:
            source = str(paths["json"])
        write_capacity(document, source, capacity)
        print(f"[bench] wrote the capacity plan {capacity}", file=sys.stderr)
    print(paths["markdown"].read_text(encoding="utf-8"))
    print(f"[bench] wrote {paths['json']}, {paths['latest_json']}, {paths['markdown']}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
