"""A run whose job runs elsewhere (template / Flex launch) stops at submission; finalize publishes it."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from examples.generate import AS_OF
from pipeline import run as run_module
from pipeline.cli import _parser
from pipeline.options import build_run_options
from pipeline.publish import launched_runs, list_files, live_files, read_text, recover_interrupted_publishes

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]

from storage_emulator import BUCKET, storage_emulator  # noqa: E402  (tests/pipeline is on sys.path)


@pytest.fixture(params=["local", "gs"])
def output(request, tmp_path):
    if request.param == "local":
        yield str(tmp_path / "out")
        return
    with storage_emulator():
        yield f"gs://{BUCKET}/finalize/out"


def test_submitted_run_waits_for_finalize_then_publishes(tmp_path, monkeypatch, output):
    meetings = tmp_path / "meetings"
    shutil.copytree(ROOT / "examples" / "meetings" / "m-001", meetings / "m-001")
    args, extra = _parser().parse_known_args([
        "run", "--input", str(meetings), "--consent", str(ROOT / "examples" / "consent" / "ledger.jsonl"),
        "--output", output, "--as-of", AS_OF, "--quiet"])
    options = build_run_options(args, extra)
    # The local runner finishes the job inside run(); pretend it was only submitted, as a
    # template or Flex launch is: the driver must not validate or publish yet.
    monkeypatch.setattr(run_module, "_submitted_only", lambda result, pipeline_options: True)
    assert run_module.execute_run(options) == 0
    assert not list_files(f"{output}/datasets/**") and not list_files(f"{output}/runs/**")
    assert launched_runs(output) == [options.run_id]
    launch = json.loads(read_text(list_files(f"{output}/_staging/*/runs/*/_launch.json")[0].path))
    assert launch["options"]["run_id"] == options.run_id
    assert launch["options"]["key_source"] == {"kind": "env", "ref": "GATEKEEPER_PSEUDONYM_KEY"}  # a reference
    assert "test-only-NOT-A-SECRET" not in json.dumps(launch)

    recover_interrupted_publishes(output)                         # a submitted run is not stale
    assert launched_runs(output) == [options.run_id]

    results = run_module.finalize_runs(output)
    assert results == [(options.run_id, 0)]
    manifest = json.loads(read_text(f"{output}/runs/{options.run_id}/manifest.json"))
    assert manifest["status"] == "published"
    assert list_files(f"{output}/datasets/transcript/run_date=2026-05-20/*.parquet")
    assert [r for r in live_files(output) if r.startswith("datasets/transcript/run_date=2026-05-20/")]
    assert not list_files(f"{output}/_staging/**") and launched_runs(output) == []
    assert run_module.finalize_runs(output) == []
