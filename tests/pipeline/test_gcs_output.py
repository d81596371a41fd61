"""`gatekeeper run --output gs://...` end to end, against a Cloud Storage emulator.

The CLI runs in subprocesses (as in production); the emulator serves them from this process.
Covers: publish by manifest commit, the reader's file list (`gatekeeper files`), a re-run
(reading its input and ledger from gs:// too) replacing its dates, a run SIGKILLed between
copying and committing, and canary PII.
"""
from __future__ import annotations

import json
import signal
import time

import pyarrow.parquet as pq
import pytest
from apache_beam.io.filesystems import FileSystems

from examples.generate import CANARIES
from pipeline.publish import ORPHAN_GRACE_S, collect_garbage, list_files, live_files, relative_to
from transforms.schemas import SEGMENT_DATASETS

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("gcs")]

from gatekeeper_cli import EXAMPLES, every_output_text, gatekeeper  # noqa: E402
from storage_emulator import BUCKET, download_tree, storage_emulator, upload  # noqa: E402

OUTPUT = f"gs://{BUCKET}/nightly"


LOCAL_INPUTS = (EXAMPLES / "meetings", EXAMPLES / "consent" / "ledger.jsonl")


def _run(env, *extra, check_code=0, crash_at=None, inputs=LOCAL_INPUTS):
    overrides = dict(env, GATEKEEPER_CRASH_AT=crash_at)
    return gatekeeper("run", "--input", str(inputs[0]), "--consent", str(inputs[1]), "--output", OUTPUT,
                      "--as-of", "2026-06-01T00:00:00Z", "--quiet", *extra,
                      env_overrides=overrides, check_code=check_code)


def _listed(env, *extra):
    proc = gatekeeper("files", "--output", OUTPUT, *extra, env_overrides=env, check_code=0)
    return [line for line in proc.stdout.splitlines() if line]


def _segment_ids(paths):
    ids = []
    for path in paths:
        if any(f"/datasets/{kind}/" in path for kind in SEGMENT_DATASETS):
            with FileSystems.open(path) as handle:
                ids.extend(pq.read_table(handle, columns=["segment_id"]).column("segment_id").to_pylist())
    return ids


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """First run; a second one killed after copying, before committing; a third that completes."""
    with storage_emulator() as env:
        first = _run(env)
        first_files = _listed(env)
        first_ids = _segment_ids(first_files)      # read now: the third run supersedes these files
        killed = _run(env, check_code=-signal.SIGKILL, crash_at="publish:copied")
        after_kill = _listed(env)
        objects_after_kill = [m.path for m in list_files(f"{OUTPUT}/datasets/**")]
        # The third run reads its meetings and ledger from the bucket too.
        inputs = (upload(EXAMPLES / "meetings", f"gs://{BUCKET}/input"),
                  upload(EXAMPLES / "consent" / "ledger.jsonl", f"gs://{BUCKET}/consent/ledger.jsonl"))
        third = _run(env, inputs=inputs)
        yield {"env": env, "first": first, "first_files": first_files, "first_ids": first_ids, "killed": killed,
               "after_kill": after_kill, "objects_after_kill": objects_after_kill, "third": third,
               "third_files": _listed(env), "transcripts": _listed(env, "--dataset", "transcript"),
               "tree": download_tree(OUTPUT, tmp_path_factory.mktemp("gcs-tree"))}


def test_a_run_publishes_to_gs_and_lists_its_files(runs):
    assert "PUBLISHED" in runs["first"].stdout and OUTPUT in runs["first"].stdout
    files = runs["first_files"]
    assert files and all(f.startswith(f"{OUTPUT}/datasets/") and f.endswith(".parquet") for f in files)
    assert {f.split("/datasets/")[1].split("/")[0] for f in files} >= {"transcript", "chat", "audit"}
    manifests = [m.path for m in list_files(f"{OUTPUT}/runs/*/manifest.json")]
    assert len(manifests) == 2                       # the first and the third run; not the killed one
    for path in manifests:
        manifest = json.loads(FileSystems.open(path).read())
        assert manifest["status"] == "published" and manifest["validation"]["success"] is True
        for kind, row in manifest["counts"]["artifacts"].items():
            assert row["ingested"] == row["published"] + row["dropped"] + row["dead_lettered"], kind
    assert list_files(f"{OUTPUT}/index.html")
    # The killed run got as far as copying its report, not its manifest: it is not a published run.
    assert len(list_files(f"{OUTPUT}/runs/*/report.html")) == 3
    # Only the killed run's staging is left (collected after REMOTE_STAGING_GRACE_S).
    staged_runs = {relative_to(f"{OUTPUT}/_staging", m.path).split("/")[0]
                   for m in list_files(f"{OUTPUT}/_staging/**")}
    assert len(staged_runs) <= 1


def test_a_run_killed_before_its_commit_changes_nothing_readers_see(runs):
    assert runs["after_kill"] == runs["first_files"]
    # Its copies are there, unreferenced ...
    assert len(runs["objects_after_kill"]) > len(runs["first_files"])


def test_a_rerun_replaces_its_dates_without_duplicates(runs):
    first_ids = runs["first_ids"]
    third_ids = _segment_ids(runs["third_files"])
    assert third_ids and len(third_ids) == len(set(third_ids))
    assert sorted(third_ids) == sorted(first_ids)      # same input (local, then on gs://), same rows, once
    segment_files = [f for f in runs["third_files"] if "/datasets/audit/" not in f]
    assert not set(segment_files) & set(runs["first_files"])   # replaced by the third run's files
    assert runs["transcripts"] and all("/datasets/transcript/" in f for f in runs["transcripts"])
    # The audit accumulates: both published runs' decisions are kept.
    audit = [f for f in runs["third_files"] if "/datasets/audit/" in f]
    assert len({f.rsplit("/part-", 1)[1].rsplit("-", 2)[0] for f in audit}) == 2


def test_orphans_of_the_killed_run_are_collected_once_old(runs):
    live = set(live_files(OUTPUT))
    objects = {relative_to(OUTPUT, m.path) for m in list_files(f"{OUTPUT}/datasets/**")}
    orphans = objects - live
    assert orphans and live == {relative_to(OUTPUT, f) for f in runs["third_files"]}
    assert collect_garbage(OUTPUT) == []               # young: its run might still be publishing
    removed = collect_garbage(OUTPUT, now=time.time() + ORPHAN_GRACE_S + 60)
    assert {relative_to(OUTPUT, path) for path in removed if "/datasets/" in path} == orphans
    assert {relative_to(OUTPUT, m.path) for m in list_files(f"{OUTPUT}/datasets/**")} == live
    # ... with the run folder it copied before it was killed.
    assert len(list_files(f"{OUTPUT}/runs/*/report.html")) == 2
    assert len(list_files(f"{OUTPUT}/runs/*/manifest.json")) == 2


def test_no_planted_pii_in_any_object(runs):
    everything = every_output_text(runs["tree"])
    planted = [value for values in CANARIES.values() for value in values]
    assert not [value for value in planted if value in everything]
