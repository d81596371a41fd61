"""The consent policy: pure functions of one meeting, its artifacts and its relevant events.

Effective state (``effective_state``)
    Events with ``effective_at`` after ``as_of`` are ignored. For every
    ``(subject, purpose, artifact kind)`` the latest event wins, where an event for
    ``"*"`` applies to every kind: a specific-kind event and a ``"*"`` event compete
    on equal terms and the later one wins. Ties at the same ``effective_at`` are
    broken by ``ConsentEvent.precedence``: the most restrictive status wins
    (revoked > withdrawn > refused > granted), then a non-explicit grant over an
    explicit one, then the earlier expiry, then the greater ``event_id``.

Scopes (rule 1)
    An artifact needs a valid grant (status granted, not expired at ``as_of``) for the
    policy purpose and its kind at account **or** meeting scope, and neither scope may
    currently be refused, withdrawn or revoked: a refusal at one scope is never
    overridden by a grant at the other. Drop reasons: revoked > withdrawn > refused
    (the most restrictive negative state), else ``expired`` when a grant lapsed, else
    ``no_grant``.

Special categories (rule 3)
    In meetings whose category is in ``policy.special_categories`` the meeting-scope
    state must be a valid grant with ``special_category: true``, and every roster
    participant must hold a valid explicit participant grant for the artifact's kind
    (the speaker of a segment, and the owner of an upload/whiteboard, likewise).
    Derived artifacts need the explicit meeting grant only: their sources already
    carry the participants' explicit grants (rule 4).

Segments (rules 2 and 5)
    Transcripts, chats and polls are judged per segment by the segment's author;
    direct messages are always dropped; segments of unknown authors are dropped
    (``policy.drop_unknown_speakers``). Uploads and whiteboards are judged whole by
    their owner's participant grant when an owner is declared
    (``policy.owner_grant_required``). An artifact left with no segments is dropped
    as ``no_segments_left``.

Derivatives (rule 4)
    Every source must be a parsed artifact of the same meeting (else
    ``derived_source_missing``, also for an empty ``derived_from`` and for cycles),
    allowed (else ``derived_source_dropped``) and, with
    ``policy.derived_requires_complete_sources``, complete: a source that lost any
    segment makes the derivative ``derived_source_partial``. When several sources
    fail, missing > dropped > partial decides the reason. A derivative carries the
    event ids of its own grants and of everything its sources were allowed by.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

from pipeline.config import ConsentPolicy
from transforms.consent.events import WILDCARD_KIND, ConsentEvent, ConsentStatus, SubjectType
from transforms.records import (
    Artifact,
    ArtifactKind,
    ConsentDecision,
    DropReason,
    GatedArtifact,
    Meeting,
    Segment,
)

GRANTED = "granted"
PER_AUTHOR_KINDS = frozenset({ArtifactKind.TRANSCRIPT, ArtifactKind.CHAT, ArtifactKind.POLL})
WHOLE_KINDS = frozenset({ArtifactKind.WHITEBOARD, ArtifactKind.UPLOAD})

_SCOPE_REASONS = {
    ConsentStatus.REFUSED: DropReason.REFUSED,
    ConsentStatus.WITHDRAWN: DropReason.WITHDRAWN,
    ConsentStatus.REVOKED: DropReason.REVOKED,
}
_PARTICIPANT_REASONS = {
    ConsentStatus.REFUSED: DropReason.PARTICIPANT_REFUSED,
    ConsentStatus.WITHDRAWN: DropReason.PARTICIPANT_WITHDRAWN,
    ConsentStatus.REVOKED: DropReason.PARTICIPANT_REVOKED,
}
_DERIVED_PRIORITY = (
    DropReason.DERIVED_SOURCE_MISSING,
    DropReason.DERIVED_SOURCE_DROPPED,
    DropReason.DERIVED_SOURCE_PARTIAL,
)

StateKey = Tuple[str, str, str, str]        # (subject_type, subject_id, purpose, kind or "*")


class ConsentState:
    """The winning event per (subject, purpose, kind) as of one instant."""

    def __init__(self, winners: Dict[StateKey, ConsentEvent], as_of: datetime):
        self.winners = winners
        self.as_of = as_of

    def resolve(self, subject_type: SubjectType, subject_id: Optional[str], purpose: str, kind: str) -> Optional[ConsentEvent]:
        """The event that decides ``kind`` for the subject: the later of the kind's and the ``*`` winner."""
        if subject_id is None:
            return None
        specific = self.winners.get((subject_type.value, subject_id, purpose, kind))
        wildcard = self.winners.get((subject_type.value, subject_id, purpose, WILDCARD_KIND))
        if specific is None or wildcard is None:
            return specific or wildcard
        return max(specific, wildcard, key=ConsentEvent.precedence)

    def events(self) -> List[ConsentEvent]:
        """The distinct winning events (what downstream joins need to carry)."""
        distinct = {event.event_id: event for event in self.winners.values()}
        return [distinct[event_id] for event_id in sorted(distinct)]


