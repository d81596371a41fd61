"""The DAGs under real Airflow 3 with the real Google and Beam providers (``make test-airflow``).

Runs in the Airflow venv (``.venv-airflow``, deploy/airflow/requirements.txt), where the
pipeline is NOT installed: the DAG runs the pipeline with its own interpreter
(``GATEKEEPER_PYTHON``, the project venv), as on a production Airflow worker. Skipped where
Airflow is not importable (the project venv); ``make test`` runs it through ``test-airflow``.

* ``DagBag`` import, timetables, wiring;
* ``airflow tasks render`` of the production configuration for the 02:30 run of June 2: the
  run date is June 1, the project id is rendered, the key travels as a secret version;
* ``airflow dags test`` of ``gatekeeper_nightly`` against the local examples with the local
  runner (meetings moved to June 1 and June 2): the driver submits, ``finalize`` publishes,
  and only June 1 is published;
* the Beam provider's own job-id parsing reads the id of a (faked) Dataflow submission from the
  driver's output, which is what lets it wait for and cancel the job.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict

import pytest

pytest.importorskip("airflow", reason="Airflow lives in its own venv: `make test-airflow`")
pytest.importorskip("airflow.providers.google.cloud.operators.dataflow")
pytest.importorskip("airflow.providers.apache.beam.operators.beam")

REPO = Path(__file__).resolve().parents[2]
DAG_FOLDER = REPO / "deploy" / "airflow"
DAG_FILE = DAG_FOLDER / "gatekeeper_nightly_dag.py"
LAUNCHER = REPO / "deploy" / "flex_template_launcher.py"
FAKES = REPO / "tests" / "deploy" / "fakes"
AIRFLOW = Path(sys.executable).with_name("airflow")
KEY_VERSION = "projects/offline-proj/secrets/gatekeeper-pseudonym-key/versions/3"
FAKE_KEY = "airflow-test-only-NOT-A-SECRET-5e1f0c"
NIGHT = "2026-06-02T02:30:00+00:00"          # the 02:30 run of June 2 …
DAY_BEFORE = "2026-06-01"                    # … processes June 1
EXAMPLE_DAY_SHIFT = {"2026-05-20": "2026-06-01", "2026-05-21": "2026-06-02"}


def _gatekeeper_python() -> str:
    python = os.environ.get("GATEKEEPER_PYTHON", "")
    if not python or not os.access(python, os.X_OK):
        pytest.fail("set GATEKEEPER_PYTHON to the pipeline venv's python (make test-airflow does)")
    return python


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    home = Path(os.environ.get("GATEKEEPER_AIRFLOW_HOME") or tmp_path_factory.mktemp("airflow-home"))
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True, timeout=600)
    return home


@pytest.fixture(scope="module")
def bucket(tmp_path_factory) -> Path:
    """The examples as a local "bucket": meetings of 2026-05-20/21 moved to June 1/2."""
    root = tmp_path_factory.mktemp("bucket")
    shutil.copytree(REPO / "examples" / "meetings", root / "meetings")
    moved = {}
    for meeting_file in sorted((root / "meetings").glob("*/meeting.json")):
        try:
            meeting = json.loads(meeting_file.read_text())
        except ValueError:
            continue                      # the examples' deliberately malformed meetings
        day = meeting["started_at"][:10]
        meeting["started_at"] = EXAMPLE_DAY_SHIFT[day] + meeting["started_at"][10:]
        meeting_file.write_text(json.dumps(meeting, indent=2))
        moved[meeting["meeting_id"]] = EXAMPLE_DAY_SHIFT[day]
    assert set(moved.values()) == {DAY_BEFORE, "2026-06-02"}, "both days must have meetings"
    (root / "consent").mkdir()
    shutil.copy2(REPO / "examples" / "consent" / "ledger.jsonl", root / "consent" / "ledger-0001.jsonl")
    (root / "secrets.json").write_text(json.dumps({KEY_VERSION: FAKE_KEY}))
    (root / "moved.json").write_text(json.dumps(moved))
    return root


def _airflow_env(home: Path, bucket: Path, **variables: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_VAR_", "GATEKEEPER_PSEUDONYM"))}
    values = {
        "gatekeeper_project": "offline-proj", "gatekeeper_region": "us-central1",
        "gatekeeper_bucket": str(bucket), "gatekeeper_template": f"{bucket}/templates/gatekeeper.json",
        "gatekeeper_image": "us-central1-docker.pkg.dev/offline-proj/gatekeeper/gatekeeper:test",
        "gatekeeper_key_secret": KEY_VERSION, "gatekeeper_launcher_py": str(LAUNCHER),
        "gatekeeper_service_account": "gatekeeper-worker@offline-proj.iam.gserviceaccount.com",
        **variables,
    }
    env.update({f"AIRFLOW_VAR_{name.upper()}": value for name, value in values.items()})
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FOLDER), GATEKEEPER_PYTHON=_gatekeeper_python(),
               # the driver's interpreter gets the offline Secret Manager (tests/deploy/fakes)
               PYTHONPATH=os.pathsep.join([str(FAKES), str(REPO)]),
               GATEKEEPER_FAKE_SECRETS=str(bucket / "secrets.json"))
    return env


# --- the DAG file under Airflow -----------------------------------------------------------

def test_dag_bag_loads_one_scheduled_nightly_dag_and_an_unscheduled_alternative():
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    nightly, flex = bag.dags["gatekeeper_nightly"], bag.dags["gatekeeper_nightly_flex"]
    assert type(nightly.timetable).__name__ == "CronDataIntervalTimetable"
    assert type(flex.timetable).__name__ == "NullTimetable"          # schedule=None
    for dag, first in ((nightly, "run_gatekeeper"), (flex, "launch_flex_template")):
        edges = {(t.task_id, down) for t in dag.tasks for down in t.downstream_task_ids}
        assert edges == {(first, "finalize_run")}
        assert dag.max_active_runs == 1


def test_the_0230_run_of_june_2_has_june_1_as_its_data_interval():
    from airflow.models import DagBag
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import TimeRestriction

    dag = DagBag(dag_folder=str(DAG_FILE)).dags["gatekeeper_nightly"]
    timetable = coerce_to_core_timetable(dag.timetable)          # what the scheduler runs
    start = datetime(2026, 6, 1, tzinfo=timezone.utc)
    info = timetable.next_dagrun_info(last_automated_data_interval=None,
                                          restriction=TimeRestriction(earliest=start, latest=None, catchup=True))
    assert info.run_after == datetime(2026, 6, 2, 2, 30, tzinfo=timezone.utc)
    assert (info.data_interval.start, info.data_interval.end) == (
        datetime(2026, 6, 1, 2, 30, tzinfo=timezone.utc), datetime(2026, 6, 2, 2, 30, tzinfo=timezone.utc))


def _render(home: Path, bucket: Path, task_id: str) -> Dict[str, object]:
    """``airflow tasks render`` for the night's run: {property: rendered value}."""
    proc = subprocess.run([str(AIRFLOW), "tasks", "render", "gatekeeper_nightly", task_id, NIGHT],
                          env=_airflow_env(home, bucket), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fields = {}
    for match in re.finditer(r"# property: (\w+)\n# -+\n(.*?)(?=\n# -+\n# property:|\Z)", proc.stdout, re.S):
        text = match.group(2).strip()
        try:
            fields[match.group(1)] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            fields[match.group(1)] = text
    return fields


def test_the_production_run_renders_the_day_before_the_project_and_the_key_source(airflow_home, bucket):
    fields = _render(airflow_home, bucket, "run_gatekeeper")
    assert fields["runner"] == "DataflowRunner"
    options = fields["pipeline_options"]
    assert options["run_date"] == DAY_BEFORE
    assert options["as_of"] == "2026-06-02T02:30:00Z"
    assert options["pseudonym_key_secret"] == KEY_VERSION        # the version name, never the key
    assert FAKE_KEY not in json.dumps(fields)
    assert options["submit_only"] == "true"
    assert options["sdk_container_image"].endswith("/gatekeeper:test")
    config = fields["dataflow_config"]
    assert config["project_id"] == "offline-proj"                # rendered, not "{{ var.value … }}"
    assert (config["location"], config["job_name"]) == ("us-central1", "gatekeeper-20260601")
    assert "{{" not in json.dumps(fields)
    finalize = _render(airflow_home, bucket, "finalize_run")
    assert finalize["bash_command"] == f"{_gatekeeper_python()} -m pipeline finalize --output {bucket}/gatekeeper"


# --- airflow dags test: the whole nightly DAG, local runner --------------------------------------

@pytest.mark.slow
def test_dags_test_publishes_the_meetings_of_the_day_before(airflow_home, bucket):
    env = _airflow_env(airflow_home, bucket, gatekeeper_runner="DirectRunner")
    proc = subprocess.run([str(AIRFLOW), "dags", "test", "gatekeeper_nightly", NIGHT], env=env,
                          capture_output=True, text=True, timeout=900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "state=success" in log, log[-4000:]
    (command,) = [line for line in log.splitlines() if "Running command:" in line and str(LAUNCHER) in line]
    for flag in (f"--run_date={DAY_BEFORE}", "--as_of=2026-06-02T02:30:00Z", "--runner=DirectRunner",
                 f"--pseudonym_key_secret={KEY_VERSION}", "--submit_only=true"):
        assert flag in command, (flag, command)
    assert FAKE_KEY not in log

    output = bucket / "gatekeeper"
    manifests = [json.loads(p.read_text()) for p in output.glob("runs/*/manifest.json")]
    assert [m["status"] for m in manifests] == ["published"]       # published by finalize_run
    (manifest,) = manifests
    assert manifest["run_date"] == DAY_BEFORE
    assert manifest["selection"]["dates"] == [DAY_BEFORE]
    published_days = {p.name for p in (output / "datasets" / "transcript").glob("run_date=*")}
    assert published_days == {f"run_date={DAY_BEFORE}"}

    import pyarrow.parquet as pq

    moved = json.loads((bucket / "moved.json").read_text())
    meetings = set()
    for part in (output / "datasets").glob("*/run_date=*/*.parquet"):
        if part.parts[-3] not in ("audit", "dead_letter", "tombstone"):
            meetings |= set(pq.read_table(part, columns=["meeting_id"]).column("meeting_id").to_pylist())
    assert meetings and {moved[m] for m in meetings} == {DAY_BEFORE}
    # the driver and its in-process workers read the key from the (fake) Secret Manager
    accesses = (bucket / "secrets.json.access").read_text().split()
    assert KEY_VERSION in accesses


# --- the provider reads the Dataflow job id from the driver --------------------------------------

@pytest.mark.slow
def test_the_beam_provider_captures_the_dataflow_job_id(tmp_path, monkeypatch):
    from airflow.providers.apache.beam.hooks.beam import BeamHook
    from airflow.providers.google.cloud.hooks.dataflow import process_line_and_extract_dataflow_job_id_callback

    job_id = "2026-06-02_02_30_07-1234567890123456789"
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({KEY_VERSION: FAKE_KEY}))
    for name in [n for n in os.environ if n.startswith("GATEKEEPER_PSEUDONYM")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(FAKES), str(REPO)]))
    monkeypatch.setenv("GATEKEEPER_FAKE_SECRETS", str(secrets))
    monkeypatch.setenv("GATEKEEPER_FAKE_DATAFLOW_JOB_ID", job_id)
    output = tmp_path / "out"
    captured = []
    hook = BeamHook(runner="DataflowRunner")
    hook.start_python_pipeline(
        variables={"input": str(REPO / "examples" / "meetings"),
                   "consent": str(REPO / "examples" / "consent" / "ledger.jsonl"),
                   "output": str(output), "pseudonym_key_secret": KEY_VERSION, "submit_only": "true",
                   "project": "offline-proj", "region": "us-central1",
                   "temp_location": "gs://offline-bucket/tmp", "job_name": "gatekeeper-20260601"},
        py_file=str(LAUNCHER), py_options=[], py_interpreter=_gatekeeper_python(),
        process_line_callback=process_line_and_extract_dataflow_job_id_callback(captured.append),
        is_dataflow_job_id_exist_callback=lambda: bool(captured))
    assert captured == [job_id]
    # the provider stops reading once it has the id; the driver records the launch and exits
    deadline = time.monotonic() + 120
    while not list(output.glob("_staging/*/runs/*/_launch.json")) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert list(output.glob("_staging/*/runs/*/_launch.json"))
