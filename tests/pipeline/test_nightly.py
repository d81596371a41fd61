"""Nightly operation: date selection, --since, revocation + purge, and killed runs."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from examples.generate import BRUNO
from gatekeeper_cli import (  # noqa: E402  (tests/pipeline is on sys.path under pytest)
    EXAMPLES,
    KEY,
    ROOT,
    every_output_text,
    gatekeeper,
    published_rows,
    run_args,
    tree_digest,
)
from pipeline.integrity import verify_output
from transforms.schemas import SEGMENT_DATASETS

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("nightly")]

LEDGER = EXAMPLES / "consent" / "ledger.jsonl"
OLD_MTIME = 1_746_057_600  # 2025-05-01: older than any watermark these tests use


def copy_examples(tmp_path: Path, meeting_ids=None) -> Path:
    target = tmp_path / "meetings"
    for folder in sorted((EXAMPLES / "meetings").iterdir()):
        if meeting_ids is None or folder.name in meeting_ids:
            shutil.copytree(folder, target / folder.name)
    for path in target.rglob("*"):
        os.utime(path, (OLD_MTIME, OLD_MTIME))
    return target


def latest_manifest(output: Path) -> dict:
    manifests = [json.loads(p.read_text()) for p in output.glob("runs/*/manifest.json")]
    return max(manifests, key=lambda m: m["started_at"])


def segment_texts(output: Path) -> str:
    return " ".join(r["text"] for kind in SEGMENT_DATASETS for r in published_rows(output, kind))


def test_backfill_and_since_select_only_changed_dates(tmp_path):
    meetings = copy_examples(tmp_path, {"m-001", "m-003", "m-009", "m-011"})
    out = tmp_path / "out"
    gatekeeper(*run_args(meetings, LEDGER, out, "--backfill", "2026-05-21", "2026-05-21"), check_code=0)
    first = latest_manifest(out)
    assert first["selection"]["processed_dates"] == ["2026-05-21"]
    assert first["counts"]["skip_reasons"].get("not_selected", 0) > 0
    assert not (out / "datasets/transcript/run_date=2026-05-20").exists()
    assert (out / "datasets/transcript/run_date=2026-05-21").exists()

    # Nothing changed on disk or in the ledger since 2026-05-26: nothing is processed.
    gatekeeper(*run_args(meetings, LEDGER, out, "--since", "2026-05-26T00:00:00Z"), check_code=0)
    assert latest_manifest(out)["selection"]["processed_dates"] == []
    # The account revoked m-003 on 2026-05-25: that consent change selects m-003's date only.
    gatekeeper(*run_args(meetings, LEDGER, out, "--since", "2026-05-24T00:00:00Z"), check_code=0)
    assert latest_manifest(out)["selection"]["processed_dates"] == ["2026-05-20"]
    # A file touched after the last run's watermark selects its date.
    before = tree_digest(out / "datasets" / "transcript" / "run_date=2026-05-20")
    (meetings / "m-011" / "transcript.vtt").touch()
    gatekeeper(*run_args(meetings, LEDGER, out, "--since", "last-success"), check_code=0)
    assert latest_manifest(out)["selection"]["processed_dates"] == ["2026-05-21"]
    assert tree_digest(out / "datasets" / "transcript" / "run_date=2026-05-20") == before


def test_withdrawal_after_publication_is_tombstoned_and_gone_after_purge(tmp_path):
    meetings = copy_examples(tmp_path, {"m-001", "m-006"})
    ledger = tmp_path / "ledger.jsonl"
    shutil.copy(LEDGER, ledger)
    out = tmp_path / "out"
    gatekeeper(*run_args(meetings, ledger, out), check_code=0)
    bruno_line = "can reach me at"   # Bruno's words in m-001 (the rest of the line is PII)
    assert bruno_line in segment_texts(out)

    with ledger.open("a") as handle:
        handle.write(json.dumps({"event_id": "ev-p-bruno-withdraw", "subject_type": "participant",
                                 "subject_id": BRUNO[0], "purpose": "ai_training", "artifact_kinds": ["*"],
                                 "status": "withdrawn", "effective_at": "2026-06-02T00:00:00Z"}) + "\n")
    proc = gatekeeper("run", "--input", str(meetings), "--consent", str(ledger), "--output", str(out),
                      "--as-of", "2026-06-03T00:00:00Z", "--since", "last-success", "--quiet", check_code=0)
    manifest = latest_manifest(out)
    assert manifest["selection"]["processed_dates"] == ["2026-05-20"], proc.stderr
    tombstones = published_rows(out, "tombstone")
    withdrawn = [t for t in tombstones if t["reason"] == "participant_withdrawn"]
    assert {t["meeting_id"] for t in withdrawn} == {"m-001", "m-006"}
    assert all("ev-p-bruno-withdraw" in t["event_ids"] for t in withdrawn)
    # The summary mixed Bruno's words with others' (rule 4), and Bruno owned the uploaded plan.
    assert {t["reason"] for t in tombstones} == {"participant_withdrawn", "derived_source_partial",
                                                  "owner_no_grant"}

    purge = gatekeeper("purge", "--output", str(out), check_code=0)
    assert "purge:" in purge.stdout
    assert bruno_line not in segment_texts(out)
    assert "roadmap-kestrel build is green" in segment_texts(out)   # Alice's words stay
    assert list(out.glob("purges/*.json"))
    # two runs and a purge later, every live file is what the manifests and the purge record say
    verified = verify_output(str(out))
    assert verified.ok and not verified.legacy and verified.checked > 0, [p.line() for p in verified.problems]


def _start(args, env_extra=None) -> subprocess.Popen:
    env = dict(os.environ, GATEKEEPER_PSEUDONYM_KEY=KEY, **(env_extra or {}))
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_sigkill_during_the_pipeline_leaves_published_data_untouched(tmp_path):
    meetings = copy_examples(tmp_path, {"m-001", "m-009"})
    out = tmp_path / "out"
    gatekeeper(*run_args(meetings, LEDGER, out), check_code=0)
    before = tree_digest(out / "datasets")
    proc = _start(run_args(meetings, LEDGER, out))
    deadline = time.monotonic() + 60
    while not list(out.glob("_staging/*/_owner.pid")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3.0)   # well inside the pipeline: models loading, bundles running
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert tree_digest(out / "datasets") == before
    assert list(out.glob("_staging/*"))          # the dead run's staging is still there...
    gatekeeper(*run_args(meetings, LEDGER, out), check_code=0)
    assert not list(out.glob("_staging/*"))      # ...and the next run cleans it up
    assert len(list(out.glob("runs/*/manifest.json"))) == 2


def test_sigkill_during_publish_is_rolled_forward_by_the_next_run(tmp_path):
    crash_at = "publish:move"   # after the first rename: the published tree is half old, half new
    meetings = copy_examples(tmp_path, {"m-001", "m-009"})
    out = tmp_path / "out"
    gatekeeper(*run_args(meetings, LEDGER, out), check_code=0)
    proc = _start(run_args(meetings, LEDGER, out), {"GATEKEEPER_CRASH_AT": crash_at})
    assert proc.wait(timeout=300) == -signal.SIGKILL
    assert list(out.glob("_journal/*.json"))
    gatekeeper(*run_args(meetings, LEDGER, out), check_code=0)
    assert not list(out.glob("_journal/*.json")) and not list(out.glob("_trash/*"))
    manifests = [json.loads(p.read_text()) for p in out.glob("runs/*/manifest.json")]
    assert len(manifests) == 3 and all(m["status"] == "published" for m in manifests)
    # Every date partition holds the files of exactly one run: no mix of old and new.
    for partition in out.glob("datasets/*/run_date=2026-05-2*"):
        runs = {f.name.split("-0000")[0] for f in partition.glob("*.parquet")}
        assert len(runs) == 1, partition
    latest = max(manifests, key=lambda m: m["started_at"])["run_id"]
    assert all(latest in f.name for f in out.glob("datasets/transcript/run_date=*/*.parquet"))
    assert not [v for v in ("bruno.martins@northwind-example.com",) if v in every_output_text(out)]
    assert verify_output(str(out)).ok                 # the rolled-forward run's files are as committed


def test_two_runs_started_at_once_both_publish_without_losing_work(tmp_path):
    meetings = copy_examples(tmp_path, {"m-001", "m-009"})
    out = tmp_path / "out"
    first = _start(run_args(meetings, LEDGER, out, "--run-date", "2026-05-20"))
    second = _start(run_args(meetings, LEDGER, out, "--run-date", "2026-05-21"))
    assert first.wait(timeout=300) == 0 and second.wait(timeout=300) == 0
    manifests = [json.loads(p.read_text()) for p in out.glob("runs/*/manifest.json")]
    assert sorted(m["selection"]["processed_dates"][0] for m in manifests) == ["2026-05-20", "2026-05-21"]
    assert (out / "datasets/transcript/run_date=2026-05-20").is_dir()   # m-001
    # m-009's consent expired: nothing of 2026-05-21 is published, but both audits are.
    assert list(out.glob("datasets/audit/run_date=2026-05-20/*.parquet"))
    assert list(out.glob("datasets/audit/run_date=2026-05-21/*.parquet"))
    assert not list(out.glob("_staging/*")) and not list(out.glob("_journal/*"))
    assert not (out / "_publish.lock").exists()
    verified = verify_output(str(out))
    assert verified.ok and verified.checked > 0, [p.line() for p in verified.problems]
