"""ValidateOutput in a real (direct-runner) Beam pipeline."""
from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that

from expectations.model import ValidationReport
from transforms.validate import ValidateOutput

FP = "ab" * 32
CANARY = "canary.person@example.org"


def segment(i: int, artifact: str = "a1", kind: str = "transcript", **overrides):
    row = dict(
        run_id="r1", meeting_id="m1", artifact_id=artifact, segment_id=f"{artifact}:{i:05d}", kind=kind,
        source_format="webvtt", speaker="<PERSON_7f3a9c>", start_ms=i * 1000, end_ms=i * 1000 + 900,
        text=f"Line {i} mentions <EMAIL_ADDRESS> and <PERSON_0a1b2c>.",
        entity_counts=[{"type": "EMAIL_ADDRESS", "count": 1}], consent_event_ids=["ev-1"],
        purpose="ai_training", derived_from=[], source_fingerprint=FP, residual_findings=[],
    )
    row.update(overrides)
    return row


def audit_row(i: int, allowed: bool = True):
    return dict(
        run_id="r1", decision_id=f"d{i}", meeting_id="m1", artifact_id="a1", segment_id=None, kind="transcript",
        allowed=allowed, reason="granted" if allowed else "no_grant", event_ids=["ev-1"] if allowed else [],
    )


def dead_letter(i: int, **overrides):
    row = dict(run_id="r1", dead_letter_id=f"dl{i}", meeting_id="m1", artifact_id=f"a{i}", kind="upload",
               extension="docx", source_fingerprint=FP, stage="ingest", reason="encrypted", error_class="EncryptedDocument")
    row.update(overrides)
    return row


def _run(datasets, check, batch_rows=7):
    p = TestPipeline()
    pcolls = {name: p | f"Create[{name}]" >> beam.Create(rows) for name, rows in datasets.items()}
    report = pcolls | ValidateOutput(suites_dir=None, batch_rows=batch_rows, run_id="r1")
    assert_that(report, check)
    result = p.run()
    result.wait_until_finish()
    return result


def _counter(result, name):
    found = result.metrics().query(MetricsFilter().with_name(name))["counters"]
    return sum(c.committed for c in found)


def _single(reports):
    assert len(reports) == 1
    report = reports[0]
    assert isinstance(report, ValidationReport)
    return report


def test_clean_rows_pass_and_every_expectation_reports():
    rows = [segment(i) for i in range(30)] + [segment(i, artifact="a2") for i in range(5)]

    def check(reports):
        report = _single(reports)
        assert report.success, [o for o in report.critical_failures]
        assert report.run_id == "r1"
        by_id = {(o.dataset, o.expectation_id): o for o in report.outcomes}
        assert by_id[("transcript", "text.not_blank")].element_count == 35
        assert by_id[("transcript", "ids.segment_id_unique")].element_count == 35
        assert by_id[("transcript", "time.ordered_within_artifact")].element_count == 35
        assert by_id[("audit", "reason.known")].element_count == 0  # empty dataset: not evaluated

    result = _run({"transcript": rows, "audit": []}, check)
    assert _counter(result, "rows_transcript") == 35
    assert _counter(result, "text_chars") == sum(len(r["text"]) for r in rows)


def test_failures_across_batches_are_counted_with_ids_only():
    rows = [segment(i) for i in range(40)]
    rows[3] = segment(3, text=f"Mail me at {CANARY} <PERSON_", residual_findings=[{"type": "EMAIL_ADDRESS", "count": 1}])
    rows[25] = segment(25, consent_event_ids=[])
    rows[31] = segment(31, segment_id="a1:00002", start_ms=2000, end_ms=2900)  # duplicate id in another batch
    rows[35] = segment(35, start_ms=100)  # goes back in time within artifact a1

    def check(reports):
        report = _single(reports)
        assert not report.success
        failed = {o.expectation_id: o for o in report.critical_failures if o.dataset == "transcript"}
        assert set(failed) == {
            "pii.no_residual_findings", "pii.placeholders_well_formed", "consent.event_ids_present",
            "ids.segment_id_unique", "time.ordered_within_artifact",
        }
        assert failed["pii.no_residual_findings"].sample_row_ids == ("a1:00003",)
        assert failed["consent.event_ids_present"].sample_row_ids == ("a1:00025",)
        assert failed["ids.segment_id_unique"].sample_row_ids == ("a1:00002",)
        assert failed["ids.segment_id_unique"].unexpected_count == 2
        assert failed["time.ordered_within_artifact"].sample_row_ids == ("a1:00035",)
        assert failed["pii.no_residual_findings"].element_count == 40
        assert CANARY not in json.dumps(report.to_dict())

    _run({"transcript": rows}, check, batch_rows=10)


def test_audit_rules_and_warning_only_runs_still_succeed():
    audits = [audit_row(i) for i in range(5)] + [dict(audit_row(9), event_ids=[])]
    chat = [segment(i, artifact="c1", kind="chat") for i in range(5)]
    chat[4] = segment(4, artifact="c1", kind="chat", start_ms=0)  # chat order: a warning only

    dead = [dead_letter(i) for i in range(3)] + [dead_letter(7, extension="john smith", reason="not_a_reason")]

    def check(reports):
        report = _single(reports)
        failed = {(o.dataset, o.expectation_id): o.sample_row_ids for o in report.critical_failures}
        assert failed == {
            ("audit", "consent.allowed_has_event_ids"): ("d9",),
            ("dead_letter", "pii.extension_is_code"): ("dl7",),
            ("dead_letter", "reason.known"): ("dl7",),
        }
        assert [(o.dataset, o.expectation_id) for o in report.warnings] == [("chat", "time.ordered_within_artifact")]
        assert "john smith" not in json.dumps(report.to_dict())

    _run({"audit": audits, "chat": chat, "dead_letter": dead}, check)


def test_rejects_bad_arguments():
    with pytest.raises(ValueError):
        ValidateOutput(batch_rows=0)
