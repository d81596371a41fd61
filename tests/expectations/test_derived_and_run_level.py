"""Derived per-row columns, and the run-level conservation and drift checks."""
from __future__ import annotations


import pytest

from expectations.derived import malformed_placeholder_count, rows_to_frame, schema_violations
from expectations.run_level import evaluate_run_level, is_drift
from transforms.schemas import SEGMENT_SCHEMA


@pytest.mark.parametrize("text,bad", [
    ("Call <PERSON_7f3a9c> at <PHONE_NUMBER>.", 0),
    ("plain text, a < b and x<y, <div>html</div>, <3", 0),
    ("truncated <PERSON_", 1),
    ("lower case <person_1>", 1),
    ("unclosed <PERSON_7f3a9c and <EMAIL, mixed <Person_7f3a9c>", 3),
    ("<EMAIL_ADDRESS><LOCATION>", 0),
])
def test_malformed_placeholder_count(text, bad):
    assert malformed_placeholder_count(text) == bad


def test_schema_violations_count_missing_unexpected_null_and_mistyped_fields():
    row = {f.name: None for f in SEGMENT_SCHEMA}
    row.update(run_id="r", meeting_id="m", artifact_id="a", segment_id="a:00000", kind="chat", source_format="x",
               text="t", entity_counts=[{"type": "PERSON", "count": 1}], consent_event_ids=["e"], purpose="ai_training",
               derived_from=[], source_fingerprint="f", residual_findings=[])
    assert schema_violations(row, SEGMENT_SCHEMA) == 0
    broken = dict(row, start_ms="12", entity_counts=[{"type": "PERSON"}], text=None, extra="x")
    del broken["purpose"]
    assert schema_violations(broken, SEGMENT_SCHEMA) == 5
    frame = rows_to_frame("chat", [row, broken])
    assert list(frame["_gk_schema_violations"]) == [0, 5]
    assert "extra" not in frame.columns


def manifest(run_id, ingested=10, published=6, dropped=3, dead=1, rows=100, entities=50, status="published"):
    return {
        "run_id": run_id, "status": status, "started_at": run_id,
        "counts": {
            "artifacts": {"transcript": {"ingested": ingested, "published": published, "dropped": dropped, "dead_lettered": dead},
                          "chat": {"ingested": 4, "published": 4, "dropped": 0, "dead_lettered": 0}},
            "segments": {"transcript": {"parsed": rows + 10, "published": rows, "dropped": 10},
                         "chat": {"parsed": 8, "published": 8, "dropped": 0}},
            "entities": {"PERSON": entities},
        },
        "datasets": {"transcript": {"rows": rows}, "chat": {"rows": 8}},
        "metrics": {},
    }


def by_id(outcomes):
    return {o.expectation_id: o for o in outcomes}


def test_conservation_passes_and_fails_per_kind():
    ok = by_id(evaluate_run_level(manifest("r5"), []))
    assert ok["conservation.artifacts"].success and ok["conservation.artifacts"].element_count == 2
    assert ok["conservation.segment_rows"].success
    bad = manifest("r5", ingested=11)
    bad["datasets"]["chat"]["rows"] = 7
    out = by_id(evaluate_run_level(bad, []))
    assert not out["conservation.artifacts"].success
    assert out["conservation.artifacts"].sample_row_ids == ("transcript",)
    assert "ingested=11 published=6 dropped=3 dead_lettered=1" in out["conservation.artifacts"].detail
    assert out["conservation.segment_rows"].sample_row_ids == ("chat",)
    missing = by_id(evaluate_run_level({"run_id": "r5"}, []))
    assert not missing["conservation.artifacts"].success  # fail closed


def test_drift_needs_history_and_warns_far_outside_it():
    history = [manifest(f"r{i}", rows=100 + i, entities=50 + i) for i in range(1, 5)]
    history.append(manifest("r0", rows=9000, status="quarantined"))  # not published: ignored
    quiet = by_id(evaluate_run_level(manifest("r5", rows=104, entities=53), history))
    assert all(o.success for o in quiet.values())
    assert quiet["drift.published_rows"].element_count == 2
    spike = by_id(evaluate_run_level(manifest("r5", rows=1000, dropped=9, published=0, entities=53), history))
    assert not spike["drift.published_rows"].success
    assert spike["drift.published_rows"].severity == "warning"
    assert spike["drift.published_rows"].sample_row_ids == ("transcript.rows",)
    assert "transcript.drop_rate" in spike["drift.artifact_drop_rate"].sample_row_ids
    narrow = by_id(evaluate_run_level(manifest("r5", rows=1000), history, drift_window=2))
    assert narrow["drift.published_rows"].success and narrow["drift.published_rows"].element_count == 0
    short = by_id(evaluate_run_level(manifest("r5", rows=1000), history[:2]))
    assert short["drift.published_rows"].success and "prior runs" in short["drift.published_rows"].detail


def test_redaction_density_uses_published_characters_when_counted():
    history = []
    for i in range(1, 5):
        m = manifest(f"r{i}", entities=50)
        m["metrics"] = {"validate:text_chars": 10_000 + i}
        history.append(m)
    current = manifest("r5", entities=50)
    current["metrics"] = {"validate:text_chars": 1_000}  # same entities in a tenth of the text
    density = by_id(evaluate_run_level(current, history))["drift.redaction_density"]
    assert not density.success and density.sample_row_ids == ("entities_per_1k_chars",)


def test_is_drift_rule():
    assert not is_drift(110, [100, 101, 99, 100], 3, 3)
    assert is_drift(400, [100, 101, 99, 100], 3, 3)
    assert not is_drift(250, [100, 300, 50, 200], 3, 3)
    assert is_drift(1, [0, 0, 0], 3, 3)
