"""Static checks of the Flex Template: metadata ↔ CLI flags, launcher mapping, Dockerfile.

There is no Docker engine here, so the image is not built; these tests check that what it
would be built from is consistent with the code.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

from pipeline.cli import _parser

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def _load_launcher():
    """deploy/ is not a package (the launcher ships as a single file); putting deploy/ on sys.path
    would make deploy/airflow/ shadow the real ``airflow`` package."""
    spec = importlib.util.spec_from_file_location("flex_template_launcher", DEPLOY / "flex_template_launcher.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module          # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


launcher = _load_launcher()

METADATA = json.loads((DEPLOY / "metadata.json").read_text())
PARAMETERS = {p["name"]: p for p in METADATA["parameters"]}
DATAFLOW_ARGS = ["--runner=DataflowRunner", "--project=p", "--region=us-central1",
                 "--temp_location=gs://b/tmp", "--staging_location=gs://b/staging", "--job_name=gk-1",
                 "--sdk_container_image=us-docker.pkg.dev/p/r/gatekeeper:1"]


def _run_parser() -> argparse.ArgumentParser:
    parser = _parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sub.choices["run"]


def _run_flags():
    return {option: action for action in _run_parser()._actions for option in action.option_strings}


def test_every_parameter_is_documented_and_validated():
    assert METADATA["name"] and METADATA["description"]
    for name, parameter in PARAMETERS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
        assert parameter["label"] and parameter["helpText"]
        assert isinstance(parameter["isOptional"], bool)
        assert parameter["regexes"], f"{name} has no validation"
        for pattern in parameter["regexes"]:
            re.compile(pattern)


def test_parameters_map_one_to_one_onto_gatekeeper_run_flags():
    flags = _run_flags()
    assert set(PARAMETERS) == (set(launcher.PARAMETER_FLAGS) | set(launcher.LAUNCHER_PARAMETERS)
                               | set(launcher.BEAM_PARAMETERS))
    from apache_beam.options.pipeline_options import PipelineOptions

    beam_options = set(PipelineOptions([]).get_all_options(retain_unknown_options=False))
    assert set(launcher.BEAM_PARAMETERS) <= beam_options
    for name, flag in launcher.PARAMETER_FLAGS.items():
        assert flag in flags, f"template parameter {name} maps to {flag}, not a `gatekeeper run` flag"
    assert flags["--backfill"].nargs == 2
    required = {a.option_strings[0] for a in _run_parser()._actions if a.required}
    required_parameters = {launcher.PARAMETER_FLAGS[n] for n, p in PARAMETERS.items()
                           if not p["isOptional"] and n in launcher.PARAMETER_FLAGS}
    # plus the key source: optional for the CLI (local runs may use the environment), required on
    # Dataflow, whose workers never see the launcher's environment
    assert required_parameters == required | {"--pseudonym-key-secret"}


@pytest.mark.parametrize("name, good, bad", [
    ("input", ["gs://my-bucket/meetings", "gs://my-bucket"], ["/work/meetings", "meetings", "gs://b/*"]),
    ("consent", ["gs://my-bucket/consent/ledger-*.jsonl", "postgresql+psycopg://u@h/db"],
     ["/tmp/ledger.jsonl", "sqlite:///ledger.sqlite"]),
    ("output", ["gs://my-bucket/gatekeeper"], ["/tmp/out", "s3://b/out"]),
    ("as_of", ["2026-06-01T00:00:00Z", "2026-06-01T00:00+02:00"], ["2026-06-01", "yesterday"]),
    ("run_date", ["2026-06-01"], ["2026-13-01", "2026-6-1", "2026-06-01T00:00:00Z"]),
    ("backfill", ["2026-05-01,2026-05-31"], ["2026-05-01", "2026-05-01 2026-05-31"]),
    ("since", ["last-success", "2026-05-31T23:00:00Z"], ["last_success", "2026-05-31"]),
    ("config", ["gs://my-bucket/gatekeeper/prod.yaml", "/template/config/prod.yml"], ["prod.yaml", "gs://b/c.json"]),
    ("pseudonym_key_secret", ["projects/my-project/secrets/gk-key/versions/12",
                              "projects/p/secrets/k/versions/3"],
     ["dev-only-NOT-A-SECRET-0123456789abcdef", "projects/p/secrets/k",
      "projects/p/secrets/k/versions/latest"]),        # pinned: pseudonyms are stable only while the key is
    ("submit_only", ["true", "false"], ["yes", "1", ""]),
    ("sdk_container_image", ["us-central1-docker.pkg.dev/my-project/gatekeeper/gatekeeper:1a2b3c4",
                             "gcr.io/p/gatekeeper@sha256:" + "0" * 64], ["gatekeeper", "gatekeeper:latest tag"]),
])
def test_parameter_validation_accepts_and_rejects(name, good, bad):
    patterns = [re.compile(p) for p in PARAMETERS[name]["regexes"]]
    for value in good:
        assert all(p.search(value) for p in patterns), value
    for value in bad:
        assert not all(p.search(value) for p in patterns), value


def test_launcher_turns_parameters_into_the_same_cli_invocation():
    argv = ["--input=gs://b/meetings", "--consent", "gs://b/ledger.jsonl", "--output=gs://b/out",
            "--as_of=2026-06-01T00:00:00Z", "--run_date=2026-06-01", "--config=/template/prod.yaml",
            "--pseudonym_key_secret=projects/p/secrets/k/versions/1", *DATAFLOW_ARGS]
    plan = launcher.plan_launch(argv)
    assert plan.beam_args == tuple(DATAFLOW_ARGS)
    args, extra = _parser().parse_known_args(plan.cli_argv())
    assert extra == DATAFLOW_ARGS
    assert (args.input, args.consent, args.output) == ("gs://b/meetings", "gs://b/ledger.jsonl", "gs://b/out")
    assert (args.as_of, args.run_date, args.config) == ("2026-06-01T00:00:00Z", "2026-06-01", "/template/prod.yaml")
    # the secret version travels to the CLI (and so into the job graph) as a name
    assert args.pseudonym_key_secret == "projects/p/secrets/k/versions/1"
    assert args.pseudonym_key_file is None and not args.submit_only


def test_launcher_backfill_since_and_submit_only():
    args, _ = _parser().parse_known_args(launcher.plan_launch(
        ["--input=gs://b/m", "--consent=gs://b/l.jsonl", "--output=gs://b/o", "--backfill=2026-05-01,2026-05-03"]
    ).cli_argv())
    assert args.backfill == ["2026-05-01", "2026-05-03"]
    args, _ = _parser().parse_known_args(launcher.plan_launch(
        ["--input=gs://b/m", "--consent=gs://b/l.jsonl", "--output=gs://b/o", "--since=last-success",
         "--submit_only=true"]).cli_argv())
    assert args.since == "last-success" and args.submit_only
    with pytest.raises(launcher.LaunchError):
        launcher.plan_launch(["--backfill=2026-05-01"])
    with pytest.raises(launcher.LaunchError):
        launcher.plan_launch(["--input=gs://b/m", "--input=gs://b/n"])
    with pytest.raises(launcher.LaunchError):
        launcher.plan_launch(["--submit_only=yes"])


def test_launcher_refuses_an_unpinned_secret_version():
    with pytest.raises(launcher.LaunchError, match="pinned"):
        launcher.plan_launch(["--pseudonym_key_secret=projects/p/secrets/k/versions/latest"])


def test_launcher_main_passes_the_secret_version_never_the_key(monkeypatch):
    calls = []
    monkeypatch.setattr("pipeline.cli.main", lambda argv: calls.append(list(argv)) or 0)
    monkeypatch.delenv("GATEKEEPER_PSEUDONYM_KEY", raising=False)
    code = launcher.main(["--input=gs://b/m", "--consent=gs://b/l.jsonl", "--output=gs://b/o",
                          "--pseudonym_key_secret=projects/p/secrets/k/versions/7", *DATAFLOW_ARGS])
    assert code == 0
    assert calls == [["run", "--input", "gs://b/m", "--consent", "gs://b/l.jsonl", "--output", "gs://b/o",
                      "--pseudonym-key-secret", "projects/p/secrets/k/versions/7", *DATAFLOW_ARGS]]
    import os

    assert "GATEKEEPER_PSEUDONYM_KEY" not in os.environ     # nothing for workers to miss


def test_launcher_rejects_a_bad_parameter_with_exit_2(capsys):
    assert launcher.main(["--backfill=2026-05-01"]) == 2
    assert "backfill" in capsys.readouterr().err


# --- Dockerfile -----------------------------------------------------------------------------

DOCKERFILE = (DEPLOY / "Dockerfile").read_text()


def _instructions(keyword):
    return [line.split(None, 1)[1] for line in DOCKERFILE.splitlines()
            if line.strip().upper().startswith(keyword + " ")]


def test_dockerfile_uses_the_beam_sdk_image_of_the_installed_beam_and_the_311_launcher():
    import apache_beam

    (beam_arg,) = [a for a in _instructions("ARG") if a.startswith("BEAM_VERSION=")]
    assert beam_arg.split("=", 1)[1] == apache_beam.__version__
    setup_py = (REPO / "setup.py").read_text()
    pin = re.search(r'"apache-beam(?:\[[a-z,]+\])?==([0-9.*]+)"', setup_py).group(1)
    assert re.fullmatch(pin.replace(".", r"\.").replace("*", r"\d+"), apache_beam.__version__)
    froms = _instructions("FROM")
    assert any(f.startswith("apache/beam_python3.11_sdk:${BEAM_VERSION}") for f in froms)
    assert any(f.startswith("gcr.io/dataflow-templates-base/python311-template-launcher-base") for f in froms)
    assert f"python{sys.version_info.major}.{sys.version_info.minor}" == "python3.11"


def test_dockerfile_copies_files_that_exist_and_points_the_launcher_at_them():
    copied = {}
    for copy in _instructions("COPY"):
        if copy.startswith("--from="):
            continue
        *sources, dest = copy.split()
        for source in sources:
            copied[source] = dest
    env = " ".join(_instructions("ENV"))
    py_file = re.search(r'FLEX_TEMPLATE_PYTHON_PY_FILE="\$\{WORKDIR\}/([^"]+)"', env).group(1)
    assert copied["deploy/flex_template_launcher.py"].endswith(py_file)
    assert "setup.py" in copied
    assert 'ENTRYPOINT ["/opt/apache/beam/boot"]' in DOCKERFILE
    assert re.search(r"pip install --no-cache-dir -c constraints.txt \.", DOCKERFILE)
    assert [s for s in copied if not (REPO / s).exists()] == []


def test_workers_run_the_image_and_build_nothing_at_start_up():
    """Same image for launcher and workers: a setup or requirements file would make every worker
    build and pip-install an sdist at start-up (from PyPI, which workers without public IPs lack)."""
    env = " ".join(_instructions("ENV"))
    assert "FLEX_TEMPLATE_PYTHON_SETUP_FILE" not in env
    assert "FLEX_TEMPLATE_PYTHON_REQUIREMENTS_FILE" not in env
    assert "FLEX_TEMPLATE_PYTHON_EXTRA_PACKAGES" not in env
