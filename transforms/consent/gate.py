"""GateOnConsent: join the consent ledger to meetings by key and apply the policy per meeting.

Input: a dict ``{'meetings': PCollection[Meeting], 'artifacts': PCollection[Artifact],
'dead_letters': PCollection[DeadLetter]}`` (optionally ``'ledger_events':
PCollection[ConsentEvent]`` instead of reading ``ledger_uri``, for tests and tools).

Output: a dict ``{'gated': PCollection[GatedArtifact], 'decisions':
PCollection[ConsentDecision], 'ledger_errors': PCollection[LedgerErrorRecord]}``.

The join never holds the ledger in memory on a worker:

1. events are filtered early (policy purpose, ``effective_at <= as_of``) and keyed
   by subject ``(subject_type, subject_id)``;
2. every meeting fans out its subject keys (its account, itself, each roster
   participant and each declared owner) -> meeting id;
3. a CoGroupByKey on the subject key reduces each subject's events to the ones
   that can still decide anything (``winning_events``) and routes them to the
   meetings that need them;
4. a CoGroupByKey on the meeting id brings together the meeting, its artifacts, its
   dead-lettered artifact ids and its routed events, and ``decide_meeting`` runs.

Fail closed: when the ledger produced any error, every artifact is denied with the
reason ``ledger_error`` and nothing is gated (the driver also exits 2). Counters:
``Metrics.counter("consent", reason)`` per artifact decision and
``("consent", "segment:" + reason)`` per segment decision.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

import apache_beam as beam
from apache_beam.metrics import Metrics

from pipeline.config import ConsentPolicy
from transforms.consent.coders import ConsentEventCoder  # noqa: F401  (registers the coder)
from transforms.consent.events import ConsentEvent, SubjectType
from transforms.consent.ledger import ERRORS, EVENTS, ReadConsentLedger
from transforms.consent.policy import decide_meeting, winning_events
from transforms.consent.tombstones import LEDGER_ERROR_REASON   # "ledger_error": a reason outside DropReason
from transforms.records import Artifact, ConsentDecision, DropReason, Meeting

GATED = "gated"
DECISIONS = "decisions"
LEDGER_ERRORS = "ledger_errors"

SubjectKey = Tuple[str, str]


def meeting_subject_keys(meeting: Meeting) -> List[Tuple[SubjectKey, str]]:
    """The ledger subjects whose events can affect ``meeting``: (subject key, meeting id)."""
    keys = {
        (SubjectType.ACCOUNT.value, meeting.account_id),
        (SubjectType.MEETING.value, meeting.meeting_id),
    }
    keys.update((SubjectType.PARTICIPANT.value, p.participant_id) for p in meeting.participants)
    keys.update(
        (SubjectType.PARTICIPANT.value, d.owner_participant_id)
        for d in meeting.artifacts if d.owner_participant_id
    )
    return [(key, meeting.meeting_id) for key in sorted(keys)]


class _RouteEvents(beam.DoFn):
    """Subject key -> (meeting id, event) for each meeting that involves the subject."""

    def __init__(self, as_of: datetime):
        self._as_of = as_of
        self._routed = Metrics.counter("consent", "events_routed")

    def process(self, keyed) -> Iterator[Tuple[str, ConsentEvent]]:
        _, groups = keyed
        meeting_ids = sorted(set(groups["meetings"]))
        if not meeting_ids:
            return
        events = winning_events(groups["events"], self._as_of)
        for meeting_id in meeting_ids:
            for event in events:
                self._routed.inc()
                yield meeting_id, event


def _denied(meeting_id: str, artifacts: Iterable[Artifact], reason: str) -> Iterator[ConsentDecision]:
    for artifact in sorted(artifacts, key=lambda a: a.artifact_id):
        kind = artifact.kind.value
        yield ConsentDecision(meeting_id, artifact.artifact_id, None, kind, False, reason)
        for segment in artifact.segments:
            yield ConsentDecision(meeting_id, artifact.artifact_id, segment.segment_id, kind, False, reason)


class _DecideMeeting(beam.DoFn):
    def __init__(self, as_of: datetime, policy: ConsentPolicy):
        self._as_of = as_of
        self._policy = policy
        self._conflicting = Metrics.counter("consent", "conflicting_meeting")
        self._orphans = Metrics.counter("consent", "artifact_without_meeting")

    def process(self, keyed, ledger_error_count: int):
        meeting_id, groups = keyed
        meetings = list({m: None for m in groups["meeting"]})
        artifacts: List[Artifact] = list(groups["artifacts"])
        if ledger_error_count:
            decisions: Iterable[ConsentDecision] = _denied(meeting_id, artifacts, LEDGER_ERROR_REASON)
            gated = []
        elif len(meetings) != 1:
            (self._orphans if not meetings else self._conflicting).inc()
            decisions, gated = _denied(meeting_id, artifacts, DropReason.NO_GRANT.value), []
        else:
            gated, decisions = decide_meeting(
                meetings[0], artifacts, set(groups["dead"]), groups["events"], self._as_of, self._policy)
        for decision in decisions:
            name = decision.reason if decision.segment_id is None else f"segment:{decision.reason}"
            Metrics.counter("consent", name).inc()
            yield beam.pvalue.TaggedOutput(DECISIONS, decision)
        yield from gated


class GateOnConsent(beam.PTransform):
    def __init__(self, ledger_uri: Optional[str], as_of: datetime, policy: ConsentPolicy = ConsentPolicy()):
        super().__init__()
        if as_of.tzinfo is None or as_of.tzinfo.utcoffset(as_of) is None:
            raise ValueError("as_of must be timezone-aware")
        self._ledger_uri = ledger_uri
        self._as_of = as_of.astimezone(timezone.utc)
        self._policy = policy

    def expand(self, inputs: Dict[str, beam.PCollection]) -> Dict[str, beam.PCollection]:
        meetings = inputs["meetings"]
        pipeline = meetings.pipeline
        if "ledger_events" in inputs:
            events = inputs["ledger_events"]
            ledger_errors = pipeline | "NoLedgerErrors" >> beam.Create([])
        else:
            if not self._ledger_uri:
                raise ValueError("GateOnConsent needs ledger_uri or a 'ledger_events' input")
            ledger = pipeline | "ReadLedger" >> ReadConsentLedger(self._ledger_uri)
            events, ledger_errors = ledger[EVENTS], ledger[ERRORS]

        purpose, as_of = self._policy.purpose, self._as_of
        keyed_events = (
            events
            | "RelevantEvents" >> beam.Filter(
                lambda e: e.purpose == purpose and e.effective_at <= as_of).with_output_types(ConsentEvent)
            | "KeyBySubject" >> beam.Map(lambda e: (e.subject_key, e)).with_output_types(
                Tuple[SubjectKey, ConsentEvent])
        )
        subject_routes = meetings | "MeetingSubjects" >> beam.FlatMap(meeting_subject_keys).with_output_types(
            Tuple[SubjectKey, str])
        routed = (
            {"events": keyed_events, "meetings": subject_routes}
            | "JoinSubjects" >> beam.CoGroupByKey()
            | "RouteToMeetings" >> beam.ParDo(_RouteEvents(as_of)).with_output_types(Tuple[str, ConsentEvent])
        )
        dead = (
            inputs["dead_letters"]
            | "DeadArtifacts" >> beam.Filter(lambda d: d.artifact_id is not None)
            | "KeyDead" >> beam.Map(lambda d: (d.meeting_id, d.artifact_id))
        )
        error_count = ledger_errors | "CountLedgerErrors" >> beam.combiners.Count.Globally()
        decided = (
            {
                "meeting": meetings | "KeyMeeting" >> beam.Map(lambda m: (m.meeting_id, m)),
                "artifacts": inputs["artifacts"] | "KeyArtifact" >> beam.Map(lambda a: (a.meeting_id, a)),
                "dead": dead,
                "events": routed,
            }
            | "JoinMeetings" >> beam.CoGroupByKey()
            | "Decide" >> beam.ParDo(
                _DecideMeeting(as_of, self._policy),
                ledger_error_count=beam.pvalue.AsSingleton(error_count),
            ).with_outputs(DECISIONS, main=GATED)
        )
        return {GATED: decided[GATED], DECISIONS: decided[DECISIONS], LEDGER_ERRORS: ledger_errors}
