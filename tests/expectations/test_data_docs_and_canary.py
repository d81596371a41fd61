"""GE on a batch, then Data Docs: a planted PII canary never leaves GE's memory."""
from __future__ import annotations

import json
import re

from expectations.artifacts import write_validation_artifacts
from expectations.model import ValidationReport
from expectations.run_level import evaluate_run_level
from expectations.runner import BatchValidator
from pipeline.report import write_run_report
from expectations.suites import load_suites

CANARY_EMAIL = "zz.canary.7731@example.net"
CANARY_TEXT = "Canary Quokka-Falcon"


def row(i: int, **overrides):
    base = dict(
        run_id="r1", meeting_id="m1", artifact_id="a1", segment_id=f"a1:{i:05d}", kind="upload",
        source_format="docx", speaker=None, start_ms=None, end_ms=None, text=f"Paragraph {i} about <ORGANIZATION>.",
        entity_counts=[], consent_event_ids=["ev-9"], purpose="ai_training", derived_from=[], source_fingerprint="ef" * 32,
        residual_findings=[],
    )
    base.update(overrides)
    return base


def test_canary_in_failing_columns_is_absent_from_outcomes_json_and_data_docs(tmp_path):
    validator = BatchValidator(load_suites(["upload"]))
    rows = [row(i) for i in range(12)]
    rows[4] = row(4, speaker=f"{CANARY_TEXT} <{CANARY_EMAIL}>")                      # not a pseudonym
    rows[7] = row(7, text=f"{CANARY_TEXT} wrote {CANARY_EMAIL} <EMAIL_",            # malformed placeholder
                  residual_findings=[{"type": "EMAIL_ADDRESS", "count": 1}], purpose=CANARY_TEXT)
    outcomes = validator.validate_rows("upload", rows)
    failed = {o.expectation_id: o.sample_row_ids for o in outcomes if not o.success}
    assert failed == {
        "pii.speaker_is_pseudonym": ("a1:00004",),
        "pii.placeholders_well_formed": ("a1:00007",),
        "pii.no_residual_findings": ("a1:00007",),
        "consent.purpose_ai_training": ("a1:00007",),
    }
    report = ValidationReport.build("r1", outcomes + evaluate_run_level({"run_id": "r1"}, []))
    assert not report.success
    written = write_validation_artifacts(report, tmp_path)
    validation_json = tmp_path / "validation.json"
    assert written.data_docs_path == "runs/r1/data_docs/index.html"
    assert ValidationReport.from_dict(json.loads(validation_json.read_text())) == written
    assert (tmp_path / "data_docs" / "index.html").is_file()
    pages = list((tmp_path / "data_docs").rglob("*.html"))
    assert len(pages) >= 3  # index + one page per dataset (upload, run)
    docs_text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in pages)
    assert "pii.speaker_is_pseudonym" in docs_text and "a1:00004" in docs_text
    page = write_run_report(tmp_path, {"run_id": "r1", "status": "quarantined"}, written, []).read_text()
    links = re.findall(r'href="(data_docs/validations/[^"]+)"', page)
    assert links and all((tmp_path / link).is_file() for link in links)
    assert any("gatekeeper_upload" in link for link in links)
    for secret in (CANARY_EMAIL, CANARY_TEXT, "Quokka"):
        assert secret not in page
        assert secret not in validation_json.read_text()
        assert secret not in docs_text
        assert secret not in json.dumps([o.to_dict() for o in outcomes])
