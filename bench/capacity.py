"""Capacity plan for Dataflow from the measured end-to-end figures: ``docs/CAPACITY.md``.

    python -m bench.capacity bench/results/latest.json [--out docs/CAPACITY.md]

``make bench`` (``bench.run``) calls it after every run that measured the whole pipeline, so
the plan's numbers are never typed by hand: per-core steady-state throughput (the 2-worker run
of ``bench.pipeline_e2e``: one SDK worker process per core, as Dataflow runs Python, start-up
taken out), characters per meeting of the same real meeting text, peak memory per worker
process and the local start-up. What is not measured here is stated as an assumption (worker
VM start-up, the machine type, the night's window) and the prices as list prices with their
date: they must be re-checked before a budget is based on them.
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
NIGHTS = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class Assumptions:
    """Inputs that this machine cannot measure; each is printed in the plan."""

    machine_type: str = "n1-standard-2"
    vcpus: int = 2                          # Dataflow runs one Python SDK process per vCPU
    memory_gb: float = 7.5
    window_hours: float = 4.0               # 02:30 → 06:30 UTC, before the morning's consumers
    vm_startup_minutes: float = 4.0         # VM boot + image pull: not measured here (no cloud)
    memory_headroom: float = 0.8            # worker processes may use this share of the VM
    # Dataflow batch list prices, us-central1, USD, as last known (2024); re-check before use
    price_vcpu_hour: float = 0.056
    price_gb_hour: float = 0.003557
    prices_as_of: str = "2024 (last known list prices; NOT re-checked: no internet here)"


@dataclass(frozen=True)
class Measured:
    chars_per_meeting: float
    per_core_chars_per_sec: float
    per_core_source: str
    peak_rss_worker_mib: float
    local_startup_seconds: Optional[float]  # first element processed (slower local mode)
    startup_run_seconds: Optional[float]    # wall of a one-meeting run (2 workers)
    corpus: Dict[str, Any]
    scaling_2w_vs_1w_steady: Optional[float]
    floor_chars_per_sec: Optional[float] = None   # bare spaCy on the same text, one core


def measured_figures(e2e: Dict[str, Any]) -> Measured:
    corpus = e2e["corpus"]
    if not corpus.get("meetings") or not corpus.get("chars"):
        raise ValueError("the end-to-end result has no corpus size")
    two, one = e2e.get("two_workers") or {}, e2e.get("one_worker") or {}
    if two.get("steady_chars_per_sec"):
        rate, source = two["steady_chars_per_sec"] / 2, "2 worker processes on 2 cores, start-up taken out, ÷ 2"
    elif one.get("steady_chars_per_sec"):
        rate, source = float(one["steady_chars_per_sec"]), "1 worker on 1 core, start-up taken out"
    else:
        raise ValueError("no steady-state rate: run bench.pipeline_e2e with its start-up runs")
    peaks = [p.get("peak_rss_per_worker_mib_max") for p in (one, two) if p.get("peak_rss_per_worker_mib_max")]
    firsts = [p.get("first_element_seconds_median") for p in (one, two) if p.get("first_element_seconds_median")]
    return Measured(
        chars_per_meeting=corpus["chars"] / corpus["meetings"],
        per_core_chars_per_sec=rate,
        per_core_source=source,
        peak_rss_worker_mib=max(peaks) if peaks else float("nan"),
        local_startup_seconds=max(firsts) if firsts else None,
        startup_run_seconds=two.get("startup_seconds") or one.get("startup_seconds"),
        corpus=corpus,
        scaling_2w_vs_1w_steady=e2e.get("speedup_2w_vs_1w_steady"),
        floor_chars_per_sec=(e2e.get("spacy_floor") or {}).get("chars_per_sec_median"),
    )


@dataclass(frozen=True)
class NightPlan:
    meetings: int
    chars: float
    core_hours: float
    workers: int
    wall_hours: float
    worker_hours: float
    cost_usd: float
    one_worker_hours: float


def plan_night(meetings: int, measured: Measured, assumptions: Assumptions) -> NightPlan:
    """Workers so that the night fits its window; hours and cost at list prices."""
    chars = meetings * measured.chars_per_meeting
    core_seconds = chars / measured.per_core_chars_per_sec
    fixed_seconds = assumptions.vm_startup_minutes * 60 + (measured.local_startup_seconds or 0)
    usable = assumptions.window_hours * 3600 - fixed_seconds
    if usable <= 0:
        raise ValueError("the window is shorter than the workers' start-up")
    workers = max(1, math.ceil(core_seconds / (assumptions.vcpus * usable)))
    wall_seconds = fixed_seconds + core_seconds / (workers * assumptions.vcpus)
    worker_hours = workers * wall_seconds / 3600
    hourly = assumptions.vcpus * assumptions.price_vcpu_hour + assumptions.memory_gb * assumptions.price_gb_hour
    return NightPlan(
        meetings=meetings, chars=chars, core_hours=core_seconds / 3600, workers=workers,
        wall_hours=wall_seconds / 3600, worker_hours=worker_hours, cost_usd=worker_hours * hourly,
        one_worker_hours=(fixed_seconds + core_seconds / assumptions.vcpus) / 3600)


def memory_fits(measured: Measured, assumptions: Assumptions) -> bool:
    return assumptions.vcpus * measured.peak_rss_worker_mib <= assumptions.memory_gb * 1024 * assumptions.memory_headroom


def render(document: Dict[str, Any], source: str, assumptions: Assumptions = Assumptions()) -> str:
    e2e = document["results"]["pipeline_e2e"]
    meta = document.get("meta", {})
    measured = measured_figures(e2e)
    plans = [plan_night(n, measured, assumptions) for n in NIGHTS]
    hourly = assumptions.vcpus * assumptions.price_vcpu_hour + assumptions.memory_gb * assumptions.price_gb_hour
    fits = memory_fits(measured, assumptions)
    corpus = measured.corpus
    lines: List[str] = [
        "# Capacity plan (generated by `make bench`; do not edit by hand)",
        "",
        f"Generated by `bench/capacity.py` from `{source}` (bench run {meta.get('created_at', '?')}, "
        f"{'QUICK smoke-test sizes: NOT a plan to rely on' if meta.get('quick') else 'full sizes'}; "
        f"load average {meta.get('load_average_start', '?')} at start, {meta.get('load_average_end', '?')} at end: "
        "a shared 2-core machine, so absolute rates move by ±30% between runs). Rerun `make bench` "
        "to refresh every number below.",
        "",
        *(["**The per-core rate exceeds the bare spaCy floor of the same run: the corpus is too small "
           "for the start-up to be subtracted reliably, so every figure below is too optimistic.**", ""]
          if measured.floor_chars_per_sec and measured.per_core_chars_per_sec > measured.floor_chars_per_sec
          else []),
        *([f"**The corpus ({corpus['chars']:,} characters) is below the 3,000,000 characters the plan is "
           "specified on: a small run, for the mechanics only.**", ""] if corpus["chars"] < 3_000_000 else []),
        "## Measured (`bench/pipeline_e2e.py`, real meeting text)",
        "",
        "| figure | value |",
        "|---|---|",
        f"| corpus | {corpus['chars']:,} characters, {corpus['meetings']} meetings, {corpus.get('segments', '?')} segments |",
        f"| characters per meeting | {measured.chars_per_meeting:,.0f} |",
        f"| steady-state throughput per core, whole pipeline | {measured.per_core_chars_per_sec:,.0f} chars/s "
        f"({measured.per_core_source}) |",
        f"| bare spaCy on the same text, one core (the floor) | {measured.floor_chars_per_sec or 0:,.0f} chars/s |",
        f"| 2 workers vs 1 worker, steady state | {measured.scaling_2w_vs_1w_steady}x |",
        f"| peak memory per worker process | {measured.peak_rss_worker_mib:,.0f} MiB |",
        f"| local start-up: first element processed | {measured.local_startup_seconds} s |",
        f"| one-meeting run, wall (all fixed costs) | {measured.startup_run_seconds} s |",
        "",
        "## Assumed (not measurable here)",
        "",
        "| input | value |",
        "|---|---|",
        f"| worker machine | {assumptions.machine_type}: {assumptions.vcpus} vCPU, {assumptions.memory_gb} GB "
        f"(one SDK process per vCPU: {assumptions.vcpus} × {measured.peak_rss_worker_mib:,.0f} MiB "
        f"{'fits' if fits else 'does NOT fit'} in {assumptions.memory_headroom:.0%} of it) |",
        f"| window for a night | {assumptions.window_hours:g} h (02:30 → 06:30 UTC) |",
        f"| worker VM start-up (boot, image pull) | {assumptions.vm_startup_minutes:g} min, plus the local start-up above |",
        f"| Dataflow batch list price | ${assumptions.price_vcpu_hour} per vCPU-hour, ${assumptions.price_gb_hour} "
        f"per GB-hour (us-central1), as of {assumptions.prices_as_of}: ${hourly:.4f} per worker-hour |",
        "",
        "Not in the cost: Dataflow Shuffle (billed per GB shuffled), persistent disk, Cloud Storage, "
        "Secret Manager calls (one per worker process), the Flex Template launcher VM (a few minutes).",
        "",
        "## A night of N meetings",
        "",
        "| meetings | characters | core-hours | workers (max_num_workers) | wall hours | worker-hours | "
        "cost USD | hours on 1 worker |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for plan in plans:
        lines.append(f"| {plan.meetings:,} | {plan.chars:,.0f} | {plan.core_hours:,.2f} | {plan.workers} | "
                     f"{plan.wall_hours:.2f} | {plan.worker_hours:.2f} | {plan.cost_usd:,.2f} | "
                     f"{plan.one_worker_hours:,.2f} |")
    lines += [
        "",
        "How it is computed (`bench/capacity.py:plan_night`): core-seconds = characters ÷ the per-core "
        "steady-state rate; workers = core-seconds ÷ (vCPUs × (window − start-up)), rounded up; wall = "
        "start-up + core-seconds ÷ (workers × vCPUs); cost = workers × wall × (vCPUs × vCPU price + GB × "
        "GB price). The per-core rate is measured with 2 worker processes on 2 cores, i.e. with the "
        "cross-process costs a Dataflow worker has; it assumes that more workers scale like the "
        "second one did (the 2-vs-1 figure above), which a real multi-worker run must confirm.",
        "",
    ]
    return "\n".join(lines)


def write_capacity(document: Dict[str, Any], source: str, out: Path) -> Path:
    out.write_text(render(document, source), encoding="utf-8")
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a bench.run JSON (bench/results/latest.json)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "CAPACITY.md")
    args = parser.parse_args(argv)
    document = json.loads(args.results.read_text(encoding="utf-8"))
    try:
        source = str(args.results.resolve().relative_to(REPO))
    except ValueError:
        source = str(args.results)
    print(write_capacity(document, source, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
