"""`gatekeeper audit`: re-check every published row against the consent ledger as of a time.

A privacy team runs this after a withdrawal wave or a ledger correction, without re-running
the pipeline. It trusts nothing the publishing run concluded: for every live segment row it
takes the facts that run recorded (ids only: the row's meeting, artifact, segment, kind,
sources and purpose, and from the ``audit`` dataset the decision's subjects: account, meeting
category, author or owner, roster) and decides the row again with the gate's own pure policy
(``transforms.consent.policy.decide_meeting``) against the ledger as of ``--as-of``.

Rows published before the audit dataset recorded subjects (no subject columns, or no audit row
for the row's run) are checked on the *recorded basis* instead: every consent event the row
names must still exist, and the account, meeting and participant subjects those events (and
the row's meeting) name must still grant the row's kind as of ``--as-of``. That catches
withdrawals, revocations, refusals and expiries of those subjects; it cannot see an account
whose id the row never recorded. The summary counts such rows.

Findings are listed by ids and reason codes (never content); exit 3 when there is any. With
``--tombstone`` they are committed as rows of the ``tombstone`` dataset (artifact-level when no
published segment of the artifact still holds, as a run's tombstones) for ``gatekeeper purge``:
written as ``datasets/tombstone/run_date=<today>/part-<audit_id>-00000.parquet`` and committed by
``audits/<audit_id>.json`` (with the file's integrity record), local or ``gs://``. Rows already
tombstoned are reported again (they are live until purged) but not tombstoned twice.

Memory: the ledger is read whole (``load_ledger_events``) and indexed by subject; of the
published rows only the id columns are decoded (never text). See docs/PRIVACY_OPERATIONS.md.
"""
from __future__ import annotations

import dataclasses
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, Iterable, List, Optional, Sequence, TextIO, Tuple

import pyarrow as pa

from pipeline import publish
from pipeline.config import ConfigError, ConsentPolicy, RunFailed
from pipeline.integrity import INTEGRITY_KEY, file_digest
from transforms.consent.events import ConsentEvent, ConsentStatus, SubjectType
from transforms.consent.policy import decide_meeting, effective_state
from transforms.consent.tombstones import compute_tombstones
from transforms.records import (
    Artifact,
    ArtifactDeclaration,
    ArtifactKind,
    ConsentDecision,
    DropReason,
    Meeting,
    MeetingCategory,
    Participant,
    Segment,
)
from transforms.schemas import AUDIT_DATASET, SEGMENT_DATASETS, TOMBSTONE_DATASET, TOMBSTONE_SCHEMA

EXIT_OK, EXIT_USAGE, EXIT_FINDINGS = 0, 2, 3
AUDITS = "audits"
CONSENT_EVENT_MISSING = "consent_event_missing"
SEGMENT_COLUMNS = ["run_id", "meeting_id", "artifact_id", "segment_id", "kind", "source_format",
                   "derived_from", "consent_event_ids", "purpose", "source_fingerprint"]
SUBJECT_COLUMNS = ["run_id", "meeting_id", "artifact_id", "segment_id", "allowed", "account_id", "category",
                   "participant_id", "roster_participant_ids"]

Key = Tuple[str, str, Optional[str]]        # (meeting_id, artifact_id, segment_id)


@dataclass(frozen=True)
class Finding:
    """A published row whose consent no longer holds. Ids and codes only."""

    dataset: str
    run_id: str
    meeting_id: str
    artifact_id: str
    segment_id: str
    reason: str
    event_ids: Tuple[str, ...]
    basis: str                      # "subjects" (re-decided) or "recorded_events" (legacy rows)
    already_tombstoned: bool = False

    def line(self) -> str:
        return (f"{self.reason} {self.dataset} meeting={self.meeting_id} artifact={self.artifact_id} "
                f"segment={self.segment_id} events={','.join(self.event_ids) or '-'}"
                + (" (already tombstoned, awaiting purge)" if self.already_tombstoned else ""))


