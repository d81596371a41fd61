"""Issue 16 (items 1, 2, 4, 5): one `gatekeeper run` on an input folder holding every hostile or
careless case at once publishes every good meeting, dead-letters each bad one with its own
reason, exits 0, and never opens a file outside INPUT (inotify watches the planted canaries).
"""
from __future__ import annotations

import json
from collections import Counter

import pytest

from gatekeeper_cli import every_output_text, gatekeeper, published_rows, run_args  # noqa: E402
from hostile_input import OpenWatch, build_hostile_input  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    case = build_hostile_input(tmp)
    watch = OpenWatch(case.outside_files)
    proc = gatekeeper(*run_args(case.input_dir, case.ledger, tmp / "out"))
    opened = watch.opened() if watch.available else None
    watch.close()
    return case, tmp / "out", proc, opened


def test_the_night_is_published(hostile_run):
    _, out, proc, _ = hostile_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    (manifest,) = [json.loads(p.read_text()) for p in out.glob("runs/*/manifest.json")]
    assert manifest["status"] == "published" and manifest["validation"]["critical_failures"] == 0


def test_no_file_outside_input_is_opened(hostile_run):
    case, out, _, opened = hostile_run
    if opened is None:
        pytest.skip("inotify is not available here")
    assert opened == 0, "a file outside INPUT was opened"


def test_every_good_meeting_publishes(hostile_run):
    case, out, _, _ = hostile_run
    rows = published_rows(out, "transcript")
    texts = {}
    for row in rows:
        texts.setdefault(row["meeting_id"], []).append(row["text"])
    for meeting_id, sentinel in case.published.items():
        assert any(sentinel in text for text in texts.get(meeting_id, [])), meeting_id
    assert set(texts) == set(case.published)
    # two meetings naming their artifact "transcript": both published, ids unique by construction
    ids = [row["segment_id"] for row in rows]
    assert len(ids) == len(set(ids))
    assert {row["segment_id"].split(":")[0] for row in rows if row["artifact_id"] == "transcript"} >= {
        "m-301/transcript", "m-302/transcript", "m-101/transcript", "m-501/transcript"}


def test_the_real_m001_is_not_taken_down_by_a_folder_claiming_its_id(hostile_run):
    _, out, _, _ = hostile_run
    audit = [r for r in published_rows(out, "audit") if r["meeting_id"] == "m-001" and r["segment_id"] is None]
    assert audit and any(r["allowed"] for r in audit)
    assert "no_grant" not in {r["reason"] for r in audit}


def test_each_bad_case_is_dead_lettered_with_its_own_reason(hostile_run):
    case, out, _, _ = hostile_run
    counts = Counter(row["reason"] for row in published_rows(out, "dead_letter"))
    for reason, at_least in case.dead_letter_reasons.items():
        assert counts[reason] >= at_least, (reason, counts)
    assert counts["internal_error"] == 0


def test_nothing_from_outside_input_nor_any_unsafe_id_reaches_an_output(hostile_run):
    case, out, proc, _ = hostile_run
    text = every_output_text(out) + proc.stdout + proc.stderr
    for needle in case.forbidden:
        assert needle not in text, needle


def test_accounting_still_balances(hostile_run):
    _, out, _, _ = hostile_run
    (manifest,) = [json.loads(p.read_text()) for p in out.glob("runs/*/manifest.json")]
    for kind, row in manifest["counts"]["artifacts"].items():
        assert row["ingested"] == row["published"] + row["dropped"] + row["dead_lettered"], kind
    files = manifest["counts"]["files"]
    assert files["parsed"] + files["dead_lettered"] + files["skipped"] >= manifest["input"]["files_matched"]
