"""The Airflow DAG file: structure checked with ``ast`` (always), imported by Airflow when installed.

Airflow is not a dependency of the project (its pins conflict with the pipeline's stack), so
the structural test reads the file without importing it: operators, task ids, wiring, that
every template parameter it sends is one ``deploy/metadata.json`` declares, and the run-date
template rendered with Jinja for the contexts both Airflow timetables give the 02:30 run. The
``DagBag`` test runs only where ``airflow`` is importable; ``make test-airflow`` runs it and
the real-Airflow checks of ``test_airflow_real.py`` in their own venv (docs/DEPLOY.md).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from datetime import datetime, timezone
from typing import Dict, List, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILE = REPO / "deploy" / "airflow" / "gatekeeper_nightly_dag.py"
METADATA_PARAMETERS = {p["name"] for p in json.loads((REPO / "deploy" / "metadata.json").read_text())["parameters"]}
EXPECTED = {
    "gatekeeper_nightly": ({"run_gatekeeper", "finalize_run"}, {("run_gatekeeper", "finalize_run")}),
    "gatekeeper_nightly_flex": ({"launch_flex_template", "finalize_run"}, {("launch_flex_template", "finalize_run")}),
}
OPERATOR_MODULES = {
    "BeamRunPythonPipelineOperator": "airflow.providers.apache.beam.operators.beam",
    "DataflowStartFlexTemplateOperator": "airflow.providers.google.cloud.operators.dataflow",
}

TREE = ast.parse(DAG_FILE.read_text(), filename=str(DAG_FILE))


def _keywords(call: ast.Call) -> Dict[str, ast.AST]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _dags() -> Dict[str, Tuple[Dict[str, str], Set[Tuple[str, str]], Dict[str, ast.AST]]]:
    """dag_id → (task variable → task_id, edges by task_id, DAG keywords)."""
    dags = {}
    for node in ast.walk(TREE):
        if not isinstance(node, ast.With):
            continue
        (item,) = node.items
        if not (isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr) == "DAG"):
            continue
        dag_kwargs = _keywords(item.context_expr)
        tasks: Dict[str, str] = {}
        edges: Set[Tuple[str, str]] = set()
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
                task_id = _keywords(statement.value).get("task_id")
                if isinstance(task_id, ast.Constant):
                    tasks[statement.targets[0].id] = task_id.value
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.BinOp):
                edges |= _edges(statement.value, tasks)
        dags[dag_kwargs["dag_id"].value] = (tasks, edges, dag_kwargs)
    return dags


def _edges(expr: ast.BinOp, tasks: Dict[str, str]) -> Set[Tuple[str, str]]:
    chain: List[str] = []
    node = expr
    while isinstance(node, ast.BinOp):
        assert isinstance(node.op, ast.RShift), "dependencies are written with >>"
        chain.insert(0, tasks[node.right.id])
        node = node.left
    chain.insert(0, tasks[node.id])
    return set(zip(chain, chain[1:]))


def _module_assignment(name: str) -> ast.AST:
    for node in TREE.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return node.value
    raise AssertionError(f"{name} not found")


def _module_dict_keys(name: str) -> Set[str]:
    """Keys of a module-level dict literal, following ``**OTHER`` entries."""
    keys: Set[str] = set()
    node = _module_assignment(name)
    for key, value in zip(node.keys, node.values):
        if key is None and isinstance(value, ast.Name):
            keys |= _module_dict_keys(value.id)
        elif isinstance(key, ast.Constant):
            keys.add(key.value)
    return keys


def _module_string(name: str) -> str:
    node = _module_assignment(name)
    assert isinstance(node, ast.Constant), name
    return node.value


def _operator_call(task_id: str, dag_id: str) -> ast.Call:
    for node in ast.walk(TREE):
        if isinstance(node, ast.With) and _keywords(node.items[0].context_expr)["dag_id"].value == dag_id:
            for statement in node.body:
                if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call)
                        and getattr(_keywords(statement.value).get("task_id"), "value", None) == task_id):
                    return statement.value
    raise AssertionError(f"{dag_id}.{task_id} not found")


def _beam_pipeline_option_names() -> Set[str]:
    from apache_beam.options.pipeline_options import PipelineOptions

    return set(PipelineOptions([]).get_all_options(retain_unknown_options=False))


def test_dag_file_imports_the_operators_from_their_providers():
    imported = {alias.name: node.module for node in ast.walk(TREE) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    for name, module in OPERATOR_MODULES.items():
        assert imported.get(name) == module


def test_task_ids_and_wiring():
    dags = _dags()
    assert set(dags) == set(EXPECTED)
    for dag_id, (task_ids, edges) in EXPECTED.items():
        tasks, found_edges, _ = dags[dag_id]
        assert set(tasks.values()) == task_ids
        assert found_edges == edges


def test_one_dag_is_scheduled_the_other_is_an_unscheduled_alternative():
    """Both DAGs write one output root: only the nightly one may run at 02:30."""
    dags = _dags()
    for _, _, kwargs in dags.values():
        assert kwargs["max_active_runs"].value == 1
    nightly = dags["gatekeeper_nightly"][2]
    assert nightly["catchup"].value is True
    schedule = nightly["schedule"]
    # a cron string would become a CronTriggerTimetable under Airflow 3 (empty data interval)
    assert isinstance(schedule, ast.Call) and _call_name(schedule) == "CronDataIntervalTimetable"
    assert len(_module_string(schedule.args[0].id).split()) == 5
    assert _keywords(schedule)["timezone"].value == "UTC"
    flex = dags["gatekeeper_nightly_flex"][2]
    assert isinstance(flex["schedule"], ast.Constant) and flex["schedule"].value is None


def _render(template: str, **context) -> str:
    from datetime import timedelta

    import jinja2

    return jinja2.Template(template).render(macros={"timedelta": timedelta}, **context)


@pytest.mark.parametrize("timetable, start, logical", [
    # CronDataIntervalTimetable (this DAG): [June 1 02:30, June 2 02:30], logical date = start
    ("data interval", datetime(2026, 6, 1, 2, 30, tzinfo=timezone.utc), datetime(2026, 6, 1, 2, 30, tzinfo=timezone.utc)),
    # CronTriggerTimetable (a cron string under Airflow 3): empty interval at the trigger time
    ("trigger", datetime(2026, 6, 2, 2, 30, tzinfo=timezone.utc), datetime(2026, 6, 2, 2, 30, tzinfo=timezone.utc)),
])
def test_the_0230_run_of_june_2_processes_june_1(timetable, start, logical):
    end = datetime(2026, 6, 2, 2, 30, tzinfo=timezone.utc)
    context = {"data_interval_start": start, "data_interval_end": end, "logical_date": logical,
               "ds": logical.strftime("%Y-%m-%d"), "ds_nodash": logical.strftime("%Y%m%d")}
    assert _render(_module_string("RUN_DATE"), **context) == "2026-06-01", timetable
    assert _render(_module_string("AS_OF"), **context) == "2026-06-02T02:30:00Z"
    assert _render(_module_string("JOB_NAME"), **context) == "gatekeeper-20260601"


def test_the_project_id_is_in_a_rendered_field():
    """``DataflowConfiguration`` renders only job_name and location; the operator renders a dict whole."""
    call = _operator_call("run_gatekeeper", "gatekeeper_nightly")
    config = _keywords(call)["dataflow_config"]
    assert isinstance(config, ast.Dict), "DataflowConfiguration(project_id=…) leaves the template unrendered"
    values = {k.value: v for k, v in zip(config.keys, config.values)}
    assert isinstance(values["project_id"], ast.Name) and values["project_id"].id == "PROJECT"
    assert "var.value.gatekeeper_project" in _module_string("PROJECT")


def test_the_driver_submits_with_the_pipeline_interpreter_and_finalize_publishes():
    call = _operator_call("run_gatekeeper", "gatekeeper_nightly")
    keywords = _keywords(call)
    assert isinstance(keywords["py_interpreter"], ast.Name) and keywords["py_interpreter"].id == "GATEKEEPER_PYTHON"
    options = {k.value: v for k, v in zip(keywords["pipeline_options"].keys, keywords["pipeline_options"].values)
               if isinstance(k, ast.Constant)}
    # the provider stops reading the driver once it has the job id: the driver must not publish
    assert options["submit_only"].value == "true"
    for dag_id in EXPECTED:
        finalize = _keywords(_operator_call("finalize_run", dag_id))["bash_command"]
        assert isinstance(finalize, ast.Name) and finalize.id == "FINALIZE_COMMAND"
    assert "-m pipeline finalize --output" in ast.unparse(_module_assignment("FINALIZE_COMMAND"))


def test_every_parameter_sent_is_a_template_parameter_or_a_beam_option():
    run_parameters = _module_dict_keys("RUN_PARAMETERS")
    assert run_parameters <= METADATA_PARAMETERS
    assert {"input", "consent", "output", "run_date", "as_of", "pseudonym_key_secret"} <= run_parameters
    beam_options = _beam_pipeline_option_names()
    for node in ast.walk(TREE):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        if "temp_location" in keys or "since" in keys:   # pipeline options / flex parameters
            assert keys <= METADATA_PARAMETERS | beam_options, keys - METADATA_PARAMETERS - beam_options


def test_the_flex_launch_runs_the_workers_on_the_image():
    """sdkContainerImage in the request's environment (not a parameter, not a setup file)."""
    call = _operator_call("launch_flex_template", "gatekeeper_nightly_flex")
    text = ast.unparse(_keywords(call)["body"])
    assert "'sdkContainerImage': '{{ var.value.gatekeeper_image }}'" in text
    assert "sdk_container_image" not in text


def test_dag_bag_imports_the_file_when_airflow_is_installed(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    pytest.importorskip("airflow", reason="Airflow is not installed here; run `make dag-test` (docs/DEPLOY.md)")
    pytest.importorskip("airflow.providers.google.cloud.operators.dataflow")
    pytest.importorskip("airflow.providers.apache.beam.operators.beam")
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == set(EXPECTED)
    for dag_id, (task_ids, edges) in EXPECTED.items():
        dag = bag.dags[dag_id]
        assert set(dag.task_ids) == task_ids
        found = {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}
        assert found == edges