@dataclass
class AuditResult:
    output: str
    as_of: datetime
    audit_id: str
    rows_checked: int = 0
    rows_recorded_basis: int = 0
    findings: List[Finding] = field(default_factory=list)
    tombstones_written: int = 0
    record: str = ""

    def by_reason(self) -> Dict[str, int]:
        counts: Dict[str, int] = defaultdict(int)
        for finding in self.findings:
            counts[finding.reason] += 1
        return dict(sorted(counts.items()))

    def summary(self) -> str:
        reasons = ", ".join(f"{k}={v}" for k, v in self.by_reason().items())
        line = (f"audit {'FAILED' if self.findings else 'passed'}: {self.rows_checked} published rows "
                f"re-checked against the ledger as of {self.as_of.isoformat()}, {len(self.findings)} no longer "
                f"allowed" + (f" ({reasons})" if reasons else ""))
        if self.rows_recorded_basis:
            line += (f"; {self.rows_recorded_basis} rows predate the audit's subject records and were checked "
                     f"on the consent events they name")
        if self.record:
            line += (f"; {self.tombstones_written} tombstones committed ({self.record}); "
                     f"run: gatekeeper purge --output {self.output}")
        return line

    def to_dict(self) -> dict:
        return {"audit_id": self.audit_id, "as_of": self.as_of.isoformat(), "rows_checked": self.rows_checked,
                "rows_recorded_basis": self.rows_recorded_basis, "findings_by_reason": self.by_reason(),
                "findings": [dataclasses.asdict(f) for f in self.findings],
                "tombstones_written": self.tombstones_written, "record": self.record or None}


# ------------------------------------------------------------------------------- reading

def _columns(table: pa.Table, names: Sequence[str]) -> List[dict]:
    present = [n for n in names if n in table.column_names]
    return [{**{n: None for n in names}, **row} for row in table.select(present).to_pylist()]


def _read(output: str, dataset: str, columns: Sequence[str]) -> List[Tuple[str, dict]]:
    rows = []
    for relative in publish.published_dataset_files(output, dataset):
        try:
            table = publish.read_parquet(f"{output}/{relative}", columns=list(columns))
        except pa.ArrowInvalid:            # a file without some of them (written before they existed)
            table = publish.read_parquet(f"{output}/{relative}")
        rows.extend((dataset, row) for row in _columns(table, columns))
    return rows


def _subjects(output: str, run_ids: set) -> Dict[Tuple[str, str, str, Optional[str]], dict]:
    """Allowed audit decisions of the given runs, by (run_id, meeting, artifact, segment)."""
    subjects = {}
    for _, row in _read(output, AUDIT_DATASET, SUBJECT_COLUMNS):
        if row["run_id"] in run_ids and row["allowed"] and row["account_id"] is not None:
            subjects[(row["run_id"], row["meeting_id"], row["artifact_id"], row["segment_id"])] = row
    return subjects


def _tombstoned(output: str) -> set:
    keys = set()
    for _, row in _read(output, TOMBSTONE_DATASET, ["meeting_id", "artifact_id", "segment_id"]):
        keys.add((row["meeting_id"], row["artifact_id"], row["segment_id"]))
    return keys


class _Ledger:
    def __init__(self, events: Iterable[ConsentEvent]):
        self.by_id: Dict[str, ConsentEvent] = {}
        self.by_subject: Dict[Tuple[str, str], List[ConsentEvent]] = defaultdict(list)
        for event in events:
            self.by_id[event.event_id] = event
            self.by_subject[event.subject_key].append(event)

    def of(self, subjects: Iterable[Tuple[SubjectType, Optional[str]]]) -> List[ConsentEvent]:
        seen, events = set(), []
        for subject_type, subject_id in subjects:
            key = (subject_type.value, subject_id)
            if subject_id is None or key in seen:
                continue
            seen.add(key)
            events.extend(self.by_subject.get(key, ()))
        return events


def _load_ledger(uri: str) -> _Ledger:
    from transforms.consent.ledger import LedgerError, load_ledger_events

    try:
        return _Ledger(load_ledger_events(uri))
    except LedgerError as exc:
        raise RunFailed(EXIT_USAGE, f"consent ledger unusable: {exc}; nothing audited") from None


# --------------------------------------------------------------------- re-deciding a meeting

