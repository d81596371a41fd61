"""gatekeeper validate PATH over real Parquet files in the documented layout."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.validation_cli import EXIT_CRITICAL, EXIT_OK, EXIT_USAGE, main_validate, validate_path
from transforms.schemas import AUDIT_SCHEMA, SEGMENT_SCHEMA

FP = "cd" * 32
RUN = "20261127T150102Z-ab12cd"
CANARY = "4111 1111 1111 1111 canary"


def segment(i: int, artifact: str = "a1", **overrides):
    row = dict(
        run_id=RUN, meeting_id="m1", artifact_id=artifact, segment_id=f"{artifact}:{i:05d}", kind="transcript",
        source_format="webvtt", speaker="<PERSON_7f3a9c>", start_ms=i * 1000, end_ms=i * 1000 + 900,
        text=f"Segment {i} with <PHONE_NUMBER>.", entity_counts=[{"type": "PHONE_NUMBER", "count": 1}],
        consent_event_ids=["ev-1"], purpose="ai_training", derived_from=[], source_fingerprint=FP,
        residual_findings=[],
    )
    row.update(overrides)
    return row


def write_parquet(path: Path, rows, schema=SEGMENT_SCHEMA, row_group_size=16):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=row_group_size)


def manifest(rows: int, ingested: int = 3, dead: int = 0):
    return {
        "run_id": RUN, "status": "published", "exit_code": 0, "run_date": "2026-11-27",
        "started_at": "2026-11-27T15:01:02Z", "finished_at": "2026-11-27T15:03:00Z",
        "counts": {
            "artifacts": {"transcript": {"ingested": ingested, "published": 2, "dropped": 1, "dead_lettered": dead}},
            "segments": {"transcript": {"parsed": rows + 4, "published": rows, "dropped": 4}},
            "entities": {"PHONE_NUMBER": rows},
        },
        "datasets": {"transcript": {"rows": rows, "files": []}},
    }


def build_output(root: Path, rows, manifest_doc=None):
    part = root / "datasets" / "transcript" / "run_date=2026-11-27"
    write_parquet(part / f"part-{RUN}-00000.parquet", rows[: len(rows) // 2])
    write_parquet(part / f"part-{RUN}-00001.parquet", rows[len(rows) // 2:])
    audit = [dict(run_id=RUN, decision_id=f"d{i}", meeting_id="m1", artifact_id="a1", segment_id=None,
                  kind="transcript", allowed=True, reason="granted", event_ids=["ev-1"]) for i in range(3)]
    write_parquet(root / "datasets" / "audit" / "run_date=2026-11-27" / f"part-{RUN}-00000.parquet", audit, AUDIT_SCHEMA)
    if manifest_doc is not None:
        (root / "runs" / RUN).mkdir(parents=True)
        (root / "runs" / RUN / "manifest.json").write_text(json.dumps(manifest_doc))
    return root


def test_clean_output_passes(tmp_path):
    rows = [segment(i) for i in range(40)]
    build_output(tmp_path, rows, manifest(40))
    report = validate_path(str(tmp_path), batch_rows=8)
    assert report.success, report.critical_failures
    assert report.run_id == RUN
    by_id = {(o.dataset, o.expectation_id): o for o in report.outcomes}
    assert by_id[("transcript", "text.not_blank")].element_count == 40
    assert by_id[("transcript", "schema.parquet_file")].element_count == 2
    assert by_id[("run", "conservation.artifacts")].success
    out = io.StringIO()
    assert main_validate(str(tmp_path), out=out) == EXIT_OK
    assert "validation passed" in out.getvalue()


def test_duplicates_across_files_residual_pii_and_conservation_fail(tmp_path):
    rows = [segment(i) for i in range(40)]
    rows[30] = segment(30, segment_id="a1:00001", start_ms=1000, end_ms=1900)  # same id as a row of file 0
    rows[5] = segment(5, text=f"card {CANARY}", residual_findings=[{"type": "CREDIT_CARD", "count": 1}])
    build_output(tmp_path, rows, manifest(40, ingested=4))
    report_path = tmp_path / "validation.json"
    out = io.StringIO()
    assert main_validate(str(tmp_path), report_json=str(report_path), out=out) == EXIT_CRITICAL
    report = json.loads(report_path.read_text())
    failed = {(o["dataset"], o["expectation_id"]): o for o in report["outcomes"] if not o["success"]}
    assert failed[("transcript", "ids.segment_id_unique")]["sample_row_ids"] == ["a1:00001"]
    assert failed[("transcript", "pii.no_residual_findings")]["sample_row_ids"] == ["a1:00005"]
    assert failed[("run", "conservation.artifacts")]["sample_row_ids"] == ["transcript"]
    assert CANARY not in report_path.read_text() and CANARY not in out.getvalue()
    assert "CRITICAL transcript pii.no_residual_findings unexpected=1/40 ids=a1:00005" in out.getvalue()


def test_a_single_dataset_folder_and_a_wrong_schema(tmp_path):
    rows = [segment(i) for i in range(5)]
    folder = tmp_path / "datasets" / "transcript"
    bad_schema = pa.schema([f for f in SEGMENT_SCHEMA if f.name != "residual_findings"])
    write_parquet(folder / "run_date=2026-11-27" / "part-x-00000.parquet",
                  [{k: v for k, v in r.items() if k != "residual_findings"} for r in rows], bad_schema)
    report = validate_path(str(folder))
    failed = {o.expectation_id for o in report.critical_failures}
    assert {"schema.parquet_file", "schema.columns_present", "schema.row_types"} <= failed


def test_the_same_segment_published_by_two_runs_is_not_a_duplicate(tmp_path):
    folder = tmp_path / "datasets" / "transcript"
    write_parquet(folder / "run_date=2026-11-26" / "part-r0-00000.parquet", [segment(i, run_id="r0") for i in range(6)])
    write_parquet(folder / "run_date=2026-11-27" / "part-r1-00000.parquet", [segment(i, run_id="r1") for i in range(6)])
    report = validate_path(str(tmp_path))
    assert report.success, report.critical_failures
    unique = next(o for o in report.outcomes if o.expectation_id == "ids.segment_id_unique")
    assert unique.element_count == 12 and unique.unexpected_count == 0


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_missing_or_foreign_path_exits_2(tmp_path, make):
    (tmp_path / "something.txt").write_text("x")
    out = io.StringIO()
    assert main_validate(str(make(tmp_path)), out=out) == EXIT_USAGE


def test_audit_files_written_before_the_subject_columns_still_validate(tmp_path):
    from transforms.schemas import accepted_schemas

    rows = [segment(i) for i in range(4)]
    build_output(tmp_path, rows, manifest(4))
    legacy = accepted_schemas("audit")[1]
    assert "account_id" in AUDIT_SCHEMA.names and "account_id" not in legacy.names
    path = next((tmp_path / "datasets" / "audit").rglob("*.parquet"))
    rows_v1 = [{k: v for k, v in r.items() if k in legacy.names} for r in pq.read_table(path).to_pylist()]
    write_parquet(path, rows_v1, legacy)
    report = validate_path(str(tmp_path))
    assert report.success, report.critical_failures
    # ... but a file with some other schema still fails
    write_parquet(path, [dict(r, account_id=1) for r in rows_v1],
                  pa.schema(list(legacy) + [pa.field("account_id", pa.int64())]))
    failed = {o.expectation_id for o in validate_path(str(tmp_path)).critical_failures}
    assert "schema.parquet_file" in failed
