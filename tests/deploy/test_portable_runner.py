"""The real run through Beam's portable Fn API paths gives the same published rows.

The same two example meetings are run through ``execute_run``: in-process
(the default local runner), FnApiRunner with separate SDK worker processes
(``--direct_running_mode=multi_processing``: every element, DoFn and side input crosses a
process boundary, as on a cluster) and the PortableRunner against an embedded job server
(``--job_endpoint=embed``, LOOPBACK workers: the Runner API proto → job service → Fn API
path remote runners use); and through the CLI with worker processes forked from a pre-warmed
server. Published rows must be identical: same consent decisions, same
redacted text (same pseudonym key), same pseudonyms.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import List, Sequence, Tuple

import pyarrow.parquet as pq
import pytest

from pipeline.cli import _parser
from pipeline.options import build_run_options
from pipeline.run import EXIT_PUBLISHED, execute_run
from tests.pipeline.gatekeeper_cli import gatekeeper, run_args
from transforms.schemas import AUDIT_DATASET, SEGMENT_DATASETS

REPO = Path(__file__).resolve().parents[2]
MEETINGS = ("m-001", "m-005")

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("deploy-portable")]


@pytest.fixture(scope="module")
def tiny_input(tmp_path_factory) -> Tuple[Path, Path]:
    root = tmp_path_factory.mktemp("portable")
    meetings = root / "meetings"
    for meeting in MEETINGS:
        shutil.copytree(REPO / "examples" / "meetings" / meeting, meetings / meeting)
    ledger = root / "ledger.jsonl"
    shutil.copy2(REPO / "examples" / "consent" / "ledger.jsonl", ledger)
    return meetings, ledger


def _run(meetings: Path, ledger: Path, output: Path, beam_args: Sequence[str]) -> int:
    args, extra = _parser().parse_known_args([
        "run", "--input", str(meetings), "--consent", str(ledger), "--output", str(output),
        "--as-of", "2026-06-01T00:00:00Z", "--quiet", *beam_args])
    return execute_run(build_run_options(args, extra))


def _published_rows(output: Path) -> List[Tuple[str, str, str]]:
    rows = []
    for dataset in SEGMENT_DATASETS:
        for part in sorted((output / "datasets" / dataset).glob("run_date=*/*.parquet")):
            table = pq.read_table(part, columns=["segment_id", "speaker", "text"])
            rows.extend(zip(*(table.column(c).to_pylist() for c in ("segment_id", "speaker", "text"))))
    return sorted(rows, key=lambda r: tuple(v or "" for v in r))


def _audit_decisions(output: Path) -> List[Tuple]:
    decisions = []
    for part in sorted((output / "datasets" / AUDIT_DATASET).glob("run_date=*/*.parquet")):
        table = pq.read_table(part)
        keys = [c for c in ("meeting_id", "artifact_id", "segment_id", "allowed", "reason") if c in table.column_names]
        decisions.extend(zip(*(table.column(c).to_pylist() for c in keys)))
    return sorted(decisions, key=repr)


@pytest.fixture(scope="module")
def in_process(tiny_input, tmp_path_factory):
    output = tmp_path_factory.mktemp("out-in-process")
    assert _run(*tiny_input, output, []) == EXIT_PUBLISHED
    rows = _published_rows(output)
    assert rows, "the reference run published nothing: the comparison would be vacuous"
    return rows, _audit_decisions(output)


def test_fn_api_runner_with_worker_processes_publishes_the_same_rows(tiny_input, in_process, tmp_path):
    code = _run(*tiny_input, tmp_path, ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                                        "--direct_num_workers=2"])
    assert code == EXIT_PUBLISHED
    assert _published_rows(tmp_path) == in_process[0]
    assert _audit_decisions(tmp_path) == in_process[1]


def test_cli_forks_its_worker_processes_and_publishes_the_same_rows(tiny_input, in_process, tmp_path):
    # through the CLI, worker processes are forks of a pre-warmed server (pipeline.forked_workers)
    proc = gatekeeper("--verbose", *run_args(*tiny_input, tmp_path, "--direct_running_mode=multi_processing",
                                             "--direct_num_workers=2"),
                      env_overrides={"GATEKEEPER_PSEUDONYM_KEY": os.environ["GATEKEEPER_PSEUDONYM_KEY"]})
    assert proc.returncode == EXIT_PUBLISHED, proc.stderr[-2000:]
    assert "local worker processes are forked from server pid" in proc.stderr
    assert _published_rows(tmp_path) == in_process[0]
    assert _audit_decisions(tmp_path) == in_process[1]
    # the driver's Data Docs are built in a fork too (expectations.data_docs)
    [manifest] = [json.loads(p.read_text()) for p in tmp_path.glob("runs/*/manifest.json")]
    assert (tmp_path / manifest["validation"]["data_docs"]).is_file()


def test_portable_runner_with_embedded_job_server_publishes_the_same_rows(tiny_input, in_process, tmp_path):
    code = _run(*tiny_input, tmp_path, ["--runner=PortableRunner", "--job_endpoint=embed",
                                        "--environment_type=LOOPBACK"])
    assert code == EXIT_PUBLISHED
    assert _published_rows(tmp_path) == in_process[0]
    assert _audit_decisions(tmp_path) == in_process[1]
