"""What a Dataflow worker gets: every function of the translated job, set up in a clean process.

The job is built the way production builds it: the Flex Template launcher's own ``main`` turns
the template parameters into the ``gatekeeper run`` command line (captured here), the CLI's
option parsing resolves the key source (with an offline Secret Manager), and the
DataflowRunner translates the job (``--dry_run``, network blocked). Then every DoFn and
CombineFn is taken out of the job graph exactly as serialized and its ``setup()`` runs in a
fresh interpreter whose environment holds only PATH, HOME and PYTHONPATH (the code, as the
worker image has it) -- nothing of the driver's, as on a Dataflow worker -- with the same
offline Secret Manager. A control shows that a job carrying an environment-variable key
source fails there, which local runs (whose workers inherit the driver's environment) never show.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from pipeline.config import PseudonymKeySource
from pipeline.graph import find_in_payloads, translate_for_dataflow
from tests.deploy.conftest import DATAFLOW_FLAGS, FAKE_KEY, KEY_ENV, block_network, gcs_run_options
from tests.deploy.fakes.gcp_fakes import fake_secret_manager_client, secret_accesses
from tests.deploy.test_flex_template_metadata import launcher

REPO = Path(__file__).resolve().parents[2]
FAKES = REPO / "tests" / "deploy" / "fakes"
KEY_VERSION = "projects/offline-proj/secrets/gatekeeper-pseudonym-key/versions/3"
TEMPLATE_PARAMETERS = ["--input=gs://offline-bucket/meetings", "--consent=gs://offline-bucket/consent/ledger.jsonl",
                       "--output=gs://offline-bucket/gatekeeper-out", "--run_date=2026-06-01",
                       "--as_of=2026-06-02T02:30:00Z", f"--pseudonym_key_secret={KEY_VERSION}"]
PARDO_URN = "beam:transform:pardo:v1"
COMBINE_URNS = ("beam:transform:combine_per_key:v1", "beam:transform:combine_globally:v1",
                "beam:transform:combine_grouped_values:v1")
PICKLED_PYTHON = "beam:dofn:pickled_python_info:v1"
WORKER_ENVIRONMENT = {"PATH", "HOME", "PYTHONPATH"}
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("deploy-dataflow-workers")]


@pytest.fixture(scope="module")
def secrets_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secrets") / "secrets.json"
    path.write_text(json.dumps({KEY_VERSION: FAKE_KEY.decode()}))
    return path


def _serialized_functions(pipeline_proto) -> List[Dict[str, str]]:
    """Every pickled Python DoFn and CombineFn of the job, as the job graph carries it."""
    from apache_beam.portability.api import beam_runner_api_pb2

    functions = []
    for transform in pipeline_proto.components.transforms.values():
        if transform.spec.urn == PARDO_URN:
            spec = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload).do_fn
            kind = "dofn"
        elif transform.spec.urn in COMBINE_URNS:
            spec = beam_runner_api_pb2.CombinePayload.FromString(transform.spec.payload).combine_fn
            kind = "combinefn"
        else:
            continue
        if spec.urn == PICKLED_PYTHON:
            functions.append({"name": transform.unique_name, "kind": kind,
                              "payload": base64.b64encode(spec.payload).decode()})
    return functions


def _set_up_on_a_clean_worker(functions, secrets_file: Path, workdir: Path) -> Dict:
    payloads, report = workdir / "functions.json", workdir / "report.json"
    payloads.write_text(json.dumps(functions))
    env = {"PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
           "HOME": str(workdir), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, str(FAKES / "run_dofn_setups.py"), str(payloads), str(secrets_file),
                           str(report)], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(report.read_text())


def _launched_job(monkeypatch, secrets_file: Path):
    """The job the Flex Template launcher submits for TEMPLATE_PARAMETERS (translated, not sent)."""
    from google.cloud import secretmanager

    from pipeline.cli import _parser
    from pipeline.options import build_run_options

    monkeypatch.setattr(secretmanager, "SecretManagerServiceClient", fake_secret_manager_client(str(secrets_file)))
    monkeypatch.delenv("GATEKEEPER_PSEUDONYM_KEY", raising=False)
    calls = []
    monkeypatch.setattr("pipeline.cli.main", lambda argv: calls.append(list(argv)) or 0)
    assert launcher.main([*TEMPLATE_PARAMETERS, "--runner=DataflowRunner", *DATAFLOW_FLAGS]) == 0
    (cli_argv,) = calls
    args, beam_args = _parser().parse_known_args(cli_argv)
    options = build_run_options(args, beam_args)
    block_network(monkeypatch)
    return options, translate_for_dataflow(options, [a for a in beam_args if a != "--runner=DataflowRunner"])


def test_every_function_of_the_launched_job_sets_up_on_a_clean_worker(monkeypatch, secrets_file, tmp_path):
    options, graph = _launched_job(monkeypatch, secrets_file)
    assert options.pseudonym_key == PseudonymKeySource("gcp_secret", KEY_VERSION)
    functions = _serialized_functions(graph.pipeline_proto)
    names = [f["name"] for f in functions]
    assert any(n.startswith("RedactPii/Redact") for n in names), "the redaction DoFn must be among them"
    assert len(functions) >= 20
    # the key source travels (in the redaction DoFn); the key never does (payloads decoded)
    assert any(n.startswith("RedactPii/Redact") for n in find_in_payloads(graph.pipeline_proto, KEY_VERSION.encode()))
    assert find_in_payloads(graph.pipeline_proto, FAKE_KEY) == []

    before = len(secret_accesses(secrets_file))
    report = _set_up_on_a_clean_worker(functions, secrets_file, tmp_path)
    assert set(report["environment"]) - {"LC_CTYPE"} <= WORKER_ENVIRONMENT
    failed = {name: result for name, result in report["results"].items() if result != "ok"}
    assert failed == {}
    assert set(report["results"]) == set(names)
    # the worker itself read the pinned version from Secret Manager
    worker_reads = [name for pid, name in secret_accesses(secrets_file)[before:] if int(pid) == report["pid"]]
    assert worker_reads and set(worker_reads) == {KEY_VERSION}


def test_control_a_job_carrying_an_environment_key_fails_on_a_clean_worker(monkeypatch, secrets_file, tmp_path):
    """Bug 1 as a worker sees it: the key source of kind env resolves on the driver only."""
    monkeypatch.setenv(KEY_ENV, FAKE_KEY.decode())
    with monkeypatch.context() as patch:
        block_network(patch)
        graph = translate_for_dataflow(gcs_run_options(), DATAFLOW_FLAGS)    # env key source
    redaction = [f for f in _serialized_functions(graph.pipeline_proto) if f["name"].startswith("RedactPii/Redact")]
    assert redaction
    report = _set_up_on_a_clean_worker(redaction, secrets_file, tmp_path)
    assert report["results"] and all(r.startswith("ConfigError: no pseudonymization key")
                                     for r in report["results"].values()), report["results"]
