"""pipeline.options: the key source must reach the workers; the Dataflow job id reaches stderr."""
from __future__ import annotations

import inspect
import logging
import re

import pytest

from pipeline.cli import _parser, configure_logging
from pipeline.config import ConfigError, PseudonymKeySource
from pipeline.options import (DATAFLOW_CLIENT_LOGGER, build_run_options, check_key_reaches_workers,
                              log_dataflow_job_ids, workers_share_the_driver_environment)

ENV_KEY = PseudonymKeySource("env", "GATEKEEPER_PSEUDONYM_KEY")
# airflow/providers/google/cloud/hooks/dataflow.py (apache-airflow-providers-google 19.0.0),
# read by the Beam operator on every line of the driver's stdout and stderr
PROVIDER_JOB_ID_PATTERN = re.compile(
    r"Submitted job: (?P<job_id_java>[^\"\n\s]*)|Created job with id: \[(?P<job_id_python>[^\"\n\s]*)\]")


@pytest.mark.parametrize("beam_args, shared", [
    ([], True),
    (["--runner=DirectRunner", "--direct_running_mode=multi_processing", "--direct_num_workers=2"], True),
    (["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=LOOPBACK"], True),
    (["--runner=DataflowRunner", "--project=p"], False),
    (["--runner=PortableRunner", "--job_endpoint=embed", "--environment_type=EXTERNAL",
      "--environment_config=localhost:50000"], False),
    (["--environment_type=DOCKER"], False),
    (["--runner=FlinkRunner"], False),
    (["--runner=FlinkRunner", "--environment_type=loopback"], True),
])
def test_workers_share_the_driver_environment_only_in_or_under_this_process(beam_args, shared):
    assert workers_share_the_driver_environment(beam_args) is shared


def test_an_environment_key_is_refused_where_workers_run_elsewhere():
    with pytest.raises(ConfigError, match="--pseudonym-key-secret") as caught:
        check_key_reaches_workers(ENV_KEY, ["--runner=DataflowRunner"])
    assert "GATEKEEPER_PSEUDONYM_KEY" in str(caught.value)
    check_key_reaches_workers(ENV_KEY, [])
    for source in (PseudonymKeySource("file", "/run/secrets/key"),
                   PseudonymKeySource("gcp_secret", "projects/p/secrets/k/versions/3")):
        check_key_reaches_workers(source, ["--runner=DataflowRunner"])


def test_a_dataflow_run_without_a_worker_readable_key_fails_before_any_work(monkeypatch, tmp_path):
    monkeypatch.setenv("GATEKEEPER_PSEUDONYM_KEY", "options-test-NOT-A-SECRET-0123456789")
    args, extra = _parser().parse_known_args([
        "run", "--input", str(tmp_path), "--consent", str(tmp_path / "l.jsonl"), "--output", str(tmp_path / "o"),
        "--runner=DataflowRunner", "--project=p", "--region=us-central1", "--temp_location=gs://b/tmp"])
    with pytest.raises(ConfigError):
        build_run_options(args, extra)
    key_file = tmp_path / "key"
    key_file.write_text("options-test-NOT-A-SECRET-0123456789")
    args, extra = _parser().parse_known_args([
        "run", "--input", str(tmp_path), "--consent", str(tmp_path / "l.jsonl"), "--output", str(tmp_path / "o"),
        "--pseudonym-key-file", str(key_file), "--submit-only", "--runner=DataflowRunner"])
    options = build_run_options(args, extra)
    assert options.pseudonym_key == PseudonymKeySource("file", str(key_file)) and options.submit_only


@pytest.fixture
def restored_logging():
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    client = logging.getLogger(DATAFLOW_CLIENT_LOGGER)
    client_saved = (client.level, list(client.filters))
    yield
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])
    client.setLevel(client_saved[0])
    client.filters[:] = client_saved[1]


def test_the_dataflow_job_id_line_reaches_stderr_and_nothing_else_of_the_client(restored_logging, capsys):
    from apache_beam.runners.dataflow.internal import apiclient

    # the exact lines Beam logs when the job is created (read from Beam's source, so a change
    # in Beam fails here rather than in production)
    source = inspect.getsource(apiclient.DataflowApplicationClient.submit_job_description)
    assert "'Created job with id: [%s]'" in source and apiclient._LOGGER.name == DATAFLOW_CLIENT_LOGGER
    configure_logging(verbose=False)                       # the CLI's default: WARNING, Beam at ERROR
    client = logging.getLogger(DATAFLOW_CLIENT_LOGGER)
    client.info("Created job with id: [%s]", "before")
    assert "before" not in capsys.readouterr().err         # what the provider saw before: nothing

    assert log_dataflow_job_ids(["--runner=DataflowRunner", "--project=p"]) is True
    client.info("Create job: %s", "<the whole Job proto, with every pipeline option>")
    client.info("Created job with id: [%s]", "2026-06-02_02_30_07-123")
    client.warning("some other warning of the client")
    err = capsys.readouterr().err
    match = PROVIDER_JOB_ID_PATTERN.search(err)
    assert match and match.group("job_id_python") == "2026-06-02_02_30_07-123"
    assert "whole Job proto" not in err and "other warning" not in err


def test_local_runs_leave_beam_quiet(restored_logging):
    configure_logging(verbose=False)
    assert log_dataflow_job_ids([]) is False
    assert log_dataflow_job_ids(["--runner=DirectRunner"]) is False
    assert not logging.getLogger(DATAFLOW_CLIENT_LOGGER).isEnabledFor(logging.INFO)