def _category(value: Optional[str]) -> MeetingCategory:
    try:
        return MeetingCategory(value)
    except ValueError:                      # an unknown category: the strictest reading
        return MeetingCategory("therapy")


def _redecide(meeting_id: str, rows: List[Tuple[str, dict]], subjects: Dict, ledger: _Ledger,
              as_of: datetime, policy: ConsentPolicy) -> List[ConsentDecision]:
    """Rebuild the meeting from its published rows and recorded subjects; decide it again."""
    artifact_facts: Dict[str, dict] = {}
    segments: Dict[str, List[Segment]] = defaultdict(list)
    account_id, category, roster = None, None, set()
    for _, row in rows:
        artifact = subjects[(row["run_id"], meeting_id, row["artifact_id"], None)]
        segment = subjects[(row["run_id"], meeting_id, row["artifact_id"], row["segment_id"])]
        account_id = account_id or artifact["account_id"]
        category = category or artifact["category"]
        roster.update(artifact["roster_participant_ids"] or ())
        artifact_facts.setdefault(row["artifact_id"], {"row": row, "owner": artifact["participant_id"]})
        segments[row["artifact_id"]].append(Segment(
            segment_id=row["segment_id"], participant_id=segment["participant_id"], speaker_label=None,
            start_ms=None, end_ms=None, text=""))
    roster.update(s.participant_id for ss in segments.values() for s in ss if s.participant_id)
    declarations, artifacts = [], []
    for artifact_id, facts in sorted(artifact_facts.items()):
        row, owner = facts["row"], facts["owner"]
        derived_from = tuple(row["derived_from"] or ())
        declarations.append(ArtifactDeclaration(artifact_id, row["kind"], "", derived_from, owner))
        artifacts.append(Artifact(
            artifact_id=artifact_id, meeting_id=meeting_id, kind=ArtifactKind(row["kind"]), source_uri="",
            derived_from=derived_from, fingerprint=row["source_fingerprint"] or "", source_format=row["source_format"] or "",
            segments=tuple(segments[artifact_id]), owner_participant_id=owner))
    meeting = Meeting(meeting_id=meeting_id, account_id=account_id or "", topic="", started_at="",
                      category=_category(category), host_participant_id=None,
                      participants=tuple(Participant(p) for p in sorted(roster)), artifacts=tuple(declarations))
    owners = {a.owner_participant_id for a in artifacts if a.owner_participant_id}
    events = ledger.of([(SubjectType.ACCOUNT, account_id), (SubjectType.MEETING, meeting_id)]
                       + [(SubjectType.PARTICIPANT, p) for p in sorted(roster | owners)])
    _, decisions = decide_meeting(meeting, artifacts, set(), events, as_of, policy)
    return decisions


_SCOPE = {ConsentStatus.REFUSED: DropReason.REFUSED, ConsentStatus.WITHDRAWN: DropReason.WITHDRAWN,
          ConsentStatus.REVOKED: DropReason.REVOKED}
_PARTICIPANT = {ConsentStatus.REFUSED: DropReason.PARTICIPANT_REFUSED,
                ConsentStatus.WITHDRAWN: DropReason.PARTICIPANT_WITHDRAWN,
                ConsentStatus.REVOKED: DropReason.PARTICIPANT_REVOKED}