def effective_state(events: Iterable[ConsentEvent], as_of: datetime) -> ConsentState:
    winners: Dict[StateKey, ConsentEvent] = {}
    for event in events:
        if event.effective_at > as_of:
            continue
        precedence = event.precedence()
        for kind in event.artifact_kinds:
            key = (event.subject_type.value, event.subject_id, event.purpose, kind)
            current = winners.get(key)
            if current is None or precedence > current.precedence():
                winners[key] = event
    return ConsentState(winners, as_of)


def winning_events(events: Iterable[ConsentEvent], as_of: datetime) -> List[ConsentEvent]:
    """Only the events that can still decide anything: a lossless pre-reduction for joins."""
    return effective_state(events, as_of).events()


@dataclass(frozen=True)
class _Verdict:
    allowed: bool
    reason: str
    event_ids: Tuple[str, ...] = ()


@dataclass
class _Outcome:
    artifact: Artifact
    allowed: bool
    reason: str
    event_ids: Tuple[str, ...]
    kept: List[Segment]
    kept_event_ids: List[Tuple[str, ...]]
    segment_verdicts: List[_Verdict]
    partial: bool = False


def _ids(*groups: Iterable[str]) -> Tuple[str, ...]:
    return tuple(sorted({event_id for group in groups for event_id in group}))


