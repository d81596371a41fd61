"""End-to-end runs of `gatekeeper run` on the bundled examples.

One published run is shared by most assertions (it takes a while: Beam, spaCy, GE, OCR).
The failure paths run on smaller copies of the examples.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from examples.generate import CANARIES, PUBLISHED_SENTINELS, WITHHELD_SENTINELS
from transforms.schemas import DATASET_SCHEMAS, SEGMENT_DATASETS

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

from gatekeeper_cli import (  # noqa: E402  (tests/pipeline is on sys.path under pytest)
    EXAMPLES,
    ROOT,
    every_output_text,
    gatekeeper,
    published_rows,
    run_args,
    tree_digest,
)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    output = tmp_path_factory.mktemp("published")
    proc = gatekeeper(*run_args(EXAMPLES / "meetings", EXAMPLES / "consent" / "ledger.jsonl", output),
                      check_code=0)
    return output, proc


def _manifest(output: Path) -> dict:
    manifests = sorted(output.glob("runs/*/manifest.json"))
    assert len(manifests) == 1
    return json.loads(manifests[0].read_text())


def test_run_publishes_datasets_by_date_with_their_schemas(published):
    output, _ = published
    for dataset in SEGMENT_DATASETS:
        partitions = sorted(p.name for p in output.glob(f"datasets/{dataset}/run_date=*"))
        assert set(partitions) <= {"run_date=2026-05-20", "run_date=2026-05-21"}, dataset
    assert (output / "datasets/transcript/run_date=2026-05-20").is_dir()
    assert (output / "datasets/transcript/run_date=2026-05-21").is_dir()
    for dataset in ("audit", "dead_letter"):  # per-run records live under the run's date
        assert list(output.glob(f"datasets/{dataset}/run_date=2026-06-01/*.parquet")), dataset
    for dataset, schema in DATASET_SCHEMAS.items():
        for path in output.glob(f"datasets/{dataset}/run_date=*/*.parquet"):
            assert pq.read_schema(path).remove_metadata().equals(schema), dataset
    assert not list(output.glob("_staging/*")) and not list(output.glob("_journal/*"))


def test_manifest_counts_balance_and_match_the_examples(published):
    output, proc = published
    manifest = _manifest(output)
    assert manifest["status"] == "published" and manifest["exit_code"] == 0
    artifacts = manifest["counts"]["artifacts"]
    for kind, row in artifacts.items():
        assert row["ingested"] == row["published"] + row["dropped"] + row["dead_lettered"], kind
    # m-007: 8 declared artifacts, all rejected; m-010: malformed meeting.json (2 files).
    reasons = manifest["counts"]["dead_letter_reasons"]
    for reason in ("binary_garbage", "empty", "path_escape", "missing_file", "unknown_kind",
                   "zip_bomb", "wrong_format", "malformed_meeting"):
        assert reasons.get(reason, 0) >= 1, reason
    assert sum(reasons.values()) == 10
    drops = manifest["counts"]["artifact_drop_reasons"]
    assert drops.get("no_grant", 0) >= 2            # m-002 (default deny), m-008 transcript-less kinds
    assert drops.get("revoked", 0) == 1              # m-003
    assert drops.get("expired", 0) == 1              # m-009
    assert drops.get("special_category_not_explicit", 0) == 1  # m-004
    assert drops.get("derived_source_partial", 0) == 1         # m-005 summary
    segment_drops = manifest["counts"]["segment_drop_reasons"]
    assert segment_drops.get("direct_message", 0) == 1
    assert segment_drops.get("unknown_speaker", 0) == 1
    assert manifest["counts"]["skip_reasons"].get("undeclared", 0) == 1
    published_total = sum(r["published"] for r in artifacts.values())
    assert published_total >= 10
    assert manifest["validation"]["success"] is True
    assert "PUBLISHED" in proc.stdout and str(output) in proc.stdout


def test_every_published_row_is_redacted_consented_and_pseudonymous(published):
    output, _ = published
    rows = [r for kind in SEGMENT_DATASETS for r in published_rows(output, kind)]
    assert rows
    for row in rows:
        assert row["consent_event_ids"] and row["purpose"] == "ai_training"
        assert not row["residual_findings"]
        if row["speaker"] is not None:
            assert row["speaker"].startswith("<PERSON_") and row["speaker"].endswith(">")
    texts = " ".join(r["text"] for r in rows)
    for sentinel in PUBLISHED_SENTINELS:
        assert sentinel in texts
    kinds = {r["kind"] for r in rows}
    assert {"transcript", "chat", "poll", "whiteboard", "upload", "derived"} <= kinds


def test_no_canary_pii_and_no_withheld_text_in_any_output_file(published):
    output, _ = published
    everything = every_output_text(output)
    planted = [value for values in CANARIES.values() for value in values]
    leaked = [value for value in planted if value in everything]
    assert not leaked, f"{len(leaked)} planted values leaked"
    lowered = everything.lower()
    assert not [s for s in WITHHELD_SENTINELS if s in lowered]


def test_audit_has_a_decision_for_every_artifact_and_no_content(published):
    output, _ = published
    audit = published_rows(output, "audit")
    assert {"decision_id", "reason", "event_ids"} <= set(audit[0])
    artifact_level = {(r["meeting_id"], r["artifact_id"]) for r in audit if r["segment_id"] is None}
    assert ("m-002", "m-002-transcript") in artifact_level
    dead = published_rows(output, "dead_letter")
    assert {r["reason"] for r in dead} >= {"zip_bomb", "path_escape"}


def test_missing_key_ledger_or_input_fail_closed_with_exit_2(tmp_path):
    out = tmp_path / "out"
    ledger = EXAMPLES / "consent" / "ledger.jsonl"
    proc = gatekeeper(*run_args(EXAMPLES / "meetings", ledger, out),
                      env_overrides={"GATEKEEPER_PSEUDONYM_KEY": None}, check_code=2)
    assert proc.stderr.count("\n") == 1 and "key" in proc.stderr
    proc = gatekeeper(*run_args(EXAMPLES / "meetings", tmp_path / "nope.jsonl", out), check_code=2)
    assert proc.stderr.count("\n") == 1
    proc = gatekeeper(*run_args(tmp_path / "no-input", ledger, out), check_code=2)
    assert not (out / "datasets").exists()


def _small_input(tmp_path: Path, meeting_ids=("m-001", "m-005")) -> Path:
    target = tmp_path / "meetings"
    for meeting_id in meeting_ids:
        shutil.copytree(EXAMPLES / "meetings" / meeting_id, target / meeting_id)
    return target


def test_malformed_ledger_publishes_nothing_and_names_the_row(tmp_path):
    lines = (EXAMPLES / "consent" / "ledger.jsonl").read_text().splitlines()
    lines.insert(3, '{"event_id": "broken", "subject_type": "planet", "secret": "Alice Johnson"}')
    ledger = tmp_path / "ledger.jsonl"
    ledger.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    proc = gatekeeper(*run_args(_small_input(tmp_path), ledger, out), check_code=2)
    assert "4" in proc.stderr and "Alice" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert not list(out.glob("datasets/*/run_date=*/*.parquet"))


def test_failing_validation_quarantines_and_leaves_published_data_untouched(tmp_path):
    ledger = EXAMPLES / "consent" / "ledger.jsonl"
    out = tmp_path / "out"
    gatekeeper(*run_args(_small_input(tmp_path), ledger, out), check_code=0)
    before = tree_digest(out)
    # A redaction config that redacts nothing lets PII through: the residual scan must stop it.
    config = tmp_path / "leaky.yaml"
    config.write_text(f"redaction:\n  config_path: {ROOT / 'tests/pipeline/fixtures/redaction-names-only.yaml'}\n")
    proc = gatekeeper(*run_args(out.parent / "meetings", ledger, out, "--config", str(config)), check_code=3)
    assert "validation gate failed" in proc.stderr
    after = tree_digest(out)
    assert {k: v for k, v in after.items() if not k.startswith(("_quarantine/", "index.html"))} == \
           {k: v for k, v in before.items() if k != "index.html"}
    quarantined = list((out / "_quarantine").iterdir())
    assert len(quarantined) == 1
    everything = every_output_text(out / "runs")
    assert "bruno.martins@northwind-example.com" not in everything


def test_logs_are_structured_and_carry_no_planted_pii(tmp_path):
    out = tmp_path / "out"
    proc = gatekeeper("--verbose", "--log-format", "json",
                      *[a for a in run_args(_small_input(tmp_path, ("m-001", "m-006", "m-007")),
                                            EXAMPLES / "consent" / "ledger.jsonl", out) if a != "--quiet"],
                      check_code=0)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert any(json.loads(line).get("event") == "progress" for line in lines)
    assert all(isinstance(json.loads(line), dict) for line in lines)
    logged = proc.stderr + proc.stdout
    planted = [value for values in CANARIES.values() for value in values]
    assert not [value for value in planted if value in logged]
    assert "direct-message-gannet" not in logged


def test_data_docs_of_a_real_run_render_offline(published, browser):
    """Every Data Docs page of the run loads only files of the output folder (Chromium, network blocked)."""
    from expectations.model import ValidationReport
    from tests.expectations.test_data_docs_offline import check_data_docs_offline

    output, _ = published
    run_dir = next(output.glob("runs/*"))
    report = ValidationReport.from_dict(json.loads((run_dir / "validation.json").read_text()))
    check_data_docs_offline(browser, run_dir / "data_docs", report)
