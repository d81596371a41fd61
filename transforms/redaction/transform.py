"""``RedactPii``: GatedArtifact → RedactedSegment (tag 'segments') + ConsentDecision (tag 'dropped').

The engine is loaded once per DoFn instance in ``setup``; one GatedArtifact's segments are
redacted as one ``redact_batch`` call (split into ``batch_size`` chunks). Speakers become
participant pseudonyms; raw labels never reach the output. Metrics count entities per
type and segments redacted/dropped; nothing logged carries content.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Dict, Iterator, List, Optional, Set, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import TaggedOutput

from transforms.meeting_descriptor import meeting_date
from transforms.records import (
    PURPOSE_AI_TRAINING,
    ConsentDecision,
    DropReason,
    GatedArtifact,
    Meeting,
    Participant,
    RedactedSegment,
    Segment,
)
from transforms.redaction.config import load_config
from transforms.redaction.engine import RedactionEngine, RedactionRequest
from transforms.redaction.normalize import normalize_value
from transforms.redaction.pseudonyms import Pseudonymizer
from transforms.redaction.recognizers import KNOWN_RECOGNIZERS
from transforms.redaction.residual import residual_scan

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


class _RedactArtifactFn(beam.DoFn):
    def __init__(self, config_path: Optional[str], pseudonym_key: bytes, pseudonym_scope: str,
                 batch_size: int, run_id: str):
        self._config_path = config_path
        self._key = pseudonym_key
        self._scope = pseudonym_scope
        self._batch_size = max(1, int(batch_size))
        self._run_id = run_id
        self._engine: Optional[RedactionEngine] = None
        self._redacted = Metrics.counter(METRICS_NAMESPACE, "segments_redacted")
        self._dropped = Metrics.counter(METRICS_NAMESPACE, "segments_dropped")
        self._entity_counters = {}

    def setup(self) -> None:
        key = self._key.resolve() if hasattr(self._key, "resolve") else self._key
        self._engine = RedactionEngine.load(self._config_path, key, self._scope)

    def _count_entity(self, entity_type: str, count: int) -> None:
        counter = self._entity_counters.get(entity_type)
        if counter is None:
            counter = Metrics.counter(METRICS_NAMESPACE, f"entities_{entity_type}")
            self._entity_counters[entity_type] = counter
        counter.inc(count)

    def _speaker(self, gated: GatedArtifact, segment: Segment) -> Optional[str]:
        participant = gated.meeting.participant(segment.participant_id)
        label = segment.speaker_label
        if participant is None and label is None and segment.participant_id:
            label = segment.participant_id
        return self._engine.participant_pseudonym(gated.meeting.meeting_id, participant, label)

    def process(self, gated: GatedArtifact) -> Iterator:
        meeting, artifact = gated.meeting, gated.artifact
        segments: List[Segment] = list(artifact.segments)
        roster = artifact_roster(meeting, tuple(segments))
        for offset in range(0, len(segments), self._batch_size):
            chunk = segments[offset: offset + self._batch_size]
            requests = [RedactionRequest(s.text, meeting.meeting_id, roster) for s in chunk]
            for index, (segment, result) in enumerate(zip(chunk, self._engine.redact_batch(requests)), start=offset):
                event_ids = (tuple(gated.segment_event_ids[index])
                             if index < len(gated.segment_event_ids) else tuple(gated.consent_event_ids))
                for entity_type, count in result.entity_counts:
                    self._count_entity(entity_type, count)
                if result.drop_segment:
                    self._dropped.inc()
                    yield TaggedOutput(DROPPED_TAG, ConsentDecision(
                        meeting_id=meeting.meeting_id, artifact_id=artifact.artifact_id,
                        segment_id=segment.segment_id, kind=artifact.kind.value, allowed=False,
                        reason=DropReason.REDACTION_DROP.value, event_ids=event_ids))
                    continue
                self._redacted.inc()
                yield TaggedOutput(SEGMENTS_TAG, RedactedSegment(
                    run_id=self._run_id,
                    meeting_id=meeting.meeting_id,
                    artifact_id=artifact.artifact_id,
                    segment_id=segment.segment_id,
                    kind=artifact.kind.value,
                    source_format=artifact.source_format,
                    speaker=self._speaker(gated, segment),
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
        self._fn = _RedactArtifactFn(config_path, pseudonym_key, pseudonym_scope, batch_size, run_id)

    def expand(self, gated_artifacts):
        return gated_artifacts | "Redact" >> beam.ParDo(self._fn).with_outputs(SEGMENTS_TAG, DROPPED_TAG)