class _MeetingJudge:
    def __init__(self, meeting: Meeting, artifacts: Sequence[Artifact], dead_lettered: Set[str],
                 state: ConsentState, policy: ConsentPolicy):
        self.meeting = meeting
        self.by_id: Dict[str, Artifact] = {}
        for artifact in sorted(artifacts, key=lambda a: (a.artifact_id, a.fingerprint)):
            self.by_id.setdefault(artifact.artifact_id, artifact)
        self.dead_lettered = dead_lettered
        self.state = state
        self.policy = policy
        self.as_of = state.as_of
        self.special = meeting.category.value in policy.special_categories
        self.outcomes: Dict[str, _Outcome] = {}
        self.owners = {d.artifact_id: d.owner_participant_id for d in meeting.artifacts}

    # -- helpers ---------------------------------------------------------------------------
    def _resolve(self, subject_type: SubjectType, subject_id: Optional[str], kind: str) -> Optional[ConsentEvent]:
        return self.state.resolve(subject_type, subject_id, self.policy.purpose, kind)

    def _scope_verdict(self, kind: str) -> _Verdict:
        states = [
            self._resolve(SubjectType.ACCOUNT, self.meeting.account_id, kind),
            self._resolve(SubjectType.MEETING, self.meeting.meeting_id, kind),
        ]
        states = [event for event in states if event is not None]
        negatives = [event for event in states if event.status is not ConsentStatus.GRANTED]
        if negatives:
            worst = max(negatives, key=lambda e: e.status.restrictiveness)
            return _Verdict(False, _SCOPE_REASONS[worst.status].value, _ids(e.event_id for e in negatives))
        grants = [event for event in states if event.is_valid_grant(self.as_of)]
        if grants:
            return _Verdict(True, GRANTED, _ids(e.event_id for e in grants))
        if states:                                  # only lapsed grants
            return _Verdict(False, DropReason.EXPIRED.value, _ids(e.event_id for e in states))
        return _Verdict(False, DropReason.NO_GRANT.value)

    def _participant_verdict(self, participant_id: str, kind: str) -> _Verdict:
        event = self._resolve(SubjectType.PARTICIPANT, participant_id, kind)
        if event is None:
            return _Verdict(False, DropReason.PARTICIPANT_NO_GRANT.value)
        if event.status is not ConsentStatus.GRANTED:
            return _Verdict(False, _PARTICIPANT_REASONS[event.status].value, (event.event_id,))
        if event.is_expired(self.as_of):
            return _Verdict(False, DropReason.PARTICIPANT_EXPIRED.value, (event.event_id,))
        if self.special and not event.special_category:
            return _Verdict(False, DropReason.SPECIAL_CATEGORY_NOT_EXPLICIT.value, (event.event_id,))
        return _Verdict(True, GRANTED, (event.event_id,))

    def _special_verdict(self, kind: str) -> _Verdict:
        """Rule 3: explicit meeting grant, and explicit grants of every roster participant."""
        meeting_event = self._resolve(SubjectType.MEETING, self.meeting.meeting_id, kind)
        if meeting_event is None or not meeting_event.is_valid_grant(self.as_of) or not meeting_event.special_category:
            ids = (meeting_event.event_id,) if meeting_event is not None else ()
            return _Verdict(False, DropReason.SPECIAL_CATEGORY_NOT_EXPLICIT.value, ids)
        ids = [meeting_event.event_id]
        if kind != ArtifactKind.DERIVED.value:
            for participant in sorted(self.meeting.participants, key=lambda p: p.participant_id):
                verdict = self._participant_verdict(participant.participant_id, kind)
                if not verdict.allowed:
                    return _Verdict(False, DropReason.SPECIAL_CATEGORY_NOT_EXPLICIT.value, verdict.event_ids)
                ids.extend(verdict.event_ids)
        return _Verdict(True, GRANTED, _ids(ids))

    def _dropped(self, artifact: Artifact, verdict: _Verdict) -> _Outcome:
        segment_verdicts = [_Verdict(False, verdict.reason, verdict.event_ids) for _ in artifact.segments]
        return _Outcome(artifact, False, verdict.reason, verdict.event_ids, [], [], segment_verdicts)

    # -- rules -------------------------------------------------------------------------------
    def judge(self, artifact_id: str, visiting: Tuple[str, ...] = ()) -> _Outcome:
        if artifact_id in self.outcomes:
            return self.outcomes[artifact_id]
        outcome = self._judge(self.by_id[artifact_id], visiting + (artifact_id,))
        self.outcomes[artifact_id] = outcome
        return outcome

    def _judge(self, artifact: Artifact, visiting: Tuple[str, ...]) -> _Outcome:
        kind = artifact.kind.value
        scope = self._scope_verdict(kind)
        if not scope.allowed:
            return self._dropped(artifact, scope)
        artifact_ids = list(scope.event_ids)
        if self.special:
            special = self._special_verdict(kind)
            if not special.allowed:
                return self._dropped(artifact, special)
            artifact_ids.extend(special.event_ids)
        if artifact.kind is ArtifactKind.DERIVED:
            derived = self._derived_verdict(artifact, visiting)
            if not derived.allowed:
                return self._dropped(artifact, derived)
            artifact_ids.extend(derived.event_ids)
        elif artifact.kind in WHOLE_KINDS:
            owner = artifact.owner_participant_id or self.owners.get(artifact.artifact_id)
            if owner and self.policy.owner_grant_required:
                verdict = self._participant_verdict(owner, kind)
                if not verdict.allowed:
                    return self._dropped(artifact, _Verdict(False, DropReason.OWNER_NO_GRANT.value, verdict.event_ids))
                artifact_ids.extend(verdict.event_ids)
        return self._segments(artifact, _ids(artifact_ids))

    def _derived_verdict(self, artifact: Artifact, visiting: Tuple[str, ...]) -> _Verdict:
        if not artifact.derived_from:
            return _Verdict(False, DropReason.DERIVED_SOURCE_MISSING.value)
        failures: Set[DropReason] = set()
        failure_ids: List[str] = []
        ids: List[str] = []
        for source_id in artifact.derived_from:
            if source_id in visiting or source_id not in self.by_id or source_id in self.dead_lettered:
                failures.add(DropReason.DERIVED_SOURCE_MISSING)
                continue
            source = self.judge(source_id, visiting)
            if not source.allowed:
                failures.add(DropReason.DERIVED_SOURCE_DROPPED)
                failure_ids.extend(source.event_ids)
            elif source.partial and self.policy.derived_requires_complete_sources:
                failures.add(DropReason.DERIVED_SOURCE_PARTIAL)
            else:
                ids.extend(source.event_ids)
                for segment_ids in source.kept_event_ids:
                    ids.extend(segment_ids)
        for reason in _DERIVED_PRIORITY:
            if reason in failures:
                return _Verdict(False, reason.value, _ids(failure_ids))
        return _Verdict(True, GRANTED, _ids(ids))

    def _segment_verdict(self, artifact: Artifact, segment: Segment, artifact_ids: Tuple[str, ...]) -> _Verdict:
        if segment.direct_message:
            return _Verdict(False, DropReason.DIRECT_MESSAGE.value)
        if artifact.kind not in PER_AUTHOR_KINDS:
            return _Verdict(True, GRANTED, artifact_ids)
        if segment.participant_id is None:
            if self.policy.drop_unknown_speakers:
                return _Verdict(False, DropReason.UNKNOWN_SPEAKER.value)
            return _Verdict(True, GRANTED, artifact_ids)
        if not self.policy.require_participant_grant and not self.special:
            return _Verdict(True, GRANTED, artifact_ids)
        verdict = self._participant_verdict(segment.participant_id, artifact.kind.value)
        if not verdict.allowed:
            return verdict
        return _Verdict(True, GRANTED, _ids(artifact_ids, verdict.event_ids))

    def _segments(self, artifact: Artifact, artifact_ids: Tuple[str, ...]) -> _Outcome:
        verdicts = [self._segment_verdict(artifact, segment, artifact_ids) for segment in artifact.segments]
        kept = [segment for segment, verdict in zip(artifact.segments, verdicts) if verdict.allowed]
        kept_ids = [verdict.event_ids for verdict in verdicts if verdict.allowed]
        partial = len(kept) < len(artifact.segments)
        if not kept:
            return _Outcome(artifact, False, DropReason.NO_SEGMENTS_LEFT.value, artifact_ids, [], [], verdicts, partial)
        return _Outcome(artifact, True, GRANTED, artifact_ids, kept, kept_ids, verdicts, partial)


