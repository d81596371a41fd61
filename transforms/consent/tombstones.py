"""Tombstones: what earlier runs published and this run no longer allows.

For every meeting this run evaluated, each previously published key
``(meeting_id, artifact_id, segment_id)`` that this run does not allow becomes a
tombstone:

* an artifact none of whose segments is allowed any more gets **one** artifact-level
  tombstone (``segment_id`` None) that covers all its published segments;
* otherwise each published segment that is no longer allowed gets its own tombstone.

The reason and event ids come from this run's decision for the segment (or, failing
that, for the artifact). Keys with no decision in this run get ``not_in_current_run``
(the artifact or segment was not evaluated: deleted, renamed or dead-lettered at
ingest); fail closed, so it is retracted. Meetings the run did not evaluate are
never touched, and neither are meetings whose decisions say ``ledger_error``: a run
that could not read its ledger cannot tell what was revoked (it publishes nothing
and must not retract anything either).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

import apache_beam as beam

from transforms.records import ConsentDecision

NOT_IN_CURRENT_RUN = "not_in_current_run"
LEDGER_ERROR_REASON = "ledger_error"          # same value as gate.LEDGER_ERROR_REASON

PublishedKey = Tuple[str, str, Optional[str]]      # (meeting_id, artifact_id, segment_id)


@dataclass(frozen=True)
class Tombstone:
    meeting_id: str
    artifact_id: str
    segment_id: Optional[str]        # None: the whole artifact is retracted
    reason: str                      # DropReason value, "ledger_error" or "not_in_current_run"
    event_ids: Tuple[str, ...]
    run_id: str


def _meeting_tombstones(meeting_id: str, published: Iterable[PublishedKey], allowed: Set[PublishedKey],
                        decisions: Dict[Tuple[str, Optional[str]], ConsentDecision], run_id: str) -> Iterator[Tombstone]:
    if any(decision.reason == LEDGER_ERROR_REASON for decision in decisions.values()):
        return
    by_artifact: Dict[str, Set[Optional[str]]] = defaultdict(set)
    for _, artifact_id, segment_id in published:
        by_artifact[artifact_id].add(segment_id)
    allowed_artifacts = {artifact_id for _, artifact_id, _ in allowed}

    def reason_for(artifact_id: str, segment_id: Optional[str]) -> Tuple[str, Tuple[str, ...]]:
        decision = decisions.get((artifact_id, segment_id)) or decisions.get((artifact_id, None))
        if decision is None or decision.allowed:
            return NOT_IN_CURRENT_RUN, ()
        return decision.reason, tuple(decision.event_ids)

    for artifact_id in sorted(by_artifact):
        if artifact_id not in allowed_artifacts:
            reason, ids = reason_for(artifact_id, None)
            yield Tombstone(meeting_id, artifact_id, None, reason, ids, run_id)
            continue
        for segment_id in sorted(s for s in by_artifact[artifact_id] if s is not None):
            if (meeting_id, artifact_id, segment_id) not in allowed:
                reason, ids = reason_for(artifact_id, segment_id)
                yield Tombstone(meeting_id, artifact_id, segment_id, reason, ids, run_id)


def compute_tombstones(
    published_keys: Iterable[PublishedKey],
    allowed_keys: Iterable[PublishedKey],
    evaluated_meeting_ids: Iterable[str],
    decisions: Iterable[ConsentDecision],
    run_id: str,
) -> List[Tombstone]:
    """Pure version: previously published keys vs. this run's allowed keys and decisions."""
    evaluated = set(evaluated_meeting_ids)
    published: Dict[str, List[PublishedKey]] = defaultdict(list)
    for key in published_keys:
        if key[0] in evaluated:
            published[key[0]].append(tuple(key))
    allowed: Dict[str, Set[PublishedKey]] = defaultdict(set)
    for key in allowed_keys:
        if key[2] is not None:
            allowed[key[0]].add(tuple(key))
    decided: Dict[str, Dict[Tuple[str, Optional[str]], ConsentDecision]] = defaultdict(dict)
    for decision in decisions:
        decided[decision.meeting_id][(decision.artifact_id, decision.segment_id)] = decision
    tombstones: List[Tombstone] = []
    for meeting_id in sorted(published):
        tombstones.extend(_meeting_tombstones(meeting_id, published[meeting_id], allowed[meeting_id],
                                              decided[meeting_id], run_id))
    return tombstones


class _MeetingTombstones(beam.DoFn):
    def __init__(self, run_id: str):
        self._run_id = run_id

    def process(self, keyed):
        meeting_id, groups = keyed
        if not list(groups["evaluated"]):
            return
        decisions = {(d.artifact_id, d.segment_id): d for d in groups["decisions"]}
        allowed = {(d.meeting_id, d.artifact_id, d.segment_id) for d in decisions.values()
                   if d.allowed and d.segment_id is not None}
        yield from _meeting_tombstones(meeting_id, groups["published"], allowed, decisions, self._run_id)


class ComputeTombstones(beam.PTransform):
    """``{'published': PCollection[PublishedKey], 'decisions': PCollection[ConsentDecision],
    'evaluated_meetings': PCollection[str]}`` -> ``PCollection[Tombstone]``.

    Allowed keys are the allowed segment decisions of this run (GateOnConsent's audit),
    so the published keys of a meeting are joined with its decisions by meeting id.
    """

    def __init__(self, run_id: str):
        super().__init__()
        self._run_id = run_id

    def expand(self, inputs):
        return (
            {
                "published": inputs["published"] | "KeyPublished" >> beam.Map(lambda k: (k[0], tuple(k))),
                "decisions": inputs["decisions"] | "KeyDecisions" >> beam.Map(lambda d: (d.meeting_id, d)),
                "evaluated": inputs["evaluated_meetings"] | "KeyEvaluated" >> beam.Map(lambda m: (m, True)),
            }
            | "JoinByMeeting" >> beam.CoGroupByKey()
            | "Tombstones" >> beam.ParDo(_MeetingTombstones(self._run_id))
        )
