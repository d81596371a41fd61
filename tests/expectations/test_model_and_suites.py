"""Result model round trips and the version-controlled suite files."""
from __future__ import annotations

import json

import pytest

from expectations.model import ExpectationOutcome, ValidationReport, merge_outcomes, merge_reports
from expectations.suites import PACKAGED_SUITES_DIR, SuiteError, load_run_suite, load_suite, load_suites
from transforms.records import ArtifactKind, DeadLetterReason, DropReason
from transforms.schemas import DATASET_SCHEMAS, SEGMENT_DATASETS, accepted_schemas


def outcome(**kw):
    base = dict(dataset="chat", expectation_id="x", expectation_type="expect_y", severity="critical",
                success=True, element_count=10, unexpected_count=0)
    base.update(kw)
    return ExpectationOutcome(**base)


def test_outcomes_merge_over_batches_and_cap_sample_ids():
    a = outcome(success=False, unexpected_count=2, sample_row_ids=tuple(f"c:{i}" for i in range(15)))
    b = outcome(success=True, element_count=5)
    c = outcome(success=False, unexpected_count=9, sample_row_ids=tuple(f"c:{i}" for i in range(10, 30)))
    (merged,) = merge_outcomes([a, b, c])
    assert (merged.success, merged.element_count, merged.unexpected_count) == (False, 25, 11)
    assert merged.sample_row_ids == tuple(f"c:{i}" for i in range(20))


def test_report_success_is_false_iff_a_critical_outcome_failed_and_round_trips():
    warn = outcome(expectation_id="w", severity="warning", success=False, unexpected_count=1)
    report = ValidationReport.build("r1", [warn, outcome()], data_docs_path="runs/r1/data_docs/index.html")
    assert report.success and report.warnings == (warn,) and report.critical_failures == ()
    crit = outcome(expectation_id="c", success=False, unexpected_count=3, sample_row_ids=("c:1",), detail="n=3")
    merged = merge_reports("r1", [report], [crit])
    assert merge_reports("r1", report.to_dict(), crit) == merged
    assert not merged.success and merged.critical_failures == (crit,)
    assert merged.data_docs_path == "runs/r1/data_docs/index.html"
    assert ValidationReport.from_dict(json.loads(json.dumps(merged.to_dict()))) == merged
    with pytest.raises(ValueError):
        ValidationReport(run_id="r1", success=True, outcomes=(crit,))
    with pytest.raises(ValueError):
        outcome(severity="fatal")


def test_every_output_dataset_has_a_suite_matching_its_schema():
    suites = load_suites(DATASET_SCHEMAS)
    for name, suite in suites.items():
        specs = {s.expectation_id: s for s in suite.expectations}
        # every column, except those added later that older files lack (transforms.schemas.ADDED_COLUMNS)
        assert specs["schema.columns_present"].kwargs["column_set"] == accepted_schemas(name)[-1].names
        assert all(s.severity in ("critical", "warning") for s in suite.expectations)
        assert any(s.expectation_type == "gatekeeper_ids_unique_across_batches" for s in suite.expectations)
        assert suite.id_column in DATASET_SCHEMAS[name].names
    for name in SEGMENT_DATASETS:
        specs = {s.expectation_id: s for s in suites[name].expectations}
        assert {"pii.no_residual_findings", "pii.placeholders_well_formed", "consent.event_ids_present",
                "consent.purpose_ai_training", "text.not_blank"} <= set(specs)
        assert specs["kind.matches_dataset"].kwargs["value_set"] == [name]
    audit = {s.expectation_id: s for s in suites["audit"].expectations}
    assert set(audit["reason.known"].kwargs["value_set"]) == {"granted"} | {r.value for r in DropReason}
    assert set(audit["kind.known"].kwargs["value_set"]) == {k.value for k in ArtifactKind}
    dead = {s.expectation_id: s for s in suites["dead_letter"].expectations}
    assert set(dead["reason.known"].kwargs["value_set"]) == {r.value for r in DeadLetterReason}
    assert {s.expectation_type for s in load_run_suite().expectations} >= {
        "gatekeeper_artifact_conservation", "gatekeeper_drift"}


def test_broken_suites_fail_closed(tmp_path):
    with pytest.raises(SuiteError):
        load_suite("transcript", tmp_path)
    (tmp_path / "chat.json").write_text(json.dumps({"expectations": [{"id": "a", "type": "expect_x", "severity": "fatal"}]}))
    with pytest.raises(SuiteError):
        load_suite("chat", tmp_path)
    (tmp_path / "poll.json").write_text(json.dumps({"expectations": [{"id": "a", "type": "drop_table", "severity": "critical"}]}))
    with pytest.raises(SuiteError):
        load_suite("poll", tmp_path)
    base = json.loads((PACKAGED_SUITES_DIR / "_segment_base.json").read_text())
    (tmp_path / "_segment_base.json").write_text(json.dumps(base))
    (tmp_path / "upload.json").write_text(json.dumps({"extends": ["_segment_base"], "expectations": [base["expectations"][0]]}))
    with pytest.raises(SuiteError, match="duplicate"):
        load_suite("upload", tmp_path)
