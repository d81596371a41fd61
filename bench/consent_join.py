"""Consent join at ledger scale: 1,000,000 ledger events against 100,000 artifacts.

    python bench/consent_join.py [--events N] [--artifacts N] [--meetings N] [--workers N]
                                 [--workdir DIR] [--out FILE]

Generates a synthetic JSON Lines ledger in a temporary directory (streamed to disk,
never held in memory), then runs ``GateOnConsent`` on the DirectRunner (FnApiRunner): the
ledger is read with ``ReadConsentLedger`` from that file and joined by key; meetings and
artifacts are generated inside the pipeline from their index (so the driver holds no
artifacts either).

Workers: with ``--workers N`` (default 2) the runner is ``multi_processing``: the SDK
workers are separate processes, so a worker's peak RSS is its own (``VmHWM`` sampled from
``/proc``, as ``bench/pipeline_e2e.py`` does), and the driver's peak (this process: the
runner's in-memory shuffle buffers, which a production runner keeps outside the workers)
is reported separately. ``--workers 0`` runs the worker inside this process (``in_memory``):
one peak for driver and worker together.

Prints one JSON object: sizes, generation and pipeline wall time, decision counts, peak RSS
per worker process and of the driver.

The ledger mixes subjects the meetings need (accounts, meetings, roster participants)
with participants of no meeting (most of a real ledger), two purposes, all statuses,
expiries and explicit grants, spread over two years.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, List

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import apache_beam as beam  # noqa: E402
from apache_beam.options.pipeline_options import PipelineOptions  # noqa: E402

from pipeline.config import ConsentPolicy  # noqa: E402
from transforms.consent.gate import GateOnConsent  # noqa: E402
from transforms.records import (  # noqa: E402
    Artifact,
    ArtifactDeclaration,
    ArtifactKind,
    Meeting,
    MeetingCategory,
    Participant,
    Segment,
)

START = datetime(2024, 1, 1, tzinfo=timezone.utc)
AS_OF = datetime(2026, 1, 1, tzinfo=timezone.utc)
PARTICIPANTS_PER_MEETING = 4
SEGMENTS_PER_ARTIFACT = 4
KINDS = ["transcript", "chat", "poll", "upload", "derived", "whiteboard"]


class Shape:
    """Deterministic sizes shared by the ledger generator and the in-pipeline artifact generator."""

    def __init__(self, events: int, artifacts: int, meetings: int):
        self.events = events
        self.artifacts = artifacts
        self.meetings = max(1, meetings)
        self.accounts = max(1, self.meetings // 25)
        self.participants = max(PARTICIPANTS_PER_MEETING, self.meetings * 2)

    def artifacts_of(self, meeting_index: int) -> int:
        base, extra = divmod(self.artifacts, self.meetings)
        return base + (1 if meeting_index < extra else 0)

    def roster(self, meeting_index: int) -> List[str]:
        rnd = random.Random(meeting_index * 7919 + 1)
        return [f"p{rnd.randrange(self.participants)}" for _ in range(PARTICIPANTS_PER_MEETING)]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def ledger_rows(shape: Shape, seed: int = 7) -> Iterator[Dict]:
    rnd = random.Random(seed)
    span = int((AS_OF - START).total_seconds()) + 86400 * 60      # some events after as_of
    for index in range(shape.events):
        roll = rnd.random()
        if roll < 0.02:
            subject_type, subject_id = "account", f"acc{rnd.randrange(shape.accounts)}"
        elif roll < 0.10:
            subject_type, subject_id = "meeting", f"m{rnd.randrange(shape.meetings)}"
        elif roll < 0.40:
            subject_type, subject_id = "participant", f"p{rnd.randrange(shape.participants)}"
        else:                                                  # people in no meeting of this run
            subject_type, subject_id = "participant", f"x{rnd.randrange(shape.events)}"
        effective = START + timedelta(seconds=rnd.randrange(span))
        status = rnd.choices(["granted", "refused", "withdrawn", "revoked"], weights=[80, 8, 8, 4])[0]
        row = {
            "event_id": f"ev{index:09d}",
            "subject_type": subject_type,
            "subject_id": subject_id,
            "purpose": "ai_training" if rnd.random() < 0.8 else "analytics",
            "artifact_kinds": ["*"] if rnd.random() < 0.6 else rnd.sample(KINDS, rnd.randint(1, 3)),
            "status": status,
            "effective_at": _iso(effective),
            "special_category": rnd.random() < 0.3,
        }
        if rnd.random() < 0.1:
            row["expires_at"] = _iso(effective + timedelta(days=rnd.randint(1, 400)))
        yield row


def write_ledger(shape: Shape, path: str) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in ledger_rows(shape):
            handle.write(json.dumps(row))
            handle.write("\n")


def make_meeting(shape: Shape, index: int) -> Meeting:
    meeting_id = f"m{index}"
    roster = shape.roster(index)
    declarations = []
    for number in range(shape.artifacts_of(index)):
        kind = KINDS[number % len(KINDS)]
        owner = roster[number % len(roster)] if kind in ("upload", "whiteboard") else None
        derived_from = (f"{meeting_id}-a0",) if kind == "derived" else ()
        declarations.append(ArtifactDeclaration(f"{meeting_id}-a{number}", kind, f"a{number}.txt",
                                                derived_from, owner))
    categories = list(MeetingCategory)
    return Meeting(
        meeting_id=meeting_id,
        account_id=f"acc{index % shape.accounts}",
        topic="synthetic",
        started_at=_iso(START + timedelta(hours=index)),
        category=categories[index % len(categories)] if index % 5 == 0 else MeetingCategory.GENERAL,
        host_participant_id=roster[0],
        participants=tuple(Participant(participant_id=p) for p in dict.fromkeys(roster)),
        artifacts=tuple(declarations),
    )


def make_artifacts(shape: Shape, meeting: Meeting) -> Iterator[Artifact]:
    roster = [p.participant_id for p in meeting.participants]
    for declaration in meeting.artifacts:
        kind = ArtifactKind(declaration.kind)
        segments = tuple(
            Segment(
                segment_id=f"{declaration.artifact_id}:{n:05d}",
                participant_id=None if (kind in (ArtifactKind.TRANSCRIPT, ArtifactKind.CHAT) and n == 3)
                else roster[n % len(roster)],
                speaker_label=None,
                start_ms=n * 1000,
                end_ms=n * 1000 + 900,
                text=f"synthetic segment {n}",
                direct_message=kind is ArtifactKind.CHAT and n == 2,
            )
            for n in range(SEGMENTS_PER_ARTIFACT)
        )
        yield Artifact(
            artifact_id=declaration.artifact_id,
            meeting_id=meeting.meeting_id,
            kind=kind,
            source_uri=f"synthetic://{declaration.artifact_id}",
            derived_from=declaration.derived_from,
            fingerprint="0" * 64,
            source_format="synthetic",
            segments=segments,
            owner_participant_id=declaration.owner_participant_id,
        )


def _peak_rss_mib() -> Dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0        # Linux: KiB
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"peak_rss_self_mib": round(own, 1), "peak_rss_children_mib": round(children, 1)}


def _pipeline_options(workers: int) -> PipelineOptions:
    if workers <= 0:
        return PipelineOptions(flags=[], runner="DirectRunner", direct_num_workers=1,
                               direct_running_mode="in_memory")
    return PipelineOptions(flags=[], runner="DirectRunner", direct_num_workers=workers,
                           direct_running_mode="multi_processing")


def run(events: int, artifacts: int, meetings: int, workdir: str, workers: int = 2) -> Dict:
    from bench.pipeline_e2e import TreeMemorySampler

    shape = Shape(events, artifacts, meetings)
    ledger_path = os.path.join(workdir, "ledger.jsonl")
    started = time.perf_counter()
    write_ledger(shape, ledger_path)
    generated = time.perf_counter()
    rss_after_generation = _peak_rss_mib()

    pipeline = beam.Pipeline(options=_pipeline_options(workers))
    meeting_pcoll = (
        pipeline
        | "MeetingIndexes" >> beam.Create(list(range(shape.meetings)))
        | "Spread" >> beam.Reshuffle()
        | "Meetings" >> beam.Map(lambda i: make_meeting(shape, i))
    )
    out = {
        "meetings": meeting_pcoll,
        "artifacts": meeting_pcoll | "Artifacts" >> beam.FlatMap(lambda m: make_artifacts(shape, m)),
        "dead_letters": pipeline | "NoDeadLetters" >> beam.Create([]),
    } | GateOnConsent(ledger_path, AS_OF, ConsentPolicy())
    _ = out["gated"] | "CountGated" >> beam.combiners.Count.Globally() | "ReportGated" >> beam.Map(
        lambda n: beam.metrics.Metrics.counter("bench", "gated_artifacts").inc(n))
    with TreeMemorySampler(os.getpid()) as sampler:
        result = pipeline.run()
        result.wait_until_finish()
        finished = time.perf_counter()
        sampler.sample()
    worker_peaks = sampler.worker_peaks_mib()

    counters = {
        f"{c.key.metric.namespace}:{c.key.metric.name}": c.committed
        for c in result.metrics().query()["counters"]
        if c.key.metric.namespace in ("consent", "bench")
    }
    artifact_decisions = {k.split(":", 1)[1]: v for k, v in counters.items()
                          if k.startswith("consent:") and ":" not in k.split(":", 1)[1]
                          and k.split(":", 1)[1] not in ("events_read", "ledger_errors", "events_routed")}
    return {
        "benchmark": "consent_join",
        "runner": "DirectRunner (FnApiRunner)",
        "running_mode": "multi_processing" if workers > 0 else "in_memory",
        "workers": max(workers, 1),
        "ledger_events": shape.events,
        "artifacts": sum(shape.artifacts_of(i) for i in range(shape.meetings)),
        "meetings": shape.meetings,
        "segments": shape.artifacts * SEGMENTS_PER_ARTIFACT,
        "ledger_generation_seconds": round(generated - started, 2),
        "pipeline_seconds": round(finished - generated, 2),
        "ledger_rows_read": counters.get("consent:events_read", 0),
        "ledger_errors": counters.get("consent:ledger_errors", 0),
        "events_routed_to_meetings": counters.get("consent:events_routed", 0),
        "gated_artifacts": counters.get("bench:gated_artifacts", 0),
        "artifact_decisions": dict(sorted(artifact_decisions.items())),
        "peak_rss_after_generation_mib": rss_after_generation["peak_rss_self_mib"],
        # separate worker processes: each one's own peak; in_memory: the one process is the worker
        "peak_rss_worker_processes_mib": worker_peaks,
        "peak_rss_per_worker_mib": max(worker_peaks) if worker_peaks else _peak_rss_mib()["peak_rss_self_mib"],
        "peak_rss_driver_mib": _peak_rss_mib()["peak_rss_self_mib"],
        **_peak_rss_mib(),
        "machine_memory_mib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--meetings", type=int, default=0, help="default: artifacts // 8")
    parser.add_argument("--workers", type=int, default=2,
                        help="SDK worker processes (multi_processing); 0 = one worker inside this process")
    parser.add_argument("--workdir", default="", help="default: a temporary directory, removed afterwards")
    parser.add_argument("--out", default="", help="also write the JSON result here")
    args = parser.parse_args(argv)
    meetings = args.meetings or max(1, args.artifacts // 8)
    if args.workdir:
        os.makedirs(args.workdir, exist_ok=True)
        report = run(args.events, args.artifacts, meetings, args.workdir, args.workers)
    else:
        with tempfile.TemporaryDirectory(prefix="consent-bench-") as workdir:
            report = run(args.events, args.artifacts, meetings, workdir, args.workers)
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