def _recorded_basis(row: dict, ledger: _Ledger, as_of: datetime, purpose: str) -> Optional[Tuple[str, Tuple[str, ...]]]:
    """Legacy rows: do the subjects of the consent events the row names still grant its kind?

    Scopes (account, meeting): none may be refused/withdrawn/revoked and one must still hold a
    valid grant (as the policy's rule 1); participants: each must still hold a valid grant."""
    kind = row["kind"]
    subjects = {(SubjectType.MEETING, row["meeting_id"])}
    for event_id in row["consent_event_ids"] or ():
        event = ledger.by_id.get(event_id)
        if event is None:
            return CONSENT_EVENT_MISSING, (event_id,)
        subjects.add((event.subject_type, event.subject_id))
    state = effective_state((e for e in ledger.of(sorted(subjects)) if e.purpose == purpose), as_of)
    scope_events, negatives = [], []
    for subject_type, subject_id in sorted(subjects):
        winner = state.resolve(subject_type, subject_id, purpose, kind)
        if subject_type is SubjectType.PARTICIPANT:
            if winner is None:
                return DropReason.PARTICIPANT_NO_GRANT.value, ()
            if winner.status is not ConsentStatus.GRANTED:
                return _PARTICIPANT[winner.status].value, (winner.event_id,)
            if winner.is_expired(as_of):
                return DropReason.PARTICIPANT_EXPIRED.value, (winner.event_id,)
        elif winner is not None:
            scope_events.append(winner)
            if winner.status is not ConsentStatus.GRANTED:
                negatives.append(winner)
    if negatives:
        worst = max(negatives, key=lambda e: e.status.restrictiveness)
        return _SCOPE[worst.status].value, tuple(sorted(e.event_id for e in negatives))
    if not any(e.is_valid_grant(as_of) for e in scope_events):
        reason = DropReason.EXPIRED if scope_events else DropReason.NO_GRANT
        return reason.value, tuple(sorted(e.event_id for e in scope_events))
    return None


# --------------------------------------------------------------------------- the audit

def audit_output(output: str, consent_uri: str, as_of: Optional[datetime] = None,
                 policy: Optional[ConsentPolicy] = None, tombstone: bool = False,
                 now: Optional[datetime] = None) -> AuditResult:
    output = output.rstrip("/") if not publish.is_local(output) else output
    if not publish.has_files(f"{output}/datasets"):
        raise ConfigError("output folder has no published datasets")
    now = now or datetime.now(timezone.utc)
    as_of = as_of or now
    policy = policy or ConsentPolicy()
    result = AuditResult(output=output, as_of=as_of, audit_id=f"audit-{now.strftime('%Y%m%dT%H%M%S%fZ')}")
    ledger = _load_ledger(consent_uri)
    rows = [r for dataset in SEGMENT_DATASETS for r in _read(output, dataset, SEGMENT_COLUMNS)]
    result.rows_checked = len(rows)
    subjects = _subjects(output, {row["run_id"] for _, row in rows})
    tombstoned = _tombstoned(output)

    def recorded(row: dict) -> bool:
        return ((row["run_id"], row["meeting_id"], row["artifact_id"], None) in subjects
                and (row["run_id"], row["meeting_id"], row["artifact_id"], row["segment_id"]) in subjects)

    by_meeting: Dict[Tuple[str, str], List[Tuple[str, dict]]] = defaultdict(list)
    decisions: List[ConsentDecision] = []
    for dataset, row in rows:
        if recorded(row):
            by_meeting[(row["purpose"], row["meeting_id"])].append((dataset, row))
            continue
        result.rows_recorded_basis += 1
        failed = _recorded_basis(row, ledger, as_of, row["purpose"])
        allowed = failed is None
        reason, ids = failed or ("granted", ())
        decisions.append(ConsentDecision(row["meeting_id"], row["artifact_id"], row["segment_id"], row["kind"],
                                         allowed, reason, ids))
        if not allowed:
            result.findings.append(_finding(dataset, row, reason, ids, "recorded_events", tombstoned))
    decisions.extend(_artifact_level(decisions))      # the recorded-basis rows' decisions so far
    for (purpose, meeting_id), meeting_rows in sorted(by_meeting.items()):
        redecided = _redecide(meeting_id, meeting_rows, subjects, ledger, as_of,
                              dataclasses.replace(policy, purpose=purpose))
        decisions.extend(redecided)
        verdicts = {(d.artifact_id, d.segment_id): d for d in redecided if d.segment_id is not None}
        for dataset, row in meeting_rows:
            verdict = verdicts[(row["artifact_id"], row["segment_id"])]
            if not verdict.allowed:
                result.findings.append(_finding(dataset, row, verdict.reason, verdict.event_ids, "subjects",
                                                tombstoned))
    result.findings.sort(key=lambda f: (f.meeting_id, f.artifact_id, f.segment_id, f.dataset))
    if tombstone and result.findings:
        _commit_tombstones(result, rows, decisions, tombstoned, now)
    return result


