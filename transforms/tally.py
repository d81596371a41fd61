"""RunTally: the run's accounting, computed inside the pipeline from the records themselves.

Counts are keyed tuples (section, key...) summed with a combiner and written as one JSON
document, from which the driver builds the manifest and checks conservation:
per kind, ``ingested = parsed + dead_lettered`` and ``parsed = published + dropped``.
"""
from __future__ import annotations

import json
from typing import Dict, Tuple

import apache_beam as beam

from transforms.records import Artifact, ConsentDecision, DeadLetter, RedactedSegment, SkippedFile

UNKNOWN_KIND = "unknown"


def _artifact_keys(artifact: Artifact):
    kind = artifact.kind.value
    yield ("artifacts", kind, "parsed")
    yield ("files", "parsed")
    for _ in artifact.segments:
        yield ("segments", kind, "parsed")


def _dead_letter_keys(dead_letter: DeadLetter):
    yield ("artifacts", dead_letter.kind or UNKNOWN_KIND, "dead_lettered")
    yield ("files", "dead_lettered")
    yield ("dead_letter_reasons", dead_letter.reason.value)


def _skipped_keys(skipped: SkippedFile):
    yield ("files", "skipped")
    yield ("skip_reasons", skipped.reason.value)


def _decision_keys(decision: ConsentDecision):
    if decision.allowed:
        return
    if decision.segment_id is None:
        yield ("artifacts", decision.kind, "dropped")
        yield ("artifact_drop_reasons", decision.reason)
    else:
        yield ("segments", decision.kind, "dropped")
        yield ("segment_drop_reasons", decision.reason)


def _segment_keys(segment: RedactedSegment):
    yield ("segments", segment.kind, "published")
    for entity_type, count in segment.entity_counts:
        yield ("entities", entity_type, int(count))


class _SumCounts(beam.CombineFn):
    def create_accumulator(self):
        return {}

    def add_input(self, acc, key_and_count):
        key, count = key_and_count
        acc[key] = acc.get(key, 0) + count
        return acc

    def merge_accumulators(self, accumulators):
        merged = {}
        for acc in accumulators:
            for key, count in acc.items():
                merged[key] = merged.get(key, 0) + count
        return merged

    def extract_output(self, acc):
        return acc


def _with_count(key: Tuple) -> Tuple[Tuple, int]:
    if key and key[0] == "entities":
        return key[:2], key[2]
    return key, 1


def tally_to_counts(tally: Dict[Tuple, int]) -> dict:
    """Nested counts in the manifest's shape (see docs/ARCHITECTURE.md)."""
    counts: dict = {
        "artifacts": {}, "segments": {}, "files": {"parsed": 0, "dead_lettered": 0, "skipped": 0},
        "artifact_drop_reasons": {}, "segment_drop_reasons": {}, "dead_letter_reasons": {},
        "skip_reasons": {}, "entities": {},
    }
    for key, value in sorted(tally.items()):
        section = key[0]
        if section in ("artifacts", "segments"):
            _, kind, status = key
            counts[section].setdefault(kind, {})[status] = counts[section].get(kind, {}).get(status, 0) + value
        else:
            counts[section][key[1]] = counts[section].get(key[1], 0) + value
    for kind, row in counts["artifacts"].items():
        for status in ("parsed", "published", "dropped", "dead_lettered"):
            row.setdefault(status, 0)
        row["ingested"] = row["parsed"] + row["dead_lettered"]
    for row in counts["segments"].values():
        for status in ("parsed", "published", "dropped"):
            row.setdefault(status, 0)
    return counts


def _published_or_dropped(element):
    """(artifact_id, {'gated': [kind], 'published': [kind]}) → artifact outcome keys."""
    _, grouped = element
    kinds = list(grouped["gated"]) + list(grouped["published"])
    if not kinds:
        return
    kind = kinds[0]
    if grouped["published"]:
        yield ("artifacts", kind, "published")
    elif grouped["gated"]:
        yield ("artifacts", kind, "dropped")
        yield ("artifact_drop_reasons", "redaction_drop")


class RunTally(beam.PTransform):
    """Input dict: artifacts, dead_letters, skipped, decisions, gated, segments → one JSON string."""

    def expand(self, inputs: Dict[str, beam.PCollection]):
        published_ids = (
            inputs["segments"]
            | "PublishedArtifactIds" >> beam.Map(lambda s: ((s.meeting_id, s.artifact_id), s.kind))
            | "DistinctPublished" >> beam.Distinct()
        )
        gated_ids = inputs["gated"] | "GatedArtifactIds" >> beam.Map(
            lambda g: ((g.artifact.meeting_id, g.artifact.artifact_id), g.artifact.kind.value))
        outcome_keys = (
            {"gated": gated_ids, "published": published_ids}
            | "JoinGatedPublished" >> beam.CoGroupByKey()
            | "ArtifactOutcomes" >> beam.FlatMap(_published_or_dropped)
        )
        keys = (
            inputs["artifacts"] | "ArtifactKeys" >> beam.FlatMap(_artifact_keys),
            inputs["dead_letters"] | "DeadLetterKeys" >> beam.FlatMap(_dead_letter_keys),
            inputs["skipped"] | "SkippedKeys" >> beam.FlatMap(_skipped_keys),
            inputs["decisions"] | "DecisionKeys" >> beam.FlatMap(_decision_keys),
            inputs["segments"] | "SegmentKeys" >> beam.FlatMap(_segment_keys),
            outcome_keys,
        )
        return (
            keys
            | "AllTallyKeys" >> beam.Flatten()
            | "WithCounts" >> beam.Map(_with_count)
            | "SumTally" >> beam.CombineGlobally(_SumCounts())
            | "TallyToJson" >> beam.Map(lambda tally: json.dumps(tally_to_counts(tally), sort_keys=True))
        )
