"""``RedactPii``: GatedArtifact → RedactedSegment (tag 'segments') + ConsentDecision (tag 'dropped').

Each GatedArtifact is first cut into chunks of at most ``batch_size`` segments, each carrying
what redacting it needs (the meeting, the artifact without its segments, the roster built from
the *whole* artifact, the segments' consent event ids); a ``Reshuffle`` then spreads the
chunks over the workers, so one large transcript no longer pins one worker while the others
idle. Every chunk is one ``redact_batch`` call, as before, so the output is the same.

The engine is loaded once per worker process (``apache_beam.utils.shared.Shared``: every
DoFn instance and bundle processor of the process reuses it). Speakers become participant
pseudonyms; raw labels never reach the output. Metrics count entities per type and segments
redacted/dropped; nothing logged carries content.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Dict, Iterator, Optional, Set, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput
from apache_beam.utils.shared import Shared

from transforms.meeting_descriptor import meeting_date
from transforms.records import (
    PURPOSE_AI_TRAINING,
    Artifact,
    ConsentDecision,
    DropReason,
    GatedArtifact,
    Meeting,
    Participant,
    RedactedSegment,
    Segment,
)
from transforms.redaction.config import load_config
from transforms.redaction.normalize import normalize_value
from transforms.redaction.pseudonyms import Pseudonymizer
from transforms.redaction.recognizer_names import KNOWN_RECOGNIZERS
from transforms.redaction.residual import residual_scan

if TYPE_CHECKING:  # the engine (Presidio, spaCy) is imported on workers only, in setup()
    from transforms.redaction.engine import RedactionEngine

SEGMENTS_TAG = "segments"
DROPPED_TAG = "dropped"
METRICS_NAMESPACE = "redaction"
_GENERIC_LABEL = re.compile(r"(?i)^(?:speaker|participant|unknown|guest|user|host|attendee|caller)[\s_#-]*\d*$")


def artifact_roster(meeting: Meeting, segments: Tuple[Segment, ...]) -> Tuple[Participant, ...]:
    """The meeting roster plus every raw speaker label of the artifact.

    A label that differs from its participant's roster name (``AJ`` for Alice Johnson)
    becomes one more alias of that participant, so its mentions get the participant's
    token; a label with no participant becomes a roster entry of its own, whose token is
    the one ``participant_pseudonym(None, label)`` gives the speaker field.
    """
    extra: Dict[str, Set[str]] = {}
    unknown: Set[str] = set()
    for segment in segments:
        label = " ".join((segment.speaker_label or "").split())
        if not label or _GENERIC_LABEL.match(label) or not normalize_value(label):
            continue
        participant = meeting.participant(segment.participant_id)
        if participant is None:
            unknown.add(label)
        elif normalize_value(label) not in (normalize_value(participant.name), normalize_value(participant.email)):
            extra.setdefault(participant.participant_id, set()).add(label)
    roster = tuple(
        replace(p, handles=tuple(p.handles) + tuple(sorted(extra[p.participant_id])))
        if p.participant_id in extra else p
        for p in meeting.participants)
    return roster + tuple(Participant(participant_id=f"label:{label}", name=label) for label in sorted(unknown))


@dataclass(frozen=True)
class RedactionChunk:
    """Up to ``batch_size`` consecutive segments of one GatedArtifact, ready to redact alone.

    ``artifact`` has no segments (they are in ``segments``); ``roster`` is the artifact roster
    of the whole artifact; ``event_ids`` holds each segment's consent event ids.
    """

    meeting: Meeting
    artifact: Artifact
    roster: Tuple[Participant, ...]
    segments: Tuple[Segment, ...]
    event_ids: Tuple[Tuple[str, ...], ...]


def chunk_gated_artifact(gated: GatedArtifact, batch_size: int) -> Iterator[RedactionChunk]:
    """Cut one GatedArtifact into RedactionChunks of at most ``batch_size`` segments."""
    segments = tuple(gated.artifact.segments)
    roster = artifact_roster(gated.meeting, segments)
    shell = replace(gated.artifact, segments=())
    for offset in range(0, len(segments), batch_size):
        chunk = segments[offset: offset + batch_size]
        event_ids = tuple(
            tuple(gated.segment_event_ids[index]) if index < len(gated.segment_event_ids)
            else tuple(gated.consent_event_ids)
            for index in range(offset, offset + len(chunk)))
        yield RedactionChunk(gated.meeting, shell, roster, chunk, event_ids)


class _LoadedEngine:
    """Holder for the per-process engine (``Shared`` needs a weak-referenceable object)."""

    def __init__(self, engine: "RedactionEngine"):
        self.engine = engine


class _RedactChunkFn(beam.DoFn):
    def __init__(self, config_path: Optional[str], pseudonym_key: bytes, pseudonym_scope: str,
                 run_id: str, shared_engine: Shared):
        self._config_path = config_path
        self._key = pseudonym_key
        self._scope = pseudonym_scope
        self._run_id = run_id
        self._shared_engine = shared_engine
        self._holder: Optional[_LoadedEngine] = None
        self._engine: Optional["RedactionEngine"] = None
        self._redacted = Metrics.counter(METRICS_NAMESPACE, "segments_redacted")
        self._dropped = Metrics.counter(METRICS_NAMESPACE, "segments_dropped")
        self._entity_counters = {}

    def _load(self) -> _LoadedEngine:
        key = self._key.resolve() if hasattr(self._key, "resolve") else self._key
        from transforms.redaction.engine import RedactionEngine

        return _LoadedEngine(RedactionEngine.load(self._config_path, key, self._scope))

    def setup(self) -> None:
        # one engine (spaCy model, Presidio registry) per worker process, whatever the number
        # of DoFn instances and bundle processors
        self._holder = self._shared_engine.acquire(self._load)
        self._engine = self._holder.engine

    def _count_entity(self, entity_type: str, count: int) -> None:
        counter = self._entity_counters.get(entity_type)
        if counter is None:
            counter = Metrics.counter(METRICS_NAMESPACE, f"entities_{entity_type}")
            self._entity_counters[entity_type] = counter
        counter.inc(count)

    def _speaker(self, meeting: Meeting, segment: Segment) -> Optional[str]:
        participant = meeting.participant(segment.participant_id)
        label = segment.speaker_label
        if participant is None and label is None and segment.participant_id:
            label = segment.participant_id
        return self._engine.participant_pseudonym(meeting.meeting_id, participant, label)

    def process(self, chunk: RedactionChunk) -> Iterator:
        meeting, artifact, roster = chunk.meeting, chunk.artifact, chunk.roster
        from transforms.redaction.engine import RedactionRequest

        requests = [RedactionRequest(s.text, meeting.meeting_id, roster) for s in chunk.segments]
        results = self._engine.redact_batch(requests)
        for segment, event_ids, result in zip(chunk.segments, chunk.event_ids, results):
            for entity_type, count in result.entity_counts:
                self._count_entity(entity_type, count)
            if result.drop_segment:
                self._dropped.inc()
                yield TaggedOutput(DROPPED_TAG, ConsentDecision(
                    meeting_id=meeting.meeting_id, artifact_id=artifact.artifact_id,
                    segment_id=segment.segment_id, kind=artifact.kind.value, allowed=False,
                    reason=DropReason.REDACTION_DROP.value, event_ids=event_ids,
                    account_id=meeting.account_id, category=meeting.category.value,
                    participant_id=segment.participant_id))
                continue
            self._redacted.inc()
            yield TaggedOutput(SEGMENTS_TAG, RedactedSegment(
                run_id=self._run_id,
                meeting_id=meeting.meeting_id,
                artifact_id=artifact.artifact_id,
                segment_id=segment.segment_id,
                kind=artifact.kind.value,
                source_format=artifact.source_format,
                speaker=self._speaker(meeting, segment),
                start_ms=segment.start_ms,
                end_ms=segment.end_ms,
                text=result.text,
                entity_counts=result.entity_counts,
                consent_event_ids=event_ids,
                purpose=PURPOSE_AI_TRAINING,
                derived_from=tuple(artifact.derived_from),
                source_fingerprint=artifact.fingerprint,
                residual_findings=residual_scan(result.text),
                meeting_date=meeting_date(meeting),
            ))


class RedactPii(beam.PTransform):
    """Redact every segment of every GatedArtifact. Outputs tags 'segments' and 'dropped'."""

    def __init__(self, config_path: Optional[str], pseudonym_key, pseudonym_scope: str = "dataset",
                 batch_size: int = 256, run_id: str = ""):
        """``pseudonym_key``: a key source with ``resolve() -> bytes`` (pipeline.config.PseudonymKeySource),
        so that workers read the key themselves and it never enters the job graph; raw bytes are
        accepted for tests and tools that build small in-process pipelines."""
        super().__init__()
        # fail at pipeline construction (bad config, missing key), not on the first worker
        config = load_config(config_path, KNOWN_RECOGNIZERS)
        key = pseudonym_key.resolve() if hasattr(pseudonym_key, "resolve") else bytes(pseudonym_key)
        Pseudonymizer(key, pseudonym_scope, config.pseudonym_hex_chars)
        self._batch_size = max(1, int(batch_size))
        self._fn = _RedactChunkFn(config_path, pseudonym_key, pseudonym_scope, run_id, Shared())

    def expand(self, gated_artifacts):
        return (
            gated_artifacts
            | "Chunk" >> beam.FlatMap(chunk_gated_artifact, self._batch_size)
            # break fusion: chunks (not whole artifacts, not whole meetings) are spread over workers
            | "SpreadChunks" >> beam.Reshuffle()
            | "Redact" >> beam.ParDo(self._fn).with_outputs(SEGMENTS_TAG, DROPPED_TAG)
        )