def _artifact_level(segment_decisions: List[ConsentDecision]) -> List[ConsentDecision]:
    """Artifact-level decisions for segment decisions taken one by one: allowed while any
    segment is, else the first segment's reason (what a tombstone of the whole artifact says)."""
    grouped: Dict[Tuple[str, str], List[ConsentDecision]] = defaultdict(list)
    for decision in segment_decisions:
        grouped[(decision.meeting_id, decision.artifact_id)].append(decision)
    out = []
    for (meeting_id, artifact_id), group in sorted(grouped.items()):
        allowed = any(d.allowed for d in group)
        first = min((d for d in group if not d.allowed), key=lambda d: d.segment_id or "", default=group[0])
        out.append(ConsentDecision(meeting_id, artifact_id, None, group[0].kind, allowed,
                                   "granted" if allowed else first.reason, () if allowed else first.event_ids))
    return out


def _finding(dataset: str, row: dict, reason: str, ids: Sequence[str], basis: str, tombstoned: set) -> Finding:
    key_done = ((row["meeting_id"], row["artifact_id"], row["segment_id"]) in tombstoned
                or (row["meeting_id"], row["artifact_id"], None) in tombstoned)
    return Finding(dataset, row["run_id"], row["meeting_id"], row["artifact_id"], row["segment_id"], reason,
                   tuple(ids), basis, key_done)


def _commit_tombstones(result: AuditResult, rows: List[Tuple[str, dict]], decisions: List[ConsentDecision],
                       tombstoned: set, now: datetime) -> None:
    """Tombstone the findings not tombstoned yet; commit the file with an audit record."""
    from transforms.revocation import tombstone_row

    affected = {f.meeting_id for f in result.findings if not f.already_tombstoned}
    published = [(r["meeting_id"], r["artifact_id"], r["segment_id"]) for _, r in rows if r["meeting_id"] in affected]
    allowed = [(d.meeting_id, d.artifact_id, d.segment_id) for d in decisions
               if d.allowed and d.segment_id is not None and d.meeting_id in affected]
    tombstones = [t for t in compute_tombstones(published, allowed, affected, decisions, result.audit_id)
                  if (t.meeting_id, t.artifact_id, t.segment_id) not in tombstoned]
    if not tombstones:
        return
    relative = (f"datasets/{TOMBSTONE_DATASET}/run_date={now.strftime('%Y-%m-%d')}/"
                f"part-{result.audit_id}-00000.parquet")
    table = pa.Table.from_pylist([tombstone_row(t) for t in tombstones], schema=TOMBSTONE_SCHEMA)
    record = f"{AUDITS}/{result.audit_id}.json"
    with publish.publish_lock(result.output):
        if publish.is_local(result.output):                           # under the lock: no audit in flight
            publish.delete_uncommitted(result.output, "part-audit-")  # what a killed audit left
        target = f"{result.output}/{relative}"
        publish.write_parquet(table, target)
        publish.write_json(f"{result.output}/{record}", {
            "commit_id": result.audit_id,
            "kind": "audit",
            "committed_at": now.isoformat(),
            "as_of": result.as_of.isoformat(),
            "rows_checked": result.rows_checked,
            "findings_by_reason": result.by_reason(),
            "datasets": {TOMBSTONE_DATASET: {"rows": table.num_rows, "files": [relative]}},
            INTEGRITY_KEY: {relative: file_digest(target)},
        })
        if not publish.is_local(result.output):
            publish.collect_garbage(result.output)
    result.tombstones_written = table.num_rows
    result.record = record


def main_audit(output: str, consent_uri: str, as_of: Optional[datetime], policy: ConsentPolicy,
               tombstone: bool, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Body of ``gatekeeper audit``: prints findings (ids and reasons) and returns 0 or 3."""
    result = audit_output(output, consent_uri, as_of, policy, tombstone)
    if as_json:
        print(json.dumps({**result.to_dict(), "summary": result.summary()}, indent=2, sort_keys=True), file=out)
    else:
        for finding in result.findings:
            print(finding.line(), file=out)
        print(result.summary(), file=out)
    return EXIT_FINDINGS if result.findings else EXIT_OK