def decide_meeting(
    meeting: Meeting,
    artifacts: Sequence[Artifact],
    dead_lettered_artifact_ids: Set[str],
    events: Iterable[ConsentEvent],
    as_of: datetime,
    policy: ConsentPolicy,
) -> Tuple[List[GatedArtifact], List[ConsentDecision]]:
    """Apply rules 1-6 to one meeting.

    Returns the allowed artifacts (only allowed segments kept) and the audit: one
    decision per artifact (``segment_id`` None) followed by one per segment.
    """
    state = effective_state((e for e in events if e.purpose == policy.purpose), as_of)
    judge = _MeetingJudge(meeting, artifacts, set(dead_lettered_artifact_ids), state, policy)
    gated: List[GatedArtifact] = []
    decisions: List[ConsentDecision] = []
    subjects = {"account_id": meeting.account_id, "category": meeting.category.value}
    roster = tuple(sorted({p.participant_id for p in meeting.participants}))
    for artifact_id in sorted(judge.by_id):
        outcome = judge.judge(artifact_id)
        artifact = outcome.artifact
        kind = artifact.kind.value
        owner = artifact.owner_participant_id or judge.owners.get(artifact_id)
        decisions.append(ConsentDecision(meeting.meeting_id, artifact_id, None, kind, outcome.allowed,
                                         outcome.reason, outcome.event_ids, participant_id=owner,
                                         roster_participant_ids=roster, **subjects))
        for segment, verdict in zip(artifact.segments, outcome.segment_verdicts):
            allowed = verdict.allowed and outcome.allowed
            reason, ids = verdict.reason, verdict.event_ids
            if verdict.allowed and not outcome.allowed:      # cannot happen today; fail closed anyway
                reason, ids = outcome.reason, outcome.event_ids
            decisions.append(ConsentDecision(meeting.meeting_id, artifact_id, segment.segment_id, kind,
                                             allowed, reason, ids, participant_id=segment.participant_id,
                                             **subjects))
        if outcome.allowed:
            gated.append(GatedArtifact(
                meeting=meeting,
                artifact=dataclasses.replace(artifact, segments=tuple(outcome.kept)),
                consent_event_ids=outcome.event_ids,
                segment_event_ids=tuple(outcome.kept_event_ids),
            ))
    return gated, decisions
