"""pipeline/audit.py on small hand-written outputs (fast; the end-to-end runs are in
test_audit_and_integrity.py)."""
from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.audit import EXIT_FINDINGS, EXIT_OK, audit_output, main_audit
from pipeline.config import ConfigError, ConsentPolicy, RunFailed
from pipeline.publish import live_files
from transforms.schemas import AUDIT_SCHEMA, SEGMENT_SCHEMA, TOMBSTONE_SCHEMA

RUN, DAY = "20261127T010000Z-aaaaaa", "2026-11-20"
BEFORE = datetime(2026, 11, 27, tzinfo=timezone.utc)
AFTER = datetime(2026, 12, 15, tzinfo=timezone.utc)
SECRET_TEXT = "zz-canary-published-text"


def _event(event_id, subject_type, subject_id, status="granted", at="2026-01-01T00:00:00Z", kinds=("*",), **extra):
    return {"event_id": event_id, "subject_type": subject_type, "subject_id": subject_id, "purpose": "ai_training",
            "artifact_kinds": list(kinds), "status": status, "effective_at": at, **extra}


def _segment(meeting, artifact, index, kind, events):
    return {"run_id": RUN, "meeting_id": meeting, "artifact_id": artifact, "segment_id": f"{artifact}:{index:05d}",
            "kind": kind, "source_format": "x", "speaker": "<PERSON_aaaaaa>", "start_ms": index, "end_ms": index + 1,
            "text": f"{SECRET_TEXT} {index}", "entity_counts": [], "consent_event_ids": events, "purpose": "ai_training",
            "derived_from": [], "source_fingerprint": "f" * 64, "residual_findings": []}


def _decision(meeting, artifact, segment, kind, category, participant=None, roster=None):
    return {"run_id": RUN, "decision_id": f"{artifact}/{segment}", "meeting_id": meeting, "artifact_id": artifact,
            "segment_id": segment, "kind": kind, "allowed": True, "reason": "granted", "event_ids": ["e"],
            "account_id": "acct-1", "category": category, "participant_id": participant,
            "roster_participant_ids": roster}


def _write(path: Path, rows, schema):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)


@pytest.fixture
def output(tmp_path):
    """m1 (general): a transcript by p1/p2 and an upload owned by p2; m2 (hr): a chat by p1 only,
    roster p1 and p3 (special category: every roster participant must hold an explicit grant)."""
    out = tmp_path / "out"
    transcript = [_segment("m1", "t1", i, "transcript", ["e-acct", f"e-{p}"]) for i, p in enumerate(("p1", "p2", "p1"))]
    upload = [_segment("m1", "u1", 0, "upload", ["e-acct", "e-p2"])]
    chat = [_segment("m2", "c1", i, "chat", ["e-m2", "e-p1", "e-p3"]) for i in range(2)]
    _write(out / "datasets" / "transcript" / f"run_date={DAY}" / f"part-{RUN}-00000.parquet", transcript, SEGMENT_SCHEMA)
    _write(out / "datasets" / "upload" / f"run_date={DAY}" / f"part-{RUN}-00000.parquet", upload, SEGMENT_SCHEMA)
    _write(out / "datasets" / "chat" / f"run_date={DAY}" / f"part-{RUN}-00000.parquet", chat, SEGMENT_SCHEMA)
    audit = [_decision("m1", "t1", None, "transcript", "general", roster=["p1", "p2"]),
             *[_decision("m1", "t1", f"t1:{i:05d}", "transcript", "general", p) for i, p in enumerate(("p1", "p2", "p1"))],
             _decision("m1", "u1", None, "upload", "general", "p2", ["p1", "p2"]),
             _decision("m1", "u1", "u1:00000", "upload", "general"),
             _decision("m2", "c1", None, "chat", "hr", roster=["p1", "p3"]),
             *[_decision("m2", "c1", f"c1:{i:05d}", "chat", "hr", "p1") for i in range(2)]]
    _write(out / "datasets" / "audit" / "run_date=2026-11-27" / f"part-{RUN}-00000.parquet", audit, AUDIT_SCHEMA)
    return out


def _ledger(tmp_path, *later):
    events = [_event("e-acct", "account", "acct-1"), _event("e-m2", "meeting", "m2", special_category=True),
              _event("e-p1", "participant", "p1", special_category=True), _event("e-p2", "participant", "p2"),
              _event("e-p3", "participant", "p3", special_category=True), *later]
    path = tmp_path / f"ledger-{len(later)}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def _found(result):
    return {(f.artifact_id, f.segment_id): f.reason for f in result.findings}


def test_consent_that_still_holds_finds_nothing(output, tmp_path):
    result = audit_output(str(output), _ledger(tmp_path), AFTER)
    assert result.rows_checked == 6 and result.findings == [] and result.rows_recorded_basis == 0


def test_an_authors_withdrawal_finds_exactly_their_segments_and_the_owners_upload(output, tmp_path):
    ledger = _ledger(tmp_path, _event("w-p2", "participant", "p2", "withdrawn", at="2026-12-01T00:00:00Z"))
    assert audit_output(str(output), ledger, BEFORE).findings == []          # not yet effective
    result = audit_output(str(output), ledger, AFTER)
    assert _found(result) == {("t1", "t1:00001"): "participant_withdrawn", ("u1", "u1:00000"): "owner_no_grant"}
    assert {f.event_ids for f in result.findings} == {("w-p2",)}


def test_a_roster_participants_withdrawal_in_a_special_category_meeting_finds_every_row(output, tmp_path):
    ledger = _ledger(tmp_path, _event("w-p3", "participant", "p3", "withdrawn", at="2026-12-01T00:00:00Z"))
    assert _found(audit_output(str(output), ledger, AFTER)) == {
        ("c1", "c1:00000"): "special_category_not_explicit", ("c1", "c1:00001"): "special_category_not_explicit"}


def test_an_account_revocation_and_an_expiry_are_found(output, tmp_path):
    revoked = _ledger(tmp_path, _event("r-acct", "account", "acct-1", "revoked", at="2026-12-01T00:00:00Z",
                                       kinds=("upload",)))
    assert _found(audit_output(str(output), revoked, AFTER)) == {("u1", "u1:00000"): "revoked"}
    # p1's grant lapses: their transcript cues, and the hr chat (p1 is its author and on its roster)
    expiring = tmp_path / "expiring.jsonl"
    expiring.write_text(Path(_ledger(tmp_path)).read_text().replace(
        '"subject_id": "p1",', '"subject_id": "p1", "expires_at": "2026-12-01T00:00:00Z",'))
    assert _found(audit_output(str(output), str(expiring), AFTER)) == {
        ("t1", "t1:00000"): "participant_expired", ("t1", "t1:00002"): "participant_expired",
        ("c1", "c1:00000"): "special_category_not_explicit", ("c1", "c1:00001"): "special_category_not_explicit"}


def test_tombstones_are_committed_once_and_name_ids_only(output, tmp_path):
    ledger = _ledger(tmp_path, _event("w-p2", "participant", "p2", "withdrawn", at="2026-12-01T00:00:00Z"))
    first = audit_output(str(output), ledger, AFTER, tombstone=True)
    assert first.tombstones_written == 2 and first.record.startswith("audits/")
    tombstones = [f for f in live_files(str(output)) if "/tombstone/" in f]
    assert len(tombstones) == 1
    rows = pq.read_table(output / tombstones[0]).to_pylist()
    assert pq.read_table(output / tombstones[0]).schema.equals(TOMBSTONE_SCHEMA)
    # the upload has no segment left: one artifact-level tombstone; the transcript keeps others
    assert sorted((r["artifact_id"], r["segment_id"], r["reason"]) for r in rows) == [
        ("t1", "t1:00001", "participant_withdrawn"), ("u1", None, "owner_no_grant")]
    again = audit_output(str(output), ledger, AFTER, tombstone=True)
    assert len(again.findings) == 2 and all(f.already_tombstoned for f in again.findings)
    assert again.tombstones_written == 0 and again.record == ""
    out = io.StringIO()
    assert main_audit(str(output), ledger, AFTER, ConsentPolicy(), False, True, out=out) == EXIT_FINDINGS
    assert SECRET_TEXT not in out.getvalue() and "PERSON_" not in out.getvalue()


def test_main_audit_exit_codes_and_errors(output, tmp_path):
    out = io.StringIO()
    assert main_audit(str(output), _ledger(tmp_path), AFTER, ConsentPolicy(), False, False, out=out) == EXIT_OK
    assert "audit passed: 6 published rows" in out.getvalue()
    with pytest.raises(ConfigError):
        audit_output(str(tmp_path / "nowhere"), _ledger(tmp_path), AFTER)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"event_id": "x"}\n')
    with pytest.raises(RunFailed) as failed:
        audit_output(str(output), str(broken), AFTER)
    assert failed.value.exit_code == 2          # a ledger with errors: nothing audited


def test_a_killed_audits_uncommitted_tombstones_are_deleted_by_the_next(output, tmp_path):
    leftover = output / "datasets" / "tombstone" / "run_date=2026-12-01" / "part-audit-killed-00000.parquet"
    _write(leftover, [], TOMBSTONE_SCHEMA)
    ledger = _ledger(tmp_path, _event("w-p2", "participant", "p2", "withdrawn", at="2026-12-01T00:00:00Z"))
    audit_output(str(output), ledger, AFTER, tombstone=True)
    assert not leftover.exists()
    assert len([p for p in output.glob("datasets/tombstone/*/*.parquet")]) == 1
